// Run by test/frameworks.test.js with Jest: the documented wiring (cognito-vcr/jest) replaying a
// cassette that holds the two "replays" tests and a setup scope; the test between them misses and
// catches the SDK's error itself, so only the wiring's afterEach can fail it.
'use strict';

const { useCognitoVcr } = require('cognito-vcr/jest');
const { NEVER_RECORDED, RECORDED, listUsers, options } = require('./calls.js');

const vcr = useCognitoVcr(options());
let listed; // by the setup, in a scope of its own
beforeAll(async () => {
  const proxy = await vcr.start(); // the wiring's own start(): the proxy, once it listens
  await proxy.reset('setup');
  listed = await listUsers(proxy.scope('setup'), RECORDED);
});

describe('users', () => {
  test('replays a recorded call', async () => {
    expect(await listUsers(vcr.endpoint, RECORDED)).toEqual(['ana']);
    expect(listed).toEqual(['ana']);
  });

  test('catches its own miss', async () => {
    await expect(listUsers(vcr.endpoint, NEVER_RECORDED)).rejects.toThrow('cognito-vcr replay miss');
  });

  test('replays after a miss', async () => {
    expect(await listUsers(vcr.endpoint, RECORDED)).toEqual(['ana']);
  });
});
