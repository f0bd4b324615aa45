import { describe, expect, it } from 'vitest';
import { formatBytes, ProgressBar } from '../../runtime/src/progress-bar.ts';

function fakeStream(isTTY: boolean, columns = 100) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (s: string) => writes.push(s) } };
}

describe('ProgressBar', () => {
  it('on a TTY redraws in place at most every 100 ms and ends the line at finish', () => {
    const { writes, stream } = fakeStream(true);
    let now = 0;
    const bar = new ProgressBar({ label: 'loading', total: 1000, stream, now: () => now });
    for (let i = 1; i <= 1000; i++) {
      now = i; // 1000 updates over one second
      bar.update(i, `w${i}`);
    }
    expect(writes.length).toBeGreaterThanOrEqual(9);
    expect(writes.length).toBeLessThanOrEqual(11);
    expect(writes.every((w) => w.startsWith('\r') && w.endsWith('\x1b[K'))).toBe(true);
    bar.finish('done');
    expect(writes.at(-1)).toBe('\n');
    expect(writes.at(-2)).toMatch(/^\rloading \[#{24}\] 100% 1000 B\/1000 B .* done\x1b\[K$/);
    bar.update(5);
    expect(writes.at(-1)).toBe('\n'); // ignored after finish
  });

  it('on a TTY fits the line to the terminal width', () => {
    const { writes, stream } = fakeStream(true, 40);
    const bar = new ProgressBar({ label: 'loading', total: 10, stream, now: () => 0 });
    bar.update(5, 'model.layers.12.mlp.experts.gate_up.weight');
    expect(writes[0].replace('\r', '').replace('\x1b[K', '').length).toBeLessThanOrEqual(39);
  });

  it('elsewhere prints a plain line about every 10%, and one at the end', () => {
    const { writes, stream } = fakeStream(false);
    const bar = new ProgressBar({ label: 'building kernels', total: 200, stream, unit: 'items', now: () => 0 });
    for (let i = 1; i <= 200; i++) bar.update(i);
    bar.finish();
    expect(writes).toEqual([...Array.from({ length: 9 }, (_, k) => `building kernels: ${(k + 1) * 10}% (${(k + 1) * 20}/200)\n`), 'building kernels: 100% (200/200)\n']);
  });

  it('a jump over several tenths prints one line; a zero total is complete', () => {
    const { writes, stream } = fakeStream(false);
    const bar = new ProgressBar({ label: 'x', total: 100, stream, unit: 'items' });
    bar.update(45);
    bar.update(46);
    expect(writes).toEqual(['x: 45% (45/100)\n']);
    const empty = fakeStream(false);
    new ProgressBar({ label: 'y', total: 0, stream: empty.stream, unit: 'items' }).finish();
    expect(empty.writes).toEqual(['y: 100% (0/0)\n']);
  });

  it('formats bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(688.6 * 2 ** 30)).toBe('688.6 GiB');
  });
});
