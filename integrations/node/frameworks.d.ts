// Types of the framework entries cognito-vcr/jest, cognito-vcr/vitest (an ES module) and
// cognito-vcr/node-test: one function each, with the same signature.
import type { StartOptions, TestScopes } from './index.js';

/**
 * Registers the framework's hooks in this test file (or describe block): the proxy started in
 * beforeAll and stopped in afterAll, each test's scope, named after the test's full name, reset in
 * beforeEach and checked in afterEach: a test that missed fails with the miss messages.
 */
export function useCognitoVcr(options?: StartOptions): TestScopes;
