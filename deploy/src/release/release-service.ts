import { createHash, type KeyObject } from 'node:crypto';
import {
  decodeModel, KestrelError, readMetadata, signManifest,
  type ReleaseManifest, type ReleaseMetadataSummary,
} from '@kestrel/core';
import type { BlobStore } from './ports.js';
import type { ReleaseGate } from './gate/types.js';

export interface ReleaseRecord {
  /** `<name>@<version>` */
  id: string;
  /** Grows with every release: a device refuses a lower one unless it comes as a signed rollback. */
  release: number;
  name: string;
  version: string;
  sha256: string;
  size: number;
  metadata: ReleaseMetadataSummary;
  eval?: Record<string, number>;
  /** The gate it passed (`deploy release --gate`): its figures and the replaced release's on one held-out set. */
  gate?: ReleaseGate;
  notes?: string;
  minAgentVersion?: string;
  createdAt: number;
  artifactKey: string;
}

export interface ReleaseServiceDeps {
  blobs: BlobStore;
  /** Base of the artifact URL devices download from (the hub's public HTTP(S) address). */
  artifactBaseUrl: string;
  /** Needed to issue manifests; listing and creating releases work without it. */
  /** The keys each manifest is signed with: one, or several for devices that need k of n signatures. */
  signingKeys?: readonly KeyObject[];
  now?: () => number;
}

export interface CreateReleaseInput {
  bytes: Uint8Array;
  name: string;
  version: string;
  notes?: string;
  minAgentVersion?: string;
  /** Evaluation figures; default: the numeric ones in the model's `kestrel.eval`. */
  eval?: Record<string, number>;
  gate?: ReleaseGate;
}

const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;
export const DEFAULT_MANIFEST_TTL_MS = 7 * 24 * 3600_000;

/** Releases: artifacts and their records in the blob store, and signed manifests issued from them. */
export class ReleaseService {
  constructor(private readonly deps: ReleaseServiceDeps) {}

  /** Throws unless `name@version` is a valid id no release has yet; returns the id. Checked before a gate spends minutes scoring. */
  async checkNew(name: string, version: string): Promise<string> {
    for (const [what, value] of [['name', name], ['version', version]] as const) {
      if (!SAFE.test(value)) throw new KestrelError('E_RELEASE', `release ${what} ${JSON.stringify(value)} must be 1-64 letters, digits, "_", "-" or "." (not starting with ".")`);
    }
    const id = `${name}@${version}`;
    if (await this.get(id)) throw new KestrelError('E_RELEASE', `release ${id} exists already; give the new model another --version`);
    return id;
  }

  async create(input: CreateReleaseInput): Promise<ReleaseRecord> {
    const id = await this.checkNew(input.name, input.version);
    let meta;
    try {
      meta = readMetadata(decodeModel(input.bytes, id), {}, id);
    } catch (err) {
      throw new KestrelError('E_RELEASE', `${id}: not a Kestrel model: ${(err as Error).message}`);
    }
    const sha256 = createHash('sha256').update(input.bytes).digest('hex');
    const artifactKey = `artifacts/${sha256}.onnx`;
    await this.deps.blobs.put(artifactKey, Buffer.from(input.bytes));
    const evalFigures = input.eval ?? Object.fromEntries(Object.entries(meta.eval ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    const record: ReleaseRecord = {
      id,
      release: await this.next('release'),
      name: input.name,
      version: input.version,
      sha256,
      size: input.bytes.length,
      metadata: { decoder: meta.decoder, labelCount: meta.labels.length, inputSize: [meta.input.width, meta.input.height] },
      ...(Object.keys(evalFigures).length ? { eval: evalFigures } : {}),
      ...(input.gate ? { gate: input.gate } : {}),
      ...(input.notes ? { notes: input.notes } : {}),
      ...(input.minAgentVersion ? { minAgentVersion: input.minAgentVersion } : {}),
      createdAt: this.now(),
      artifactKey,
    };
    await this.deps.blobs.put(recordKey(id), Buffer.from(JSON.stringify(record, null, 2)));
    return record;
  }

  async get(id: string): Promise<ReleaseRecord | undefined> {
    if (!SAFE.test(id.replace('@', '_'))) return undefined;
    const data = await this.deps.blobs.get(recordKey(id));
    return data ? (JSON.parse(data.toString('utf8')) as ReleaseRecord) : undefined;
  }

  /** `id`, or throws naming the releases there are. */
  async require(id: string): Promise<ReleaseRecord> {
    const record = await this.get(id);
    if (record) return record;
    const known = (await this.list()).map((r) => r.id);
    throw new KestrelError('E_RELEASE', `no release ${id} (releases: ${known.join(', ') || 'none; create one with kestrel deploy release'})`);
  }

  async list(): Promise<ReleaseRecord[]> {
    const out: ReleaseRecord[] = [];
    for await (const key of this.deps.blobs.list('releases/')) {
      if (!key.endsWith('.json')) continue;
      const data = await this.deps.blobs.get(key);
      if (data) out.push(JSON.parse(data.toString('utf8')) as ReleaseRecord);
    }
    return out.sort((a, b) => a.release - b.release);
  }

  async findBySha(sha256: string): Promise<ReleaseRecord | undefined> {
    return (await this.list()).find((r) => r.sha256 === sha256);
  }

  artifactUrl(record: ReleaseRecord): string {
    return `${this.deps.artifactBaseUrl.replace(/\/$/, '')}/api/v1/artifacts/${record.sha256}`;
  }

  /**
   * A signed manifest for a release with a fresh fleet-wide sequence. Manifests are signed when
   * issued, not when the release is made: each needs a sequence above every earlier one (or an
   * older release pushed again would look like a replay) and its own expiry.
   */
  async issueManifest(record: ReleaseRecord, options: { rollback?: boolean; ttlMs?: number } = {}): Promise<ReleaseManifest> {
    if (!this.deps.signingKeys?.length) throw new KestrelError('E_RELEASE_KEY', 'no signing key loaded: manifests cannot be issued (kestrel deploy keygen, then --key)');
    const now = this.now();
    return signManifest(
      {
        name: record.name,
        version: record.version,
        release: record.release,
        sha256: record.sha256,
        size: record.size,
        url: this.artifactUrl(record),
        metadata: record.metadata,
        ...(record.eval ? { eval: record.eval } : {}),
        ...(record.notes ? { notes: record.notes } : {}),
        ...(record.minAgentVersion ? { minAgentVersion: record.minAgentVersion } : {}),
        sequence: await this.next('sequence'),
        issuedAt: now,
        expires: now + (options.ttlMs ?? DEFAULT_MANIFEST_TTL_MS),
        ...(options.rollback ? { rollback: true } : {}),
      },
      this.deps.signingKeys,
    );
  }

  private async next(counter: 'release' | 'sequence'): Promise<number> {
    const key = `counters/${counter}.json`;
    const data = await this.deps.blobs.get(key);
    const value = (data ? (JSON.parse(data.toString('utf8')) as { value: number }).value : 0) + 1;
    await this.deps.blobs.put(key, Buffer.from(JSON.stringify({ value })));
    return value;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

function recordKey(id: string): string {
  return `releases/${id.replace('@', '/')}.json`;
}
