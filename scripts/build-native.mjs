#!/usr/bin/env node
// Builds the native addon (runtime/native) with cmake-js into runtime/native/build/Release/.
// Runs as `npm run build:native` and from `postinstall`, so `npm ci` on a clean checkout builds it.
// Offline: runtime/native/package.json declares napi_versions, so cmake-js takes the Node-API
// headers from the node-api-headers package instead of downloading Node's headers.
//
// DSV3C_SKIP_NATIVE=1 skips the build (an install that only needs the compiler); the runtime then
// says the addon is missing and how to build it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'runtime', 'native');

if (process.env.DSV3C_SKIP_NATIVE === '1') {
  console.log('dsv3c: DSV3C_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}

function runs(command, args) {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

const cxx = process.env.CXX || 'c++';
const missing = [];
if (!runs('cmake', ['--version'])) missing.push('cmake (3.18 or newer)');
if (!runs(cxx, ['--version'])) missing.push(`a C++17 compiler (tried \`${cxx}\`; set CXX to choose another)`);
if (missing.length > 0) {
  console.error(
    `dsv3c: cannot build the native addon (runtime/native): ${missing.join(' and ')} not found.\n` +
      '  Install them (Debian/Ubuntu: apt-get install cmake g++), then run `npm run build:native`.\n' +
      '  To install without the addon, set DSV3C_SKIP_NATIVE=1.',
  );
  process.exit(1);
}

const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(
  process.execPath,
  [cmakeJs, 'compile', '--directory', nativeDir, '--config', 'Release', '--log-level', 'warn'],
  { cwd: root, stdio: 'inherit' },
);
if (result.status !== 0) {
  console.error('dsv3c: building the native addon failed (output above); rerun with `npm run build:native`');
  process.exit(result.status ?? 1);
}
console.log(`dsv3c: built ${path.join(nativeDir, 'build', 'Release', 'dsv3c_native.node')}`);
