/**
 * The one rule for blob keys, the same in every BlobStore: a plain relative path of
 * `/`-separated parts, none empty or starting with "." (so a key maps to a file under the blob
 * folder and never reaches outside it, and an S3 key means the same as a folder key).
 */
export function assertBlobKey(key: string): void {
  if (key === '' || key.length > 1024 || key.split('/').some((part) => part === '' || part.startsWith('.')) || key.includes('\\') || key.includes('\0')) {
    throw new Error(`blob key "${key.slice(0, 80)}" is not a plain relative path`);
  }
}
