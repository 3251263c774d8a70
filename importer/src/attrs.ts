// Readers for TF NodeDef attributes in their JSON form: int64s arrive as strings, byte strings
// as base64, lists as {list: {i: [...]}}.
import type { TfAttrValue, TfNodeDef } from './model-json.js';
import { dimsOf } from './model-json.js';

function attr(node: TfNodeDef, name: string): TfAttrValue | undefined {
  return node.attr?.[name];
}

export function attrInt(node: TfNodeDef, name: string, fallback: number): number {
  const v = attr(node, name)?.i;
  return v === undefined ? fallback : Number(v);
}

export function attrFloat(node: TfNodeDef, name: string, fallback: number): number {
  const v = attr(node, name)?.f;
  return v === undefined ? fallback : Number(v);
}

export function attrBool(node: TfNodeDef, name: string, fallback: boolean): boolean {
  const v = attr(node, name)?.b;
  return v === undefined ? fallback : Boolean(v);
}

/** A bytes attribute (TF stores strings such as padding and data_format as base64 bytes). */
export function attrString(node: TfNodeDef, name: string, fallback: string): string {
  const v = attr(node, name)?.s;
  return v === undefined ? fallback : Buffer.from(v, 'base64').toString('utf8');
}

export function attrInts(node: TfNodeDef, name: string, fallback: number[]): number[] {
  const v = attr(node, name)?.list?.i;
  return v === undefined ? fallback : v.map(Number);
}

export function attrStrings(node: TfNodeDef, name: string): string[] {
  return (attr(node, name)?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}

/** A dtype attribute such as `DT_FLOAT`. */
export function attrType(node: TfNodeDef, name: string): string | undefined {
  return attr(node, name)?.type;
}

export function attrShape(node: TfNodeDef, name: string): number[] | undefined {
  return dimsOf(attr(node, name)?.shape);
}
