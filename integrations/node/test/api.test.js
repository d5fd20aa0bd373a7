// The pure parts of the API: scope names made from test names, the SDK client settings, the
// ESM entry, the framework entries by name.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { test } = require('node:test');
const vcr = require('..');

const SAFE = /^[A-Za-z0-9._-]{1,128}$/;

test('scopeName keeps a valid name and makes any other one valid, distinct and stable', () => {
  assert.equal(vcr.scopeName('test_login.v2-ok'), 'test_login.v2-ok');
  assert.equal(vcr.scopeName('x'.repeat(128)), 'x'.repeat(128));

  const made = vcr.scopeName('login › wrong password');
  assert.match(made, /^login___wrong_password-[0-9a-f]{10}$/);
  assert.equal(vcr.scopeName('login › wrong password'), made, 'the same every time');
  assert.notEqual(vcr.scopeName('login / wrong password'), made, 'names alike once replaced stay apart');

  const long = vcr.scopeName('y'.repeat(300));
  assert.equal(long.length, 128);
  assert.match(long, /^y{117}-[0-9a-f]{10}$/);
  assert.notEqual(vcr.scopeName('y'.repeat(301)), long);
  for (const name of ['ü', '😀 emoji', ' ', '/scope/x', 'a'.repeat(129)]) {
    assert.match(vcr.scopeName(name), SAFE, name);
  }
  assert.throws(() => vcr.scopeName(''), TypeError);
  assert.throws(() => vcr.scopeName(undefined), TypeError);
});

test('clientConfig: the endpoint, us-east-1 and placeholder credentials', () => {
  assert.deepEqual(vcr.clientConfig('http://127.0.0.1:9/scope/a'), {
    endpoint: 'http://127.0.0.1:9/scope/a',
    region: 'us-east-1',
    credentials: { accessKeyId: 'cognito-vcr', secretAccessKey: 'cognito-vcr' },
  });
});

test('the ESM entry exports the same functions', async () => {
  const esm = await import('../index.mjs');
  assert.equal(esm.start, vcr.start);
  assert.equal(esm.scopeName, vcr.scopeName);
  assert.equal(esm.clientConfig, vcr.clientConfig);
  assert.equal(esm.testScopes, vcr.testScopes);
  assert.equal(esm.default, vcr);
  const byName = await import('cognito-vcr');
  assert.equal(byName.start, vcr.start, 'the package resolves to itself by name, through "exports"');
});

test('the framework entries resolve by name; cognito-vcr/jest says so outside Jest', async () => {
  const { useCognitoVcr } = require('cognito-vcr/jest');
  assert.throws(() => useCognitoVcr({ cassette: 'x.json' }),
    /^Error: cognito-vcr\/jest: Jest's globals \(beforeAll, expect\.\.\.\) are not defined/);
  assert.equal(typeof require('cognito-vcr/node-test').useCognitoVcr, 'function');
  assert.equal(typeof (await import('cognito-vcr/node-test')).useCognitoVcr, 'function');
  const imported = execFileSync(process.execPath, ['--input-type=module', '-e',
    "console.log(import.meta.resolve('cognito-vcr/vitest'))"], { cwd: __dirname, encoding: 'utf8' });
  assert.equal(imported, `${pathToFileURL(path.join(__dirname, '../vitest.mjs'))}\n`);
  assert.throws(() => require.resolve('cognito-vcr/vitest'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' },
    'an ES module only, as Vitest is');
});
