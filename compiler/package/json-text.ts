/**
 * JSON for files people read and diff: two-space indentation, but any array or object whose
 * one-line form fits in `width` characters stays on one line (a kernel's argument, a shape).
 * Deterministic: key order is insertion order, as JSON.stringify's. Linear time: each value's
 * one-line and indented forms are built once, from its children's.
 */
export function jsonText(value: unknown, width = 100): string {
  return `${format(value, '', width).pretty}\n`;
}

interface Formatted {
  /** One line, a space after each separator ({"a": 1, "b": [2, 3]}); absent when longer than the width. */
  readonly flat?: string;
  readonly pretty: string;
}

function format(value: unknown, indent: string, width: number): Formatted {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error('jsonText: a value JSON cannot hold');
    return { flat: text, pretty: text };
  }
  const inner = `${indent}  `;
  const isArray = Array.isArray(value);
  if (isArray && value.every((v) => v === null || typeof v !== 'object')) return primitives(value, indent, inner, width);
  const entries = isArray ? value.map((v) => ['', v] as const) : Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const key = (k: string) => (isArray ? '' : `${JSON.stringify(k)}: `);
  const parts = entries.map(([k, v]) => ({ key: key(k), ...format(v, inner, width) }));
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  // A container fits on one line only if each part does: long lists never build a one-line form.
  let flat: string | undefined;
  if (parts.every((p) => p.flat !== undefined)) {
    const line = `${open}${parts.map((p) => p.key + p.flat).join(', ')}${close}`;
    if (parts.length === 0 || line.length + indent.length <= width) flat = line;
  }
  if (flat !== undefined) return { flat, pretty: flat };
  return { pretty: `${open}\n${parts.map((p) => inner + p.key + p.pretty).join(',\n')}\n${indent}${close}` };
}

/**
 * An array of numbers and strings (the manifest's 90k tensor names): short ones the per-element
 * way, long ones by one native JSON.stringify re-indented (JSON strings hold no raw newline).
 */
function primitives(values: readonly unknown[], indent: string, inner: string, width: number): Formatted {
  if (values.length === 0) return { flat: '[]', pretty: '[]' };
  if (values.length * 3 > width) return { pretty: JSON.stringify(values, null, 2).replace(/\n/g, `\n${indent}`) };
  const texts = values.map((v) => {
    const t = JSON.stringify(v);
    if (t === undefined) throw new Error('jsonText: a value JSON cannot hold');
    return t;
  });
  const length = texts.reduce((n, t) => n + t.length + 2, indent.length);
  if (length <= width) {
    const flat = `[${texts.join(', ')}]`;
    return { flat, pretty: flat };
  }
  return { pretty: `[\n${inner}${texts.join(`,\n${inner}`)}\n${indent}]` };
}
