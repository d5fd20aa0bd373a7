// Compiled (never run) by test/types.test.js: index.d.ts and frameworks.d.ts describe the API as
// the tests use it, and clientConfig() fits the AWS SDK v3 client.
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import vcrDefault, { clientConfig, scopeName, start } from 'cognito-vcr';
import type { MissError, Proxy, ProxyError, RunSummary, ScopeSummary, StartOptions, StopSummary, TestScopes } from 'cognito-vcr';
import { testScopes } from 'cognito-vcr';
import { useCognitoVcr } from 'cognito-vcr/jest';
import { useCognitoVcr as useWithNodeTest } from 'cognito-vcr/node-test';

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
  const checked: ScopeSummary = await proxy.checkScope('a test');
  await proxy.checkScope('a test').catch((err: MissError) => err.summary.miss_messages);
  void [endpoint, reset, messages, unused, exitCode, line, checked];
}

/** The per-test wiring, as a framework's hooks call it. */
export async function wiring(): Promise<void> {
  const vcr: TestScopes = useCognitoVcr({ cassette: 'cassettes/x.json' });
  const viaNodeTest: TestScopes = useWithNodeTest();
  const started: Proxy = await vcr.start();
  await vcr.beforeTest('a test');
  const client = new CognitoIdentityProviderClient(clientConfig(vcr.endpoint));
  client.destroy();
  const summary: ScopeSummary | undefined = await vcr.afterTest('a test');
  const stopped: StopSummary | undefined = await vcr.stop();
  const setup: string = vcr.proxy.scope('setup');
  const timeouts: number = vcr.hookTimeoutMs.start + vcr.hookTimeoutMs.stop;
  const byHand: TestScopes = testScopes({ cassette: 'cassettes/x.json' });
  void [viaNodeTest, started, summary, stopped, setup, timeouts, byHand];
}

// @ts-expect-error mode is one of four words
export const wrong: StartOptions = { mode: 'playback' };

// @ts-expect-error cognito-vcr/vitest is an ES module, as Vitest is: import it from one
export { useCognitoVcr as fromVitest } from 'cognito-vcr/vitest';
