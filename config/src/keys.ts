import type { z } from 'zod';
import { valueAt, type PathSegment } from './issues.js';

/**
 * The keys a config section may have, read from the schema itself (so a "did you mean" hint for
 * an unknown key can never suggest a key the schema does not have).
 */
export function knownKeysAt(schema: z.core.$ZodType, input: unknown, path: readonly PathSegment[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  for (let depth = 0; depth < path.length && node; depth++) {
    node = child(resolveAt(node, valueAt(input, path.slice(0, depth))), path[depth]);
  }
  if (!node) return [];
  const section = resolveAt(node, valueAt(input, path));
  const def = section._zod.def as { type: string; shape?: Record<string, unknown> };
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** Looks through wrappers (defaults, optional, transforms) and picks a union's option by its discriminator. */
function resolveAt(schema: z.core.$ZodType, value: unknown): z.core.$ZodType {
  let node = schema;
  for (;;) {
    const def = node._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; options?: z.core.$ZodType[]; discriminator?: string };
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else if (def.type === 'union' && def.discriminator && def.options) {
      const tag = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[def.discriminator] : undefined;
      const option = def.options.find((o) => literalValues(o, def.discriminator as string).includes(tag));
      if (!option) return node;
      node = option;
    } else return node;
  }
}

function literalValues(schema: z.core.$ZodType, key: string): unknown[] {
  const shape = (schema._zod.def as { shape?: Record<string, z.core.$ZodType> }).shape;
  // zod's own value set: a literal's values, and through a default (`type` left out) undefined too.
  const values = shape?.[key]?._zod.values;
  return values ? [...values] : [];
}

function child(schema: z.core.$ZodType, key: PathSegment): z.core.$ZodType | undefined {
  const def = schema._zod.def as {
    type: string;
    shape?: Record<string, z.core.$ZodType>;
    element?: z.core.$ZodType;
    items?: z.core.$ZodType[];
    valueType?: z.core.$ZodType;
  };
  switch (def.type) {
    case 'object':
      return typeof key === 'string' ? def.shape?.[key] : undefined;
    case 'array':
      return def.element;
    case 'tuple':
      return typeof key === 'number' ? def.items?.[key] : undefined;
    case 'record':
      return def.valueType;
    default:
      return undefined;
  }
}
