// Compiled (never run) by test/types.test.js: the same declarations from an ES module, and the
// Vitest entry (an ES module only).
import vcr, { clientConfig, scopeName, start, testScopes } from 'cognito-vcr';
import type { TestScopes } from 'cognito-vcr';
import { useCognitoVcr } from 'cognito-vcr/vitest';

export async function usage(): Promise<string> {
  const proxy = await start({ cassette: 'cassettes/x.json' });
  const settings = clientConfig(proxy.scope(scopeName('a test')));
  await vcr.start();
  return settings.endpoint;
}

export function wiring(): TestScopes[] {
  return [useCognitoVcr({ cassette: 'cassettes/x.json' }), testScopes()];
}
