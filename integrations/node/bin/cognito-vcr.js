#!/usr/bin/env node
// `npx cognito-vcr ARGS`: this platform's binary with the same arguments, stdio, signals and
// exit code.
'use strict';

const { spawn } = require('node:child_process');
const { binaryPath, platformPackage } = require('../binary.js');

const bin = binaryPath();
const child = spawn(bin, process.argv.slice(2), { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
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
