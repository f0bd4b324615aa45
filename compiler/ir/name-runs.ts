/**
 * Lists of checkpoint tensor names as recipes carry them and manifest.json writes them: a run of
 * names that differ only in their last number (the expert index), one or more names per step, is
 * one entry `{ "each": ["model.layers.3.mlp.experts.{}.gate_proj.weight", "….{}.up_proj.weight"],
 * "from": 0, "count": 256 }`, which stands for gate_0, up_0, gate_1, up_1, …; other names stay as
 * they are. DeepSeek-V3 reads 90k expert tensors: as runs, the compiler never spells them out
 * and the manifest stays a few hundred KiB, readable and diffable.
 *
 * A list is canonical when it is what compressNames makes of its names (a run needs three steps;
 * `nameRun` and `interleaveNames` keep lists canonical), so equal name sequences are equal lists.
 */
export interface NameRun {
  /** Templates with `{}` where the number goes, in the order they repeat. */
  readonly each: readonly string[];
  readonly from: number;
  readonly count: number;
}

export type NameList = readonly (string | NameRun)[];

/** Where a name's last number is: …experts.17.gate_proj.weight has n 17 at [start, end). */
interface NumberSpan {
  readonly start: number;
  readonly end: number;
  readonly n: number;
}

/**
 * The last number between dots, with a suffix that has no digits (…experts.17.gate_proj.weight);
 * null when there is none, it has a leading zero, or the name already holds `{}`. A scan from the
 * end, not a regex: it runs on each of V3's 90k expert tensor names.
 */
function numberSpan(name: string): NumberSpan | null {
  let end = name.length - 1;
  while (end >= 0 && !isDigit(name.charCodeAt(end))) end--;
  let start = end;
  while (start > 0 && isDigit(name.charCodeAt(start - 1))) start--;
  if (end < 0 || start === 0 || name[start - 1] !== '.' || name[end + 1] !== '.') return null;
  if (end > start && name[start] === '0') return null;
  if (name.includes('{}')) return null;
  let n = 0;
  for (let k = start; k <= end; k++) n = n * 10 + name.charCodeAt(k) - 48;
  return { start, end: end + 1, n };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The shortest description this scheme gives: for each position, the longest run of width 1 or 2. */
export function compressNames(names: readonly string[]): NameList {
  if (names.length < 3) return [...names]; // too few for a run
  const spans = names.map(numberSpan);
  const out: (string | NameRun)[] = [];
  let i = 0;
  while (i < names.length) {
    // A run needs three steps; of two, the one covering more names (width 1 on a tie).
    const one = runLength(names, spans, i, 1);
    const two = runLength(names, spans, i, 2);
    const width = two >= 3 && two * 2 > (one >= 3 ? one : 0) ? 2 : 1;
    const count = width === 2 ? two : one;
    if (count >= 3) {
      const each = names.slice(i, i + width).map((name, k) => `${name.slice(0, spans[i + k]!.start)}{}${name.slice(spans[i + k]!.end)}`);
      out.push({ each, from: spans[i]!.n, count });
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
 * Names are matched by the text around their number, not by building each one's template.
 */
function runLength(names: readonly string[], spans: readonly (NumberSpan | null)[], i: number, width: number): number {
  if (i + width > names.length) return 0;
  const first = spans[i];
  if (!first) return 0;
  for (let k = 1; k < width; k++) if (spans[i + k]?.n !== first.n) return 0;
  const heads: string[] = [];
  const tails: string[] = [];
  for (let k = 0; k < width; k++) {
    heads.push(names[i + k].slice(0, spans[i + k]!.start));
    tails.push(names[i + k].slice(spans[i + k]!.end));
  }
  let count = 1;
  for (; i + (count + 1) * width <= names.length; count++) {
    for (let k = 0; k < width; k++) {
      const j = i + count * width + k;
      const span = spans[j];
      const name = names[j];
      if (!span || span.n !== first.n + count || span.start !== heads[k].length || name.length - span.end !== tails[k].length) return count;
      if (!name.startsWith(heads[k]) || !name.endsWith(tails[k])) return count;
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
    for (let n = item.from; n < item.from + item.count; n++) for (let k = 0; k < item.each.length; k++) out.push(runName(item, k, n));
  }
  return out;
}

/** Names `template` with `{}` replaced by from, from + 1, …: one run, or the names when there are fewer than three. */
export function nameRun(template: string, from: number, count: number): NameList {
  const run: NameRun = { each: [template], from, count };
  return count >= 3 ? [run] : expandNames([run]);
}

export function nameCount(list: NameList): number {
  return list.reduce((n, item) => n + (typeof item === 'string' ? 1 : item.each.length * item.count), 0);
}

export function firstName(list: NameList): string | undefined {
  const item = list[0];
  return typeof item === 'string' || item === undefined ? item : runName(item, 0, item.from);
}

/** The name of template `k` of `run` for number `n`. */
export function runName(run: NameRun, k: number, n: number): string {
  return run.each[k].replace('{}', String(n));
}

/**
 * a[0], b[0], a[1], b[1], … (each expert's gate and up side by side) for lists of one length:
 * runs over the same numbers pair up as one run of both templates; anything else is spelled out.
 */
export function interleaveNames(a: NameList, b: NameList): NameList {
  if (nameCount(a) !== nameCount(b)) throw new Error(`interleaveNames: lists of ${nameCount(a)} and ${nameCount(b)} names`);
  const paired = pairItems(a, b);
  if (paired) return canonicalNames(paired);
  const [na, nb] = [expandNames(a), expandNames(b)];
  return compressNames(na.flatMap((n, i) => [n, nb[i]]));
}

/** Item by item: two names side by side, two runs over the same numbers as one run; undefined when the items do not pair so. */
function pairItems(a: NameList, b: NameList): (string | NameRun)[] | undefined {
  if (a.length !== b.length) return undefined;
  const out: (string | NameRun)[] = [];
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    if (typeof x === 'string' && typeof y === 'string') out.push(x, y);
    else if (typeof x !== 'string' && typeof y !== 'string' && x.from === y.from && x.count === y.count) out.push({ each: [...x.each, ...y.each], from: x.from, count: x.count });
    else return undefined;
  }
  return out;
}

/** The list with each stretch of single names made runs where they form one; runs kept as they are. */
export function canonicalNames(list: NameList): NameList {
  const out: (string | NameRun)[] = [];
  let names: string[] = [];
  for (const item of list) {
    if (typeof item === 'string') {
      names.push(item);
      continue;
    }
    out.push(...compressNames(names), item);
    names = [];
  }
  out.push(...compressNames(names));
  return out;
}

/** For IR dumps: a run as its templates with the numbers as a range, `….experts.{0..255}.gate_proj.weight`. */
export function formatNames(list: NameList): string {
  return list.map((item) => (typeof item === 'string' ? item : item.each.map((t) => t.replace('{}', `{${item.from}..${item.from + item.count - 1}}`)).join(' + '))).join(', ');
}
