// Run by test/frameworks.test.js with `node --test`: the documented wiring
// (cognito-vcr/node-test) replaying a cassette that holds the two "replays" tests and a setup
// scope; the test between them misses and catches the SDK's error itself, so only the wiring's
// afterEach can fail it.
'use strict';

const assert = require('node:assert/strict');
const { before, describe, test } = require('node:test');
const { useCognitoVcr } = require('cognito-vcr/node-test');
const { NEVER_RECORDED, RECORDED, listUsers, options } = require('./calls.js');

const vcr = useCognitoVcr(options());
let listed; // by the setup, in a scope of its own
before(async () => {
  const proxy = await vcr.start(); // the wiring's own start(): the proxy, once it listens
  await proxy.reset('setup');
  listed = await listUsers(proxy.scope('setup'), RECORDED);
});

describe('users', () => {
  test('replays a recorded call', async () => {
    assert.deepEqual(await listUsers(vcr.endpoint, RECORDED), ['ana']);
    assert.deepEqual(listed, ['ana']);
  });

  test('catches its own miss', async () => {
    await assert.rejects(listUsers(vcr.endpoint, NEVER_RECORDED), /cognito-vcr replay miss/);
  });

  test('replays after a miss', async () => {
    assert.deepEqual(await listUsers(vcr.endpoint, RECORDED), ['ana']);
  });
});
