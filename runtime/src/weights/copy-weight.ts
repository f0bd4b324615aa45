import type { Segment } from './copy-layout.ts';
import { plainSegments } from './copy-layout.ts';
import type { LoadContext } from './load-context.ts';
import type { CopyPlan } from './plan-weight.ts';

/**
 * Streams a copy plan: each source tensor is read once, front to back, in chunks of at most
 * chunkBytes (and at most chunkBytes of output per chunk when the dtype widens); every part of
 * a chunk that some segment places goes to the sink, converted in the staging piece when the
 * dtypes differ, as a view of the chunk when they agree. Only the ranges segments touch are read.
 */
export async function copyWeight(plan: CopyPlan, ctx: LoadContext): Promise<void> {
  const bySource = new Map<string, { index: number; segments: Segment[] }>();
  plan.segments.forEach((s) => {
    const name = plan.sources[s.src].name;
    const entry = bySource.get(name) ?? { index: s.src, segments: [] };
    entry.segments.push(s);
    bySource.set(name, entry);
  });
  for (const [name, entry] of bySource) {
    const { index } = entry;
    // Strided segments become their row copies one source at a time (one tensor's rows, not a weight's).
    const segments = entry.segments.some((s) => s.rows !== undefined) ? entry.segments.flatMap(plainSegments) : entry.segments;
    const { srcBytes, dstBytes, convert } = plan.conversions[index];
    const per = Math.max(1, Math.floor(ctx.chunkBytes / Math.max(srcBytes, dstBytes)));
    segments.sort((a, b) => a.srcStart - b.srcStart);
    // maxEnd[j]: the furthest any of segments[0..j] reaches, so all of them end before a chunk that starts there.
    const maxEnd: number[] = [];
    segments.forEach((s, j) => maxEnd.push(Math.max(j > 0 ? maxEnd[j - 1] : 0, s.srcStart + s.count)));
    let lo = 0;
    for (const [from, to] of covered(segments, per)) {
      for (let cs = from; cs < to; cs += per) {
        const ce = Math.min(to, cs + per);
        const chunk = await ctx.read(name, cs * srcBytes, (ce - cs) * srcBytes);
        while (lo < segments.length && maxEnd[lo] <= cs) lo++;
        for (let j = lo; j < segments.length && segments[j].srcStart < ce; j++) {
          const s = segments[j];
          const a = Math.max(s.srcStart, cs);
          const b = Math.min(s.srcStart + s.count, ce);
          if (b <= a) continue;
          const src = chunk.subarray((a - cs) * srcBytes, (b - cs) * srcBytes);
          let piece = src;
          if (convert) {
            piece = ctx.out((b - a) * dstBytes);
            convert(src, piece, b - a);
          }
          await ctx.write(plan.weight, (s.dstStart + a - s.srcStart) * dstBytes, piece);
        }
      }
    }
  }
}

/**
 * The union of the segments' source ranges (segments sorted by start), as [from, to) intervals;
 * a gap of at most `gap` elements is read through rather than split into another read (a column
 * slice's rows, on a tensor-parallel mesh: one read of a stretch of rows instead of one a row).
 */
function covered(segments: readonly Segment[], gap: number): [number, number][] {
  const out: [number, number][] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last && s.srcStart <= last[1] + gap) last[1] = Math.max(last[1], s.srcStart + s.count);
    else out.push([s.srcStart, s.srcStart + s.count]);
  }
  return out;
}
