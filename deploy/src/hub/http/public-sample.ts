import type { SampleRecord } from '../../store/types.js';

/** A sample as the API shows it: everything but the storage key, plus the URL of its image. */
export function publicSample(s: SampleRecord): Omit<SampleRecord, 'blobKey'> & { image: string } {
  const { blobKey: _blobKey, ...rest } = s;
  return { ...rest, image: `/api/v1/samples/${encodeURIComponent(s.deviceId)}/${encodeURIComponent(s.id)}/image` };
}
