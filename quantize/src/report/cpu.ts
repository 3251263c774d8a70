// Whether this CPU has int8 dot-product instructions. ONNX Runtime's INT8 speedup comes from
// them (x86 VNNI, ARM dot product); without them (e.g. AVX2-only x86) int8 convolutions run
// at about float speed, and a report that shows ~1x should say why.
import { readFileSync } from 'node:fs';
import { arch, cpus } from 'node:os';

export interface CpuInfo {
  model: string;
  arch: string;
  /** true/false when /proc/cpuinfo tells; null elsewhere. */
  int8DotProduct: boolean | null;
  /** The instruction-set flags that decided it (avx512_vnni, avx_vnni, asimddp, avx2, ...). */
  flags: string[];
}

const DOT_PRODUCT_FLAGS = ['avx512_vnni', 'avx_vnni', 'amx_int8', 'asimddp'];
const REPORTED_FLAGS = [...DOT_PRODUCT_FLAGS, 'avx512f', 'avx2', 'i8mm'];

export function describeCpu(cpuinfo?: string): CpuInfo {
  const model = cpus()[0]?.model ?? 'unknown';
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return { model, arch: arch(), int8DotProduct: null, flags: [] };
    }
  }
  const line = text.split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
  const present = new Set(line.replace(/^[^:]*:/, '').trim().split(/\s+/));
  return { model, arch: arch(), int8DotProduct: DOT_PRODUCT_FLAGS.some((f) => present.has(f)), flags: REPORTED_FLAGS.filter((f) => present.has(f)) };
}
