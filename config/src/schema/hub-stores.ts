import { join } from 'node:path';
import { z } from 'zod';
import type { ConfigContext } from '../context.js';
import { filePath, positiveInt, text } from './common.js';

/**
 * The `records:` and `blobs:` sections of hub.yaml: which store the hub stands on. The embedded
 * pair (SQLite, a folder) stays the default; PostgreSQL and S3-compatible storage are for
 * fleets. Kept apart from the rest of the hub config so the two sections move as one piece.
 */

/** Why a PostgreSQL connection URL would not connect, or undefined. The message never repeats the URL: it may hold a password. */
export function postgresUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return `has the scheme "${url.protocol.slice(0, -1)}", not postgres`;
  if (!url.hostname) return 'names no host';
  if (url.pathname.length <= 1) return 'names no database (postgres://user@host:5432/DATABASE)';
  return undefined;
}

/** S3's bucket naming rules (3-63 lower-case letters, digits, dots and hyphens); a bad name otherwise fails at the first request. */
export function bucketProblem(value: string): string | undefined {
  if (value.length < 3 || value.length > 63) return `is ${value.length} characters long; a bucket name has 3 to 63`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(value)) return 'may hold only lower-case letters, digits, "." and "-", and must begin and end with a letter or digit';
  if (/\.\.|^\d+\.\d+\.\d+\.\d+$/.test(value)) return 'must not hold ".." nor look like an IP address';
  return undefined;
}

function checked(problem: (value: string) => string | undefined, what: string) {
  return z.string().superRefine((value, refinement) => {
    const reason = problem(value);
    if (reason) refinement.addIssue({ code: 'custom', message: `must be ${what}: it ${reason}` });
  });
}

const postgresRecords = z.strictObject({
  type: z.literal('postgres'),
  url: checked(postgresUrlProblem, 'a postgres:// URL naming host and database, e.g. postgres://kestrel@db:5432/kestrel (a password from ${VAR})').describe('the database; its password best comes from the environment'),
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL name (letters, digits, "_"; up to 63), e.g. "kestrel"')
    .optional()
    .describe('PostgreSQL schema the tables live in (created when missing); default: the role\'s search_path'),
  poolSize: positiveInt.max(100).default(10).describe('connections each hub process keeps at most'),
  connectTimeoutSeconds: z.number().min(0.1).max(120).default(5).describe('a connection not made within this is an outage: requests get 503'),
  queryTimeoutSeconds: z.number().min(0.1).max(3600).default(30).describe('a query not answered within this fails (a database that stopped answering)'),
});

// `type` may be left out of the embedded stores: an existing `records: { path: ... }` means
// SQLite, as it always did.
const sqliteRecords = (ctx: ConfigContext) =>
  z.strictObject({ type: z.literal('sqlite').default('sqlite'), path: filePath(ctx).optional().describe('default: <dataDir>/hub.sqlite') });

export function recordsSchema(ctx: ConfigContext) {
  return z.discriminatedUnion('type', [sqliteRecords(ctx), postgresRecords]).prefault({});
}

const s3Blobs = z.strictObject({
  type: z.literal('s3'),
  bucket: checked(bucketProblem, 'an S3 bucket name'),
  endpoint: z
    .string()
    .superRefine((value, refinement) => {
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        // reported below
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
        refinement.addIssue({ code: 'custom', message: `must be an http:// or https:// URL of the S3-compatible service, e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:9000` });
      }
    })
    .optional()
    .describe('the S3-compatible service; default: AWS S3 of the region'),
  region: text.default('us-east-1'),
  forcePathStyle: z.boolean().default(false).describe('address buckets as <endpoint>/<bucket> (most S3-compatible servers) instead of <bucket>.<endpoint>'),
  credentials: z
    .strictObject({ accessKeyId: text, secretAccessKey: text, sessionToken: text.optional() })
    .optional()
    .describe('from ${VAR}; default: the AWS SDK\'s own chain (AWS_ACCESS_KEY_ID, instance roles)'),
});

const filesystemBlobs = (ctx: ConfigContext) =>
  z.strictObject({ type: z.literal('filesystem').default('filesystem'), path: filePath(ctx).optional().describe('default: <dataDir>/blobs') });

export function blobsSchema(ctx: ConfigContext) {
  return z.discriminatedUnion('type', [filesystemBlobs(ctx), s3Blobs]).prefault({});
}

export type PostgresRecordsConfig = z.output<typeof postgresRecords>;
export type S3BlobsConfig = z.output<typeof s3Blobs>;
/** The sections as the hub uses them: the embedded stores' paths filled in from dataDir. */
export type RecordsConfig = { type: 'sqlite'; path: string } | PostgresRecordsConfig;
export type BlobsConfig = { type: 'filesystem'; path: string } | S3BlobsConfig;

/** Fills the embedded stores' default paths in. */
export function withStorePaths(records: z.output<ReturnType<typeof recordsSchema>>, blobs: z.output<ReturnType<typeof blobsSchema>>, dataDir: string): { records: RecordsConfig; blobs: BlobsConfig } {
  return {
    records: records.type === 'sqlite' ? { ...records, path: records.path ?? join(dataDir, 'hub.sqlite') } : records,
    blobs: blobs.type === 'filesystem' ? { ...blobs, path: blobs.path ?? join(dataDir, 'blobs') } : blobs,
  };
}

/** Where the records are, for logs: a PostgreSQL URL without its password. */
export function describeRecords(records: RecordsConfig): string {
  if (records.type === 'sqlite') return records.path;
  const url = new URL(records.url);
  if (url.password) url.password = '***';
  return `${url.toString()}${records.schema ? ` (schema ${records.schema})` : ''}`;
}

export function describeBlobs(blobs: BlobsConfig): string {
  return blobs.type === 'filesystem' ? blobs.path : `s3://${blobs.bucket}${blobs.endpoint ? ` at ${blobs.endpoint}` : ` (${blobs.region})`}`;
}
