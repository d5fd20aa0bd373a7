// Compiled (never run) by test/types.test.js: index.d.ts describes the API as the tests use it,
// and clientConfig() fits the AWS SDK v3 client.
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import vcrDefault, { clientConfig, scopeName, start } from 'cognito-vcr';
import type { Proxy, ProxyError, RunSummary, ScopeSummary, StartOptions, StopSummary } from 'cognito-vcr';

export async function usage(): Promise<void> {
  const options: StartOptions = {
    cassette: 'cassettes/x.json',
    mode: 'record',
    strict: true,
    upstream: 'http://127.0.0.1:5000',
    bin: 'cognito-vcr',
    args: ['--config', 'vcr.toml'],
    env: { RUST_LOG: 'debug' },
    startTimeoutMs: 1000,
    stopTimeoutMs: 1000,
  };
  const proxy: Proxy = await start(options);
  const again: Proxy = await vcrDefault.start();
  const client = new CognitoIdentityProviderClient(clientConfig(proxy.scope('a test')));
  client.destroy();
  const name: string = scopeName('a test');
  const endpoint: string = proxy.endpoint;
  const reset: true = (await proxy.reset(name)).reset;
  const scoped: ScopeSummary = await proxy.summary('a test');
  const messages: string[] = scoped.miss_messages;
  const run: RunSummary = await proxy.summary();
  const unused: number | null = run.unused;
  const stopped: StopSummary = await proxy.stop();
  const exitCode: 0 | 1 | null = stopped.exitCode;
  const line: string | null = stopped.summaryLine;
  await again.stop().catch((err: ProxyError) => [err.exitCode, err.stderr, err.message]);
  void [endpoint, reset, messages, unused, exitCode, line];
}

// @ts-expect-error mode is one of four words
export const wrong: StartOptions = { mode: 'playback' };
