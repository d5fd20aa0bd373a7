// index.d.ts is hand-written: compile code that uses it (CommonJS and ESM consumers, with the
// AWS SDK v3 client) with TypeScript, so the declarations cannot drift from the API unnoticed.
'use strict';

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { test } = require('node:test');

test('index.d.ts type-checks against its uses', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const project = path.join(__dirname, '../test-support/tsconfig.json');
  const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
