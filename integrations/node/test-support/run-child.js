// Run by test/replay.test.js under `cognito-vcr run`: start() must use the proxy that
// COGNITO_VCR_URL names. Replays the pool session and one scope; prints what it saw as JSON.
'use strict';

const { start } = require('..');
const { poolSession, listCreateList } = require('.');

(async () => {
  const [scope, newcomer] = process.argv.slice(2);
  const proxy = await start({ cassette: 'not-used-when-COGNITO_VCR_URL-is-set.json' });
  const seen = {
    endpoint: proxy.endpoint,
    session: await poolSession(proxy.endpoint),
  };
  seen.scoped = await listCreateList(proxy.scope(scope), seen.session.poolId, newcomer);
  seen.stopped = await proxy.stop();
  seen.stillServing = await proxy.summary();
  process.stdout.write(JSON.stringify(seen));
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
