// cognito-vcr/vitest: useCognitoVcr(options) in a Vitest test file registers Vitest's hooks around
// testScopes(): the proxy started in beforeAll and stopped in afterAll, each test's scope (named
// after the test's full name, describe blocks included) reset in beforeEach and checked in
// afterEach, so a test that missed fails with the miss messages even when it caught the error.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { testScopes } from './index.js';

export function useCognitoVcr(options) {
  const vcr = testScopes(options);
  // A hook's resolved value would be taken for a cleanup function if it were one: resolve nothing.
  beforeAll(async () => { await vcr.start(); }, vcr.hookTimeoutMs.start);
  afterAll(async () => { await vcr.stop(); }, vcr.hookTimeoutMs.stop);
  beforeEach(async (context) => { await vcr.beforeTest(testName(context)); });
  afterEach(async (context) => { await vcr.afterTest(testName(context)); });
  return vcr;
}

/** `describe > test`: Vitest 4's task.fullTestName, else what the test's expect calls it. */
function testName({ task, expect }) {
  return task.fullTestName ?? expect.getState().currentTestName;
}
