/**
 * Loading the native addon (runtime/native, built by `npm run build:native`), and probing the
 * machine's GPUs in a child process so that a driver that crashes cannot take the caller down.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';

import { packageRoot } from '../package-root.ts';
import { NATIVE_ADDON_ABI_VERSION, type NativeAddon, type ProbeResult } from './addon-types.ts';

export const BUILD_COMMAND = 'npm run build:native';

const require = createRequire(import.meta.url);
const loaded = new Map<string, NativeAddon>();

/**
 * Where the built addon is: $DSV3C_NATIVE_ADDON when set (a bundled CLI, e.g. on the GPU machine,
 * has no source tree to be relative to), else runtime/native/build/Release/dsv3c_native.node.
 */
export function defaultAddonPath(): string {
  const override = process.env.DSV3C_NATIVE_ADDON;
  if (override) return path.resolve(override);
  return path.join(packageRoot(), 'runtime/native/build/Release/dsv3c_native.node');
}

export class NativeAddonError extends Error {
  override name = 'NativeAddonError';
}

/** Loads the addon once per path; throws NativeAddonError naming the path and the build command. */
export function loadAddon(addonPath: string = defaultAddonPath()): NativeAddon {
  const cached = loaded.get(addonPath);
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    throw new NativeAddonError(
      `dsv3c native addon not found at ${addonPath}; build it with \`${BUILD_COMMAND}\` ` +
        '(needs cmake >= 3.18 and a C++17 compiler; npm install runs it too)',
    );
  }
  let addon: NativeAddon;
  try {
    addon = require(addonPath) as NativeAddon;
  } catch (error) {
    throw new NativeAddonError(
      `dsv3c native addon at ${addonPath} failed to load: ${(error as Error).message}; ` +
        `rebuild it with \`${BUILD_COMMAND}\``,
      { cause: error },
    );
  }
  if (addon.abiVersion !== NATIVE_ADDON_ABI_VERSION) {
    throw new NativeAddonError(
      `dsv3c native addon at ${addonPath} has ABI ${String(addon.abiVersion)} but this runtime expects ` +
        `${NATIVE_ADDON_ABI_VERSION}: it is stale, rebuild it with \`${BUILD_COMMAND}\``,
    );
  }
  loaded.set(addonPath, addon);
  return addon;
}

export interface ProbeInChildOptions {
  addonPath?: string;
  /** Default 30 s: a hung driver is reported as such rather than waited on forever. */
  timeoutMs?: number;
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs addon.probe() in a child Node process (as node-llama-cpp probes GPUs) and returns its
 * result. If the child crashes, hangs or prints nothing usable, the result says so in each GPU
 * backend's error instead of throwing: a broken driver is a report, never the caller's crash.
 */
export function probeInChildProcess(options: ProbeInChildOptions = {}): Promise<ProbeResult> {
  const addonPath = options.addonPath ?? defaultAddonPath();
  const script =
    `const addon = require(${JSON.stringify(addonPath)});` +
    'process.stdout.write(JSON.stringify(addon.probe()));';
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=commonjs', '-e', script],
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error === null) {
          try {
            resolve(JSON.parse(stdout) as ProbeResult);
            return;
          } catch {
            resolve(failedProbe(`probe printed no JSON: ${stdout.slice(0, 200)}`));
            return;
          }
        }
        const how = error.killed
          ? `was killed after ${options.timeoutMs ?? 30_000} ms (a hung driver?)`
          : error.signal
            ? `died of ${error.signal}`
            : `exited with code ${String(error.code)}`;
        const detail = stderr.trim().split('\n').slice(-3).join(' | ');
        resolve(failedProbe(`the probe child process ${how}${detail ? `: ${detail}` : ''}`));
      },
    );
  });
}

function failedProbe(reason: string): ProbeResult {
  return {
    cuda: { available: false, error: `cuda: ${reason}` },
    hip: { available: false, error: `hip: ${reason}` },
    nccl: { available: false, error: `nccl: ${reason}` },
    cpu: { threads: availableParallelism() },
  };
}
