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

// The last number between dots, with a suffix that has no digits (…experts.17.gate_proj.weight).
const LAST_NUMBER = /^(.*\.)(\d+)(\.\D*)$/;

function split(name: string): { template: string; n: number } | null {
  const m = LAST_NUMBER.exec(name);
  if (!m || m[0].includes('{}') || (m[2].length > 1 && m[2].startsWith('0'))) return null;
  return { template: `${m[1]}{}${m[3]}`, n: Number(m[2]) };
}

/** The shortest description this scheme gives: for each position, the longest run of width 1 or 2. */
export function compressNames(names: readonly string[]): NameList {
  const parts = names.map(split);
  const out: (string | NameRun)[] = [];
  let i = 0;
  while (i < names.length) {
    let best: NameRun | null = null;
    for (const width of [1, 2]) {
      const head = parts.slice(i, i + width);
      if (head.length < width || head.some((p) => p === null || p.n !== head[0]!.n)) continue;
      let count = 1;
      while (i + (count + 1) * width <= names.length && head.every((h, k) => {
        const p = parts[i + count * width + k];
        return p !== null && p.template === h!.template && p.n === head[0]!.n + count;
      })) count++;
      if (count >= 3 && (!best || count * width > best.count * best.each.length)) best = { each: head.map((h) => h!.template), from: head[0]!.n, count };
    }
    if (best) {
      out.push(best);
      i += best.count * best.each.length;
    } else {
      out.push(names[i++]);
    }
  }
  return out;
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
