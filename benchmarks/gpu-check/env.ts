/**
 * The bundle entry's first import, so it runs before any other module's top level: for
 * `gpu-check` run from a bundle (a bundle.json beside the .mjs), the addon is the bundled one
 * ($DSV3C_NATIVE_ADDON, unless set) and the working directory becomes the bundle folder, so that
 * `configs/…` (read at module load by the shared test helpers) are the bundled configs; the
 * caller's directory is kept in $DSV3C_GPU_CHECK_CWD to resolve --out. Other commands (the
 * bundled CLI) keep the caller's directory; they get the addon path too.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (existsSync(join(here, 'bundle.json'))) {
  process.env.DSV3C_NATIVE_ADDON ??= join(here, 'dsv3c_native.node');
  if (process.argv[2] === 'gpu-check') {
    process.env.DSV3C_GPU_CHECK_CWD ??= process.cwd();
    process.env.DSV3C_GPU_BUNDLE ??= here;
    process.chdir(here);
  }
}
