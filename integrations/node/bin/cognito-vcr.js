#!/usr/bin/env node
// `npx cognito-vcr ARGS`: this platform's binary with the same arguments, stdio, signals and
// exit code.
'use strict';

const { spawn } = require('node:child_process');
const { binaryPath, platformPackage, SHIM_GUARD } = require('../binary.js');

// Without this platform's package, `cognito-vcr` on PATH may be this shim itself (under npx or
// npm test, node_modules/.bin comes first): never start it again.
if (process.env[SHIM_GUARD]) {
  console.error(`cognito-vcr: no binary for ${process.platform}-${process.arch}: install ${platformPackage()}, or set COGNITO_VCR_BIN`);
  process.exit(2);
}
const bin = binaryPath();
const child = spawn(bin, process.argv.slice(2), { stdio: 'inherit', env: { ...process.env, [SHIM_GUARD]: '1' } });
// A terminal's Ctrl-C reaches the whole group, the binary too: not passed on a second time.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.once('error', (err) => {
  const why = err.code === 'ENOENT' ? `not found (install ${platformPackage()}, or set COGNITO_VCR_BIN)` : err.message;
  console.error(`cognito-vcr: cannot run ${bin}: ${why}`);
  process.exit(2);
});
child.once('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
});
