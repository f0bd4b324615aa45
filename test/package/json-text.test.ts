import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonText } from '../../compiler/package/json-text.ts';

// JSON-safe values (no -0: JSON writes it as 0).
const scalar = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0), fc.string({ maxLength: 30 }), fc.boolean(), fc.constant(null));
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('json'), { maxLength: 10 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('json'), { maxKeys: 6 }),
    fc.array(scalar, { maxLength: 50 }),
  ),
}));

/** A line without its indentation, `"key": ` and trailing comma. */
function bare(line: string): string {
  const text = line.trim().replace(/,$/, '');
  const keyed = /^("(?:[^"\\]|\\.)*"): (.*)$/.exec(text);
  return keyed && typeof JSON.parse(keyed[1]) === 'string' ? keyed[2] : text;
}

describe('jsonText', () => {
  it('keeps short containers on one line and breaks long ones, two spaces per level', () => {
    expect(jsonText({ a: [1, 2], b: { c: 'x' }, d: [] })).toBe('{"a": [1, 2], "b": {"c": "x"}, "d": []}\n');
    expect(jsonText({ shape: [7168, 512], name: 'q_a' }, 20)).toBe('{\n  "shape": [7168, 512],\n  "name": "q_a"\n}\n');
    expect(jsonText([[1, 2, 3], { k: [4, 5] }], 15)).toBe('[\n  [1, 2, 3],\n  {"k": [4, 5]}\n]\n');
    expect(jsonText({ gone: undefined, kept: 1 })).toBe('{"kept": 1}\n');
  });

  it('is JSON that reads back as the value, at any width', () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 120 }), (v, width) => {
        expect(JSON.parse(jsonText(v, width))).toEqual(v);
      }),
    );
  });

  // The width counts the indentation, not the key before the value.
  it('puts a container on one line exactly when that line fits the width', () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 120 }), (v, width) => {
        for (const line of jsonText(v, width).split('\n').slice(0, -1)) {
          const text = bare(line);
          if (text === '[' || text === '{' || text === ']' || text === '}') continue;
          const part: unknown = JSON.parse(text);
          const container = part !== null && typeof part === 'object';
          // A line longer than the width holds one scalar; a one-line container fits.
          if (line.length - line.trimStart().length + text.length > width) expect(container && Object.keys(part).length > 0).toBe(false);
        }
        // Any line that opens a container broke it because its one-line form did not fit.
        const lines = jsonText(v, width).split('\n');
        lines.forEach((line, i) => {
          const text = bare(line);
          if (text !== '[' && text !== '{') return;
          const indent = line.length - line.trimStart().length;
          const end = lines.findIndex((l, j) => j > i && l.length - l.trimStart().length === indent && /^\s*[\]}],?$/.test(l));
          const inner: unknown = JSON.parse([text, ...lines.slice(i + 1, end), bare(lines[end])].join('\n'));
          expect(indent + jsonText(inner, Infinity).trimEnd().length).toBeGreaterThan(width);
        });
      }),
    );
  });
});
