// Charts for the run folder as SVG (rendered to PNG with sharp): line charts for losses and mAP,
// precision–recall curves, and a confusion matrix. Small and dependency-free on purpose.
import sharp from 'sharp';
import { escapeXml, PALETTE } from '../data/image.js';

export interface Series {
  name: string;
  points: Array<[number, number]>;
  colour?: string;
  /** Points as dots, unjoined: a scatter (trials against a parameter), not a curve. */
  markers?: boolean;
}

const FONT = 'font-family="DejaVu Sans, sans-serif"';

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** One panel: axes with ticks, a title, the series and a legend. */
function panel(x0: number, y0: number, w: number, h: number, title: string, series: Series[], o: { xLabel: string; yLabel?: string; yMin?: number; yMax?: number; xMin?: number; xMax?: number }): string {
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMin = o.xMin ?? Math.min(...all.map((p) => p[0]));
  const xMax = o.xMax ?? Math.max(...all.map((p) => p[0]), xMin + 1);
  if (!Number.isFinite(xMin)) return `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#fff"/>`;
  let yMin = o.yMin ?? Math.min(...all.map((p) => p[1]), 0);
  let yMax = o.yMax ?? Math.max(...all.map((p) => p[1]), 1e-6);
  if (yMax <= yMin) [yMin, yMax] = [yMin - 1, yMin + 1];
  const L = x0 + 48, R = x0 + w - 10, T = y0 + 26, B = y0 + h - 34;
  const sx = (x: number): number => L + ((x - xMin) / (xMax - xMin || 1)) * (R - L);
  const sy = (y: number): number => B - ((y - yMin) / (yMax - yMin)) * (B - T);
  let out = `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#fff"/>`;
  out += `<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-size="13" font-weight="bold" ${FONT}>${escapeXml(title)}</text>`;
  for (let i = 0; i <= 4; i++) {
    const yv = yMin + ((yMax - yMin) * i) / 4;
    const xv = xMin + ((xMax - xMin) * i) / 4;
    out += `<line x1="${L}" x2="${R}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#e5e5e5"/>`;
    out += `<text x="${L - 4}" y="${sy(yv) + 4}" text-anchor="end" font-size="10" ${FONT}>${fmt(yv)}</text>`;
    out += `<text x="${sx(xv)}" y="${B + 14}" text-anchor="middle" font-size="10" ${FONT}>${fmt(xv)}</text>`;
  }
  out += `<line x1="${L}" x2="${R}" y1="${B}" y2="${B}" stroke="#333"/><line x1="${L}" x2="${L}" y1="${T}" y2="${B}" stroke="#333"/>`;
  out += `<text x="${(L + R) / 2}" y="${B + 28}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(o.xLabel)}</text>`;
  series.forEach((s, i) => {
    const colour = s.colour ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (s.markers) out += pts.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${colour}" fill-opacity="0.75"/>`).join('');
    else if (pts.length === 1) out += `<circle cx="${sx(pts[0][0])}" cy="${sy(pts[0][1])}" r="3" fill="${colour}"/>`;
    else if (pts.length > 1) out += `<polyline fill="none" stroke="${colour}" stroke-width="1.8" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`;
    out += `<rect x="${R - 130}" y="${T + 4 + i * 14}" width="10" height="3" fill="${colour}"/><text x="${R - 116}" y="${T + 9 + i * 14}" font-size="10" ${FONT}>${escapeXml(s.name)}</text>`;
  });
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (v === 0) return '0';
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : a >= 0.01 ? v.toFixed(2) : v.toExponential(0);
}

/** A grid of panels, `columns` wide. */
export function chartGrid(panels: Array<{ title: string; series: Series[]; xLabel: string; yMin?: number; yMax?: number; xMin?: number; xMax?: number }>, columns = 2, pw = 360, ph = 240): string {
  const rows = Math.ceil(panels.length / columns);
  const body = panels.map((p, i) => panel((i % columns) * pw, Math.floor(i / columns) * ph, pw, ph, p.title, p.series, p)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * pw}" height="${rows * ph}"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>`;
}

/** Rows = true class, columns = predicted, last row/column = background; cells shaded by row share. */
export function confusionSvg(matrix: number[][], labels: string[]): string {
  const n = matrix.length;
  const names = [...labels.slice(0, n - 1), 'background'];
  const cell = Math.max(28, Math.min(56, Math.floor(560 / n)));
  const left = 110, top = 40;
  const w = left + n * cell + 20, h = top + n * cell + 100;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="#fff"/>`;
  out += `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold" ${FONT}>Confusion matrix (rows: true, columns: predicted)</text>`;
  matrix.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((v, c) => {
      const share = total > 0 ? v / total : 0;
      const shade = Math.round(255 - share * 200);
      out += `<rect x="${left + c * cell}" y="${top + r * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#ccc"/>`;
      if (v > 0) out += `<text x="${left + c * cell + cell / 2}" y="${top + r * cell + cell / 2 + 4}" text-anchor="middle" font-size="11" ${FONT}>${v}</text>`;
    });
    out += `<text x="${left - 6}" y="${top + r * cell + cell / 2 + 4}" text-anchor="end" font-size="11" ${FONT}>${escapeXml(names[r])}</text>`;
  });
  names.forEach((name, c) => {
    const x = left + c * cell + cell / 2, y = top + n * cell + 8;
    out += `<text transform="translate(${x},${y}) rotate(45)" font-size="11" ${FONT}>${escapeXml(name)}</text>`;
  });
  return `${out}</svg>`;
}
