/**
 * JSON for files people read and diff: two-space indentation, but any array or object whose
 * one-line form fits in `width` characters with its indentation (its key not counted) stays on
 * one line (a kernel's argument, a shape). Deterministic: key order is insertion order, as
 * JSON.stringify's.
 *
 * One pass that writes pieces: each container first tries its one-line form, which gives up as
 * soon as it passes the width, so a large value costs about its size plus `width` per container
 * (plan.json is 2.4 MB; building every subtree's one-line and indented strings took 0.1 s).
 */
export function jsonText(value: unknown, width = 100): string {
  const out = new TextOut();
  write(value, '', width, out);
  out.add('\n');
  return out.text();
}

/**
 * Text appended piece by piece, copied out every 64 KiB: a million small strings kept until the
 * end would each survive the young-generation collections and be copied by every one of them.
 */
class TextOut {
  private pending = '';
  private readonly chunks: Buffer[] = [];

  add(piece: string): void {
    this.pending += piece;
    if (this.pending.length >= 65536) this.flush();
  }

  text(): string {
    this.flush();
    return Buffer.concat(this.chunks).toString('utf8');
  }

  private flush(): void {
    this.chunks.push(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
  }
}

function write(value: unknown, indent: string, width: number, out: TextOut): void {
  const flat = oneLine(value, width - indent.length);
  if (flat !== undefined) {
    out.add(flat);
    return;
  }
  // Only a non-empty container has no one-line form.
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    out.add('[');
    for (let i = 0; i < value.length; i++) {
      out.add(i === 0 ? `\n${inner}` : `,\n${inner}`);
      write(value[i], inner, width, out);
    }
    out.add(`\n${indent}]`);
    return;
  }
  let first = true;
  out.add('{');
  for (const key in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out.add(`${first ? '\n' : ',\n'}${inner}${quoted(key)}: `);
    first = false;
    write(v, inner, width, out);
  }
  out.add(`\n${indent}}`);
}

/**
 * The one-line form (a space after each separator: {"a": 1, "b": [2, 3]}), or undefined when a
 * non-empty container's is longer than `budget`. Scalars and empty containers always have one.
 */
function oneLine(value: unknown, budget: number): string | undefined {
  if (value === null || typeof value !== 'object') return scalarText(value);
  let line = '';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const part = oneLine(value[i], budget - line.length - 2);
      if (part === undefined) return undefined;
      line += i === 0 ? part : `, ${part}`;
      if (line.length + 2 > budget) return undefined;
    }
    return `[${line}]`;
  }
  for (const key in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const head = `${line === '' ? '' : ', '}${quoted(key)}: `;
    const part = oneLine(v, budget - line.length - head.length - 2);
    if (part === undefined) return undefined;
    line += head + part;
    if (line.length + 2 > budget) return undefined;
  }
  return `{${line}}`;
}

/** A scalar's JSON; numbers and repeated strings without a JSON.stringify call each (V3's plan.json has ~300k scalars). */
function scalarText(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string') return quoted(value);
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error('jsonText: a value JSON cannot hold');
  return text;
}

function quoted(s: string): string {
  let q = QUOTED.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (QUOTED.size < 65536) QUOTED.set(s, q);
  }
  return q;
}
const QUOTED = new Map<string, string>();
