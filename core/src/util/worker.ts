// Starting a worker thread from a module next to the caller, compiled or not: the compiled
// package runs `name.js`; run from TypeScript sources (tests, development) it runs `name.ts`
// through a one-line bootstrap that registers tsx inside the worker first, since loader hooks
// are per thread.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The URL of module `name` (without extension) beside `callerUrl`, in the caller's own flavour. */
export function siblingModuleUrl(callerUrl: string, name: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, callerUrl);
}

export function startModuleWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
