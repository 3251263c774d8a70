// Drops nodes no output depends on and initializers no node reads (bias fusion and constant
// folding leave both behind).
import type { OnnxGraph, OnnxNode } from '../ir/graph.js';

export function prune(graph: OnnxGraph): number {
  const producers = graph.producers();
  const live = new Set<OnnxNode>();
  const stack = graph.outputs.map((o) => o.name);
  const seen = new Set<string>();
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    const node = producers.get(value);
    if (!node || live.has(node)) continue;
    live.add(node);
    for (const input of node.inputs) if (input !== '') stack.push(input);
  }
  const dead = new Set(graph.nodes.filter((n) => !live.has(n)));
  graph.removeNodes(dead);
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const name of [...graph.initializers.keys()]) if (!read.has(name)) graph.initializers.delete(name);
  return dead.size;
}
