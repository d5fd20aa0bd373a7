// The package as users install it: from its directory (npm makes a link) and from `npm pack`'s
// tarball (only the files package.json lists), then required and imported by name.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const pkg = path.join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = ['--offline', '--no-audit', '--no-fund', '--loglevel=error'];

function consumer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cognito-vcr-consumer-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "consumer", "private": true }\n');
  return dir;
}

function usesIt(dir) {
  const required = execFileSync(process.execPath, ['-e',
    "const v = require('cognito-vcr'); console.log(typeof v.start, v.scopeName('a b').slice(0, 4))"], { cwd: dir, encoding: 'utf8' });
  assert.equal(required, 'function a_b-\n');
  const imported = execFileSync(process.execPath, ['--input-type=module', '-e',
    "import vcr, { clientConfig } from 'cognito-vcr'; console.log(typeof vcr.start, clientConfig('x').region)"], { cwd: dir, encoding: 'utf8' });
  assert.equal(imported, 'function us-east-1\n');
  const entries = execFileSync(process.execPath, ['-e',
    "console.log(typeof require('cognito-vcr/jest').useCognitoVcr, typeof require('cognito-vcr/node-test').useCognitoVcr)"], { cwd: dir, encoding: 'utf8' });
  assert.equal(entries, 'function function\n');
}

test('npm install DIR and npm install of the packed tarball both give a working package', () => {
  const linked = consumer();
  execFileSync(npm, ['install', '--save-dev', ...quiet, pkg], { cwd: linked });
  usesIt(linked);

  const packed = consumer();
  const [{ filename, files }] = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', packed, ...quiet], { cwd: pkg }));
  assert.deepEqual(files.map((f) => f.path).sort(), ['README.md', 'bin/cognito-vcr.js', 'binary.js', 'frameworks.d.ts',
    'index.d.ts', 'index.js', 'index.mjs', 'jest.js', 'node-test.js', 'package.json', 'vitest.mjs']);
  execFileSync(npm, ['install', '--save-dev', ...quiet, path.join(packed, filename)], { cwd: packed });
  usesIt(packed);
});
