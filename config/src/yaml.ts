import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigIssue, PathSegment } from './issues.js';

/** A parsed YAML config that remembers where each value was written, so errors can say the line. */
export interface ParsedYaml {
  /** The plain value (null for an empty file); undefined when the YAML did not parse. */
  value: unknown;
  issues: ConfigIssue[];
  /** 1-based line and column where `path` is written, or where its nearest written parent is. */
  locate(path: readonly PathSegment[]): { line: number; column: number } | undefined;
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // uniqueKeys makes a repeated key an error (YAML would otherwise keep the last one silently);
  // merge keys (`<<: *camera_defaults`) let cameras share settings, as Home Assistant users do.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issues: ConfigIssue[] = doc.errors.map((error) => ({
    path: '',
    message: `YAML: ${error.message.split('\n')[0]}`,
    ...position(error.pos[0]),
  }));
  const value = issues.length ? undefined : toPlainValue(doc, issues);
  return {
    value,
    issues,
    locate: (path) => {
      const offset = offsetOf(doc, path);
      return offset === undefined ? undefined : position(offset);
    },
  };
}

/** An alias expanding past this count is an alias bomb ("billion laughs"), not a config. */
const MAX_ALIAS_COUNT = 1000;

/**
 * The document as plain values. The yaml library throws a ReferenceError when aliases expand
 * past the limit; uncaught, that was a stack trace from the agent, the hub and `config check`.
 */
function toPlainValue(doc: Document, issues: ConfigIssue[]): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    issues.push({ path: '', message: `YAML: aliases expand too far (more than ${MAX_ALIAS_COUNT} times): ${err.message}; write the values out instead of nesting aliases` });
    return undefined;
  }
}

function offsetOf(doc: Document, path: readonly PathSegment[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair) return offset;
      // Point at the key: `fps: 0` is one line, and a missing value has no node of its own.
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}
