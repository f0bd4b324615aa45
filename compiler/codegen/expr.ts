/**
 * A tiny C expression evaluator, so that one string is both the TypeScript check and the C++ code:
 * a family's constraints (`THREADS % WARP == 0`) are evaluated here before rendering and emitted
 * as static_asserts, and launch grids (`(B + 3) / 4`) are evaluated by the runtime for a step's
 * symbols and may be pasted into C. Integers divide as C does (truncating); comparisons and logic
 * give 1 or 0. Grammar: ?: || && == != < <= > >= + - * / % unary - ! ( ) numbers identifiers.
 */

export type Env = Readonly<Record<string, number | boolean>>;

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?)|([A-Za-z_]\w*)|(\|\||&&|==|!=|<=|>=|[-+*/%<>!?:()]))/y;

// Grids are evaluated for every launch of every step: each distinct expression is tokenized once.
const tokenized = new Map<string, readonly string[]>();

function tokenize(src: string): readonly string[] {
  const hit = tokenized.get(src);
  if (hit) return hit;
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    if (/^\s*$/.test(src.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m) throw new Error(`expression "${src}": cannot read from "${src.slice(at)}"`);
    tokens.push(m[1] ?? m[2] ?? m[3]);
  }
  tokenized.set(src, tokens);
  return tokens;
}

const BINARY: Record<string, [number, (a: number, b: number) => number]> = {
  '||': [1, (a, b) => +(a !== 0 || b !== 0)],
  '&&': [2, (a, b) => +(a !== 0 && b !== 0)],
  '==': [3, (a, b) => +(a === b)],
  '!=': [3, (a, b) => +(a !== b)],
  '<': [4, (a, b) => +(a < b)],
  '<=': [4, (a, b) => +(a <= b)],
  '>': [4, (a, b) => +(a > b)],
  '>=': [4, (a, b) => +(a >= b)],
  '+': [5, (a, b) => a + b],
  '-': [5, (a, b) => a - b],
  '*': [6, (a, b) => a * b],
  '/': [6, (a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b)],
  '%': [6, (a, b) => a % b],
};

/** Evaluates `src` with identifiers from `env`; an unknown identifier is an error naming it. */
export function evalExpr(src: string, env: Env): number {
  const tokens = tokenize(src);
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`expression "${src}": ${why}`);
  };
  const primary = (): number => {
    const t = tokens[i++];
    if (t === undefined) return fail('ends too early');
    if (t === '(') {
      const v = ternary();
      if (tokens[i++] !== ')') fail('missing )');
      return v;
    }
    if (t === '-') return -primary();
    if (t === '!') return +(primary() === 0);
    if (/^\d/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) {
      if (!(t in env)) fail(`unknown name ${t}`);
      return Number(env[t]);
    }
    return fail(`unexpected ${t}`);
  };
  const binary = (minPrec: number): number => {
    let left = primary();
    for (;;) {
      const op = BINARY[tokens[i]];
      if (!op || op[0] < minPrec) return left;
      i++;
      left = op[1](left, binary(op[0] + 1));
    }
  };
  const ternary = (): number => {
    const cond = binary(1);
    if (tokens[i] !== '?') return cond;
    i++;
    const a = ternary();
    if (tokens[i++] !== ':') fail('missing : in ?:');
    const b = ternary();
    return cond !== 0 ? a : b;
  };
  const v = ternary();
  if (i !== tokens.length) fail(`unexpected ${tokens[i]}`);
  return v;
}

/** The identifiers an expression reads, in first-use order. */
export function namesIn(src: string): string[] {
  return [...new Set(tokenize(src).filter((t) => /^[A-Za-z_]/.test(t)))];
}
