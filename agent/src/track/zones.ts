import type { Box } from '@kestrel/core/image/letterbox';

export type Point = [x: number, y: number];

/** A named area of the picture, a polygon in source pixels (the camera's own resolution). */
export interface Zone {
  name: string;
  polygon: Point[];
}

/**
 * Where an object stands: the middle of its box's bottom edge. A person's feet (or a car's
 * wheels) decide which zone they are in, not their head, which may overlap a zone drawn on
 * the floor behind them.
 */
export function bottomCentre(box: Box): Point {
  return [(box[0] + box[2]) / 2, box[3]];
}

/**
 * Even-odd ray casting with half-open edges: a point on an edge shared by two adjoining zones
 * belongs to exactly one of them, so an object on a boundary is never in both or neither.
 */
export function pointInPolygon(point: Point, polygon: readonly Point[]): boolean {
  const [x, y] = point;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Names of the zones the box stands in (by its bottom centre), in the zones' order. */
export function zonesOf(box: Box, zones: readonly Zone[]): string[] {
  if (zones.length === 0) return [];
  const foot = bottomCentre(box);
  return zones.filter((z) => pointInPolygon(foot, z.polygon)).map((z) => z.name);
}
