/**
 * Lists of tensor names as they are written to manifest.json: a run of names that differ only in
 * their last number (the expert index), one or more names per step, is one entry
 * `{ "each": ["model.layers.3.mlp.experts.{}.gate_proj.weight", "….{}.up_proj.weight"], "from": 0, "count": 256 }`,
 * which stands for gate_0, up_0, gate_1, up_1, …; other names stay as they are. DeepSeek-V3's
 * manifest lists 90k expert tensors twice: this keeps it a few hundred KiB, readable and diffable.
 */
export interface NameRun {
  /** Templates with `{}` where the number goes, in the order they repeat. */
  readonly each: readonly string[];
  readonly from: number;
  readonly count: number;
}

export type NameList = readonly (string | NameRun)[];

interface Numbered {
  /** The name with `{}` in place of its last number. */
  readonly template: string;
  readonly n: number;
}

/**
 * The last number between dots, with a suffix that has no digits (…experts.17.gate_proj.weight);
 * null when there is none, it has a leading zero, or the name already holds `{}`. A scan from the
 * end, not a regex: it runs on each of V3's 90k expert tensor names.
 */
function numbered(name: string): Numbered | null {
  let end = name.length - 1;
  while (end >= 0 && !isDigit(name.charCodeAt(end))) end--;
  let start = end;
  while (start > 0 && isDigit(name.charCodeAt(start - 1))) start--;
  if (end < 0 || start === 0 || name[start - 1] !== '.' || name[end + 1] !== '.') return null;
  if (end > start && name[start] === '0') return null;
  if (name.includes('{}')) return null;
  return { template: `${name.slice(0, start)}{}${name.slice(end + 1)}`, n: Number(name.slice(start, end + 1)) };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The shortest description this scheme gives: for each position, the longest run of width 1 or 2. */
export function compressNames(names: readonly string[]): NameList {
  const parts = names.map(numbered);
  const out: (string | NameRun)[] = [];
  let i = 0;
  while (i < names.length) {
    // A run needs three steps; of two, the one covering more names (width 1 on a tie).
    const one = runLength(parts, i, 1);
    const two = runLength(parts, i, 2);
    const width = two >= 3 && two * 2 > (one >= 3 ? one : 0) ? 2 : 1;
    const count = width === 2 ? two : one;
    if (count >= 3) {
      const each = parts.slice(i, i + width).map((p) => p!.template);
      out.push({ each, from: parts[i]!.n, count });
      i += count * width;
    } else {
      out.push(names[i++]);
    }
  }
  return out;
}

/**
 * How many steps of `width` names from `i` repeat the first step's templates with the number
 * going up by one each step (the names within a step share their number); 0 if none can start.
 */
function runLength(parts: readonly (Numbered | null)[], i: number, width: number): number {
  if (i + width > parts.length) return 0;
  const first = parts[i];
  if (!first) return 0;
  for (let k = 1; k < width; k++) if (parts[i + k]?.n !== first.n) return 0;
  let count = 1;
  for (; i + (count + 1) * width <= parts.length; count++) {
    for (let k = 0; k < width; k++) {
      const p = parts[i + count * width + k];
      if (!p || p.template !== parts[i + k]!.template || p.n !== first.n + count) return count;
    }
  }
  return count;
}

export function expandNames(list: NameList): string[] {
  const out: string[] = [];
  for (const item of list) {
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    for (let n = item.from; n < item.from + item.count; n++) for (const t of item.each) out.push(t.replace('{}', String(n)));
  }
  return out;
}
