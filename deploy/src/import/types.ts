/** One image's labels as a labelling tool's file gives them, before they are matched to a sample. */
export interface ImportedImage {
  /** Where in the file (for messages): `images[3]`, `task 17`. */
  where: string;
  /** The sample, from the ids the export wrote; else from the file name `<device>__<id>.jpg`. */
  deviceId: string;
  sampleId: string;
  /** The image size the file's coordinates refer to, when it says. */
  size?: [number, number];
  /** Boxes [x1, y1, x2, y2] in pixels of that image. An empty list: "nothing here". */
  labels: { label: string; box: [number, number, number, number] }[];
}

export interface ParsedImport {
  images: ImportedImage[];
  /** Entries the file has but that carry no review (a Label Studio task nobody annotated). */
  unlabelled: number;
  /** What in the file could not be read, by entry. */
  problems: string[];
}

/** `<device>__<id>.jpg`, the file name `kestrel hub export` gives a sample's image. */
export function idsFromFileName(name: string): { deviceId: string; sampleId: string } | undefined {
  const base = decodeURIComponent(name.split(/[/\\=]/).pop() ?? '').replace(/\.jpe?g$/i, '');
  const cut = base.indexOf('__');
  if (cut <= 0 || cut + 2 >= base.length) return undefined;
  return { deviceId: base.slice(0, cut), sampleId: base.slice(cut + 2) };
}
