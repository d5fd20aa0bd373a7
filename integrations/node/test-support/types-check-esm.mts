// Compiled (never run) by test/types.test.js: the same declarations from an ES module.
import vcr, { clientConfig, scopeName, start } from 'cognito-vcr';

export async function usage(): Promise<string> {
  const proxy = await start({ cassette: 'cassettes/x.json' });
  const settings = clientConfig(proxy.scope(scopeName('a test')));
  await vcr.start();
  return settings.endpoint;
}
