// cognito-vcr/jest: useCognitoVcr(options) in a Jest test file registers Jest's hooks around
// testScopes(): the proxy started in beforeAll and stopped in afterAll, each test's scope
// (named after expect.getState().currentTestName) reset in beforeEach and checked in afterEach,
// so a test that missed fails with the miss messages even when it caught the SDK's error.
'use strict';

const { testScopes } = require('./index.js');

function useCognitoVcr(options) {
  const { afterAll, afterEach, beforeAll, beforeEach, expect } = globalThis;
  if (typeof beforeAll !== 'function' || typeof expect?.getState !== 'function') {
    throw new Error("cognito-vcr/jest: Jest's globals (beforeAll, expect...) are not defined: call useCognitoVcr() at the top of a Jest test file (with injectGlobals, Jest's default)");
  }
  const vcr = testScopes(options);
  const name = () => expect.getState().currentTestName;
  // Jest passes a done callback to hooks that declare a parameter: these declare none.
  beforeAll(async () => { await vcr.start(); }, vcr.hookTimeoutMs.start);
  afterAll(async () => { await vcr.stop(); }, vcr.hookTimeoutMs.stop);
  beforeEach(async () => { await vcr.beforeTest(name()); });
  afterEach(async () => { await vcr.afterTest(name()); });
  return vcr;
}

module.exports = { useCognitoVcr };
