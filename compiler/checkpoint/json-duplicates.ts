/**
 * JSON.parse silently keeps the last of two equal keys; safetensors headers and the index must
 * reject them, so this scans already-valid JSON text for an object that repeats a key.
 */

export interface DuplicateKey {
  readonly key: string;
  /** Keys leading to the object that repeats it, outermost first ([] at top level; "[]" for an array element). */
  readonly path: readonly string[];
}

interface Frame {
  readonly keys: Set<string> | null; // null for an array
  readonly key: string | null; // the key this container sits under in its parent
  expectKey: boolean;
}

/** The first repeated key in `text`, which must already have passed JSON.parse; null if none. */
export function findDuplicateKey(text: string): DuplicateKey | null {
  const stack: Frame[] = [];
  let lastKey: string | null = null; // the key whose value comes next, if any
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : null, key: lastKey, expectKey: c === '{' });
      lastKey = null;
    } else if (c === '}' || c === ']') {
      stack.pop();
      lastKey = null;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top.keys) top.expectKey = true;
      lastKey = null;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        // Decode escapes: "a" and "\u0061" are the same key.
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, path: stack.slice(1).map((f) => f.key ?? '[]') };
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    }
  }
  return null;
}
