import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { KestrelError, redactUrl, type Logger } from '@kestrel/core';

export interface DownloadRequest {
  url: string;
  /** Where the verified file ends up; `<dest>.partial` holds the bytes so far, across restarts. */
  dest: string;
  size: number;
  sha256: string;
  /** Give up after this long in all (attempts and waits included). */
  deadlineMs?: number;
  /** A connection that delivers nothing for this long is dropped and resumed. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** Sent with every request (a device token for the hub). */
  headers?: Record<string, string>;
  logger: Logger;
}

export interface DownloadResult {
  path: string;
  /** Bytes that came from a partial file left by an earlier attempt or process. */
  resumedFrom: number;
  attempts: number;
}

/**
 * Downloads an artifact with HTTP Range resume and verifies size and SHA-256 before the file
 * gets its final name: nothing that loads models ever sees unverified bytes. A dropped
 * connection (the hub restarting, a flaky uplink) resumes from the partial file; a server that
 * ignores Range sends everything again and the partial file is rewritten.
 */
export async function downloadArtifact(req: DownloadRequest): Promise<DownloadResult> {
  const partial = `${req.dest}.partial`;
  await mkdir(dirname(req.dest), { recursive: true });
  const deadline = Date.now() + (req.deadlineMs ?? 10 * 60_000);
  let resumedFrom = -1;
  let attempts = 0;
  let delay = 250;
  for (;;) {
    attempts++;
    let have = await fileSize(partial);
    if (have > req.size) {
      await rm(partial, { force: true });
      have = 0;
    }
    if (resumedFrom < 0) resumedFrom = have;
    try {
      if (have < req.size) await fetchInto(req, partial, have);
      break;
    } catch (err) {
      if (req.signal?.aborted) throw new KestrelError('E_DOWNLOAD_ABORTED', 'download aborted');
      // A 4xx is the request's fault and final, except 416 (the partial file is re-fetched), 408 (the
      // hub did not read the request in time: an overloaded hub, as the load test showed) and 429.
      const status = err instanceof KestrelError && err.code === 'E_DOWNLOAD_HTTP' ? (err.details?.status as number) : undefined;
      const fatal = status !== undefined && status < 500 && status !== 416 && status !== 408 && status !== 429;
      if (fatal || Date.now() + delay > deadline) {
        throw err instanceof KestrelError ? err : new KestrelError('E_DOWNLOAD', `download of ${redactUrl(req.url)} failed after ${attempts} attempts: ${(err as Error).message}`);
      }
      req.logger.warn({ url: req.url, attempt: attempts, err: (err as Error).message, have: await fileSize(partial) }, 'download interrupted; resuming');
      await sleep(delay, req.signal);
      delay = Math.min(delay * 2, 5000);
    }
  }
  const got = await fileSize(partial);
  if (got !== req.size) {
    await rm(partial, { force: true });
    throw new KestrelError('E_ARTIFACT_SIZE', `artifact ${redactUrl(req.url)} is ${got} bytes, the manifest says ${req.size}`);
  }
  const digest = await sha256File(partial);
  if (digest !== req.sha256) {
    // A wrong file must not be resumed from next time.
    await rm(partial, { force: true });
    throw new KestrelError('E_ARTIFACT_HASH', `artifact ${redactUrl(req.url)} has SHA-256 ${digest}, the signed manifest says ${req.sha256}`);
  }
  await rename(partial, req.dest);
  return { path: req.dest, resumedFrom, attempts };
}

/** One HTTP request appending to the partial file from `offset`. */
function fetchInto(req: DownloadRequest, partial: string, offset: number): Promise<void> {
  const url = new URL(req.url);
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...req.headers, 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  return new Promise<void>((resolve, reject) => {
    const request = client.get(url, { headers, signal: req.signal }, (res) => {
      const status = res.statusCode ?? 0;
      let append: boolean;
      if (status === 206 && offset > 0) {
        const start = Number(/bytes (\d+)-/.exec(String(res.headers['content-range']))?.[1]);
        if (start !== offset) {
          res.resume();
          return reject(new KestrelError('E_DOWNLOAD', `server answered range ${String(res.headers['content-range'])} to a request from byte ${offset}`));
        }
        append = true;
      } else if (status === 200) {
        append = false; // no Range support (or a fresh start): the whole file again
      } else {
        res.resume();
        return reject(new KestrelError('E_DOWNLOAD_HTTP', `GET ${redactUrl(req.url)} answered HTTP ${status}`, { status }));
      }
      const out = createWriteStream(partial, { flags: append ? 'a' : 'w' });
      res.setTimeout(req.idleTimeoutMs ?? 15_000, () => res.destroy(new Error(`no data for ${req.idleTimeoutMs ?? 15_000} ms`)));
      res.on('error', (err) => out.destroy(err));
      // 'aborted' fires when the server dies mid-body; the stream then ends early without an error on some Node versions.
      res.on('aborted', () => out.destroy(new Error('connection closed mid-body')));
      out.on('error', (err) => {
        res.destroy();
        reject(err);
      });
      out.on('close', () => {
        if (!res.complete) reject(new Error('connection closed mid-body'));
        else resolve();
      });
      res.pipe(out);
    });
    request.on('error', reject);
    request.setTimeout(req.idleTimeoutMs ?? 15_000, () => request.destroy(new Error('no answer from the server')));
  });
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
