// JSON.parse keeps the last of two equal keys without a word, so a log line that says
// `"camera":"demo","camera":"demo"` parses fine. This reads the raw text instead.

/** Keys that appear twice in one object of `text` (a JSON document), as `path.key`; empty when none. */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  const objects: Array<{ keys: Set<string>; path: string }> = [];
  const containers: Array<'{' | '['> = [];
  let lastKey = '';
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\') j++;
        s += text[j];
      }
      const inObject = containers.at(-1) === '{';
      if (inObject && expectKey) {
        const top = objects.at(-1)!;
        if (top.keys.has(s)) found.push(`${top.path}${s}`);
        top.keys.add(s);
        lastKey = s;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      objects.push({ keys: new Set(), path: `${objects.length ? `${objects.at(-1)!.path}${lastKey}.` : ''}` });
      containers.push('{');
      expectKey = true;
    } else if (c === '[') {
      containers.push('[');
    } else if (c === '}') {
      objects.pop();
      containers.pop();
    } else if (c === ']') {
      containers.pop();
    } else if (c === ',') {
      expectKey = containers.at(-1) === '{';
    }
  }
  return found;
}
