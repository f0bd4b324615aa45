/**
 * Check (e): compute-sanitizer --tool memcheck over the kernel check of the tiny configs (the
 * bundled gpu-check run again as a child under the tool, `--only kernels`), when the tool exists:
 * every launch of every instance checked for out-of-bounds and misaligned accesses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from './results.ts';

export function findSanitizer(): string | null {
  const fixed = ['/usr/local/cuda/bin/compute-sanitizer', '/usr/local/cuda/compute-sanitizer/compute-sanitizer'];
  let versioned: string[] = [];
  try {
    versioned = readdirSync('/usr/local')
      .filter((d) => d.startsWith('cuda-'))
      .sort()
      .reverse()
      .map((d) => `/usr/local/${d}/bin/compute-sanitizer`);
  } catch {
    /* no /usr/local */
  }
  for (const c of [...fixed, ...versioned]) if (existsSync(c)) return c;
  const r = spawnSync('sh', ['-c', 'command -v compute-sanitizer'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export function checkSanitizer(entry: string | null, configs: readonly string[], timeoutSeconds: number, log: (l: string) => void = () => {}): CheckResult {
  const tool = findSanitizer();
  if (!tool) return { status: 'skipped', reason: 'compute-sanitizer not found (/usr/local/cuda*/bin, PATH)' };
  if (!entry) return { status: 'skipped', reason: 'not run from the bundle (.gpu/dsv3c.mjs): the child needs a plain node entry' };
  const out = mkdtempSync(join(tmpdir(), 'dsv3c-sanitizer-'));
  try {
    const args = ['--tool', 'memcheck', '--error-exitcode', '86', '--print-limit', '20', process.execPath, entry, 'gpu-check', '--only', 'kernels', '--seeds', '1', '--configs', configs.join(','), '--out', out];
    log(`  ${tool} ${args.join(' ')}`);
    const r = spawnSync(tool, args, { encoding: 'utf8', timeout: timeoutSeconds * 1000, maxBuffer: 64 << 20 });
    const text = `${r.stdout}\n${r.stderr}`;
    const summary = text.match(/ERROR SUMMARY: (\d+) errors?/);
    const errors = summary ? Number(summary[1]) : null;
    const findings = text.split('\n').filter((l) => /^=+\s+(Invalid|Program hit|Address|Saved host backtrace|Host Frame|Device Frame)|^=+ +at /.test(l)).slice(0, 60);
    const timedOut = r.error !== undefined && /ETIMEDOUT|timed out/i.test(r.error.message);
    // The child's own kernel check result (its JSON under `out`), for the record.
    let child: unknown = null;
    for (const f of existsSync(out) ? readdirSync(out).filter((x) => x.endsWith('.json')) : []) {
      const k = (JSON.parse(readFileSync(join(out, f), 'utf8')) as { checks?: Record<string, { status: string; instances?: number; failed?: number }> }).checks?.kernels;
      if (k) child = { status: k.status, instances: k.instances, failed: k.failed };
    }
    return {
      status: timedOut ? 'error' : errors === 0 && r.status === 0 ? 'passed' : 'failed',
      tool,
      exitCode: r.status,
      ...(timedOut ? { reason: `timed out after ${timeoutSeconds} s` } : {}),
      errors,
      configs: [...configs],
      kernelCheckUnderSanitizer: child,
      findings,
      tail: text.split('\n').slice(-15),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
