// cognito-vcr/node-test: useCognitoVcr(options) in a node:test file (or describe block) registers
// node:test's hooks around testScopes(): the proxy started in before and stopped in after, each
// test's scope (named after t.fullName, `describe > test`; t.name before Node 20.16) reset in
// beforeEach and checked in afterEach, so a test that missed fails with the miss messages.
'use strict';

const { after, afterEach, before, beforeEach } = require('node:test');
const { testScopes } = require('./index.js');

function useCognitoVcr(options) {
  const vcr = testScopes(options);
  const name = (t) => t.fullName ?? t.name;
  // node:test passes a done callback to hooks that declare two parameters: these declare one.
  before(async () => { await vcr.start(); });
  after(async () => { await vcr.stop(); });
  beforeEach(async (t) => { await vcr.beforeTest(name(t)); });
  afterEach(async (t) => { await vcr.afterTest(name(t)); });
  return vcr;
}

module.exports = { useCognitoVcr };
