// Record a session from moto through the helper, stop moto, replay it: twice with resets, in two
// scopes at once, a miss, strict runs, a proxy shared through COGNITO_VCR_URL and `cognito-vcr run`.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { before, test } = require('node:test');
const { AdminGetUserCommand } = require('@aws-sdk/client-cognito-identity-provider');
const { start, scopeName } = require('..');
const { client, isolateFromShell, listCreateList, poolSession, startMoto, tempDir, USERS } = require('../test-support');

isolateFromShell();
// A hang fails its test instead of holding up the run.
const LIMIT = { timeout: 60000 };

// Test names, as a runner would pass them: not valid scope names as they are.
const FIRST = 'list, create, list › first';
const SECOND = 'list, create, list › second';
// Calls of one recording: CreateUserPool, 5 AdminCreateUser, 3 ListUsers pages; 3 per scope.
const CALLS = { session: 1 + USERS.length + 3, scope: 3 };

let cassette;
let live; // what the clients saw while recording
// The pool id replay hands out: the stand-in the cassette stores for the pool the session made
// (a new id on every recording), not the one moto made.
let pool;

before(async () => {
  cassette = path.join(tempDir(), 'node-helper.json');
  const moto = await startMoto();
  try {
    const proxy = await start({ cassette, mode: 'record', upstream: moto.url });
    const session = await poolSession(proxy.endpoint);
    const first = await listCreateList(proxy.scope(FIRST), session.poolId, 'fay');
    const second = await listCreateList(proxy.scope(SECOND), session.poolId, 'gus');
    live = { session, first, second, stopped: await proxy.stop() };
  } finally {
    await moto.stop(); // everything below runs with moto gone
  }
  const created = JSON.parse(fs.readFileSync(cassette, 'utf8')).interactions
    .find((i) => i.operation === 'CreateUserPool');
  pool = created.response.body.UserPool.Id;
}, LIMIT);

/** Everything the recording holds, replayed through `proxy`. */
async function replayAll(proxy) {
  const session = await poolSession(proxy.endpoint);
  const first = await listCreateList(proxy.scope(FIRST), session.poolId, 'fay');
  const second = await listCreateList(proxy.scope(SECOND), session.poolId, 'gus');
  return { session, first, second };
}

test('record mode: the SDK sees moto, stop() writes the cassette and sums up', LIMIT, () => {
  const { session, first, second, stopped } = live;
  assert.deepEqual(session.pages, [['ana', 'ben'], ['cyd', 'dee'], ['eve']]);
  assert.deepEqual(first, { before: USERS, after: [...USERS, 'fay'] });
  assert.deepEqual(second, { before: [...USERS, 'fay'], after: [...USERS, 'fay', 'gus'] });
  const total = CALLS.session + 2 * CALLS.scope;
  assert.equal(stopped.mode, 'record');
  assert.equal(stopped.recorded, total);
  assert.equal(stopped.failed, 0);
  assert.equal(stopped.exitCode, 0);
  assert.match(stopped.summaryLine, new RegExp(`^cognito-vcr record: ${total} recorded, `));
  const text = fs.readFileSync(cassette, 'utf8');
  assert.ok(text.includes(`"scope": "${scopeName(FIRST)}"`) || text.includes(`"scope":"${scopeName(FIRST)}"`),
    'the first scope is in the cassette under its safe name');
});

test('replay: the same session twice with resets, offline, and stop() resolves the summary', LIMIT, async () => {
  const proxy = await start({ cassette });
  try {
    assert.match(proxy.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    const once = await replayAll(proxy);
    assert.match(pool, /^us-east-1_\w+$/);
    assert.notEqual(pool, live.session.poolId, 'the real pool id is not stored');
    assert.deepEqual(once, { session: { ...live.session, poolId: pool }, first: live.first, second: live.second });

    // Without a reset the scope is past its recorded sequence: the last answer, not the first.
    const again = await listCreateList(proxy.scope(FIRST), pool, 'fay');
    assert.deepEqual(again.before, live.first.after);

    assert.deepEqual(await proxy.reset(), { scope: null, reset: true });
    assert.deepEqual(await proxy.reset(FIRST), { scope: scopeName(FIRST), reset: true });
    await proxy.reset(SECOND);
    assert.deepEqual(await replayAll(proxy), once);
  } finally {
    const stopped = await proxy.stop();
    const total = CALLS.session + 2 * CALLS.scope;
    assert.equal(stopped.mode, 'replay');
    assert.equal(stopped.replayed, 2 * total + CALLS.scope);
    assert.equal(stopped.misses, 0);
    assert.equal(stopped.recorded, 0);
    assert.equal(stopped.forwarded, 0);
    assert.equal(stopped.unused, 0);
    assert.equal(stopped.strict, false);
    assert.equal(stopped.exitCode, 0);
    assert.match(stopped.summaryLine, new RegExp(`^cognito-vcr replay: 0 recorded, ${stopped.replayed} replayed, 0 misses`));
    assert.equal(await proxy.stop(), stopped, 'stop() again: the same summary');
  }
});

test('replay: two scopes at once, each its own sequence, reset one by one', LIMIT, async () => {
  const proxy = await start({ cassette });
  try {
    for (let run = 0; run < 2; run += 1) {
      const [first, second] = await Promise.all([
        listCreateList(proxy.scope(FIRST), pool, 'fay'),
        listCreateList(proxy.scope(SECOND), pool, 'gus'),
      ]);
      assert.deepEqual(first, live.first);
      assert.deepEqual(second, live.second);
      // The SDK kept the endpoint's path: the calls were in the scopes.
      assert.equal((await proxy.summary(FIRST)).hits, CALLS.scope);
      assert.equal((await proxy.summary(SECOND)).hits, CALLS.scope);
      await Promise.all([proxy.reset(FIRST), proxy.reset(SECOND)]);
    }
    const scoped = await proxy.summary(FIRST);
    assert.equal(scoped.hits, 0, 'a reset starts the scope summary over');
  } finally {
    await proxy.stop();
  }
});

test('replay: a never-recorded request fails with the miss message; summary(scope) reports it', LIMIT, async () => {
  const proxy = await start({ cassette });
  const scope = 'never recorded';
  try {
    const cognito = client(proxy.scope(scope));
    const miss = await cognito
      .send(new AdminGetUserCommand({ UserPoolId: pool, Username: 'nobody' }))
      .then(() => null, (err) => err);
    cognito.destroy();
    assert.ok(miss, 'the call failed');
    assert.equal(miss.name, 'CognitoVcrReplayMissException');
    assert.equal(miss.$metadata.httpStatusCode, 400);
    assert.match(miss.message, /^cognito-vcr replay miss: AdminGetUser occurrence 1 /);
    assert.match(miss.message, /nobody/);

    const scoped = await proxy.summary(scope);
    assert.equal(scoped.scope, scopeName(scope));
    assert.equal(scoped.misses, 1);
    assert.equal(scoped.hits, 0);
    assert.deepEqual(scoped.miss_messages, [miss.message]);
    assert.equal((await proxy.summary(FIRST)).misses, 0, 'other scopes have none');
    const run = await proxy.summary();
    assert.equal(run.mode, 'replay');
    assert.equal(run.misses, 1);

    await proxy.reset(scope);
    assert.deepEqual((await proxy.summary(scope)).miss_messages, []);
  } finally {
    const stopped = await proxy.stop();
    assert.equal(stopped.misses, 1);
    assert.equal(stopped.exitCode, 0, 'not strict: misses do not fail the run');
  }
});

test('strict: a miss makes stop() resolve exitCode 1; env reaches the proxy', LIMIT, async () => {
  // Two replay processes share the cassette at once.
  const [strict, byEnv] = await Promise.all([
    start({ cassette, strict: true }),
    start({ cassette, env: { COGNITO_VCR_STRICT: 'true' } }),
  ]);
  assert.equal((await byEnv.summary()).strict, true);
  const unused = await byEnv.stop();
  assert.equal(unused.exitCode, 1, 'strict and nothing replayed: unused interactions');
  assert.ok(unused.unused > 0);

  assert.deepEqual(await replayAll(strict), { session: { ...live.session, poolId: pool }, first: live.first, second: live.second });
  assert.equal((await strict.summary()).unused, 0);
  const cognito = client(strict.endpoint);
  await assert.rejects(
    cognito.send(new AdminGetUserCommand({ UserPoolId: pool, Username: 'nobody' })),
    { name: 'CognitoVcrReplayMissException' },
  );
  cognito.destroy();
  const stopped = await strict.stop();
  assert.equal(stopped.exitCode, 1);
  assert.equal(stopped.misses, 1);
  assert.equal(stopped.strict, true);
});

test('COGNITO_VCR_URL: start() uses that proxy, and its stop() leaves it running', LIMIT, async () => {
  const shared = await start({ cassette });
  const saved = process.env.COGNITO_VCR_URL;
  try {
    process.env.COGNITO_VCR_URL = `${shared.endpoint}/`;
    const proxy = await start({ cassette: 'ignored.json', bin: '/not/used' });
    assert.equal(proxy.endpoint, shared.endpoint);
    assert.equal(proxy.scope(FIRST), shared.scope(FIRST));
    assert.deepEqual(await listCreateList(proxy.scope(FIRST), pool, 'fay'), live.first);
    const stopped = await proxy.stop();
    assert.equal(stopped.exitCode, null);
    assert.equal(stopped.summaryLine, null);
    assert.equal(stopped.replayed, CALLS.scope);
    assert.equal((await shared.summary()).replayed, CALLS.scope, 'still serving');

    process.env.COGNITO_VCR_URL = 'http://127.0.0.1:1';
    await assert.rejects(start(), /COGNITO_VCR_URL=http:\/\/127\.0\.0\.1:1 does not answer/);
  } finally {
    if (saved === undefined) delete process.env.COGNITO_VCR_URL;
    else process.env.COGNITO_VCR_URL = saved;
    await shared.stop();
  }
});

test('`cognito-vcr run` sets COGNITO_VCR_URL: a suite under it uses that proxy', LIMIT, async () => {
  const bin = process.env.COGNITO_VCR_BIN || 'cognito-vcr';
  const child = spawn(bin, [
    'run', '--cassette', cassette, '--',
    process.execPath, path.join(__dirname, '../test-support/run-child.js'), FIRST, 'fay',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', COGNITO_VCR_URL: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const code = await new Promise((resolve) => child.once('close', resolve));
  assert.equal(code, 0, stderr);
  const seen = JSON.parse(stdout);
  assert.match(seen.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(seen.session, { ...live.session, poolId: pool });
  assert.deepEqual(seen.scoped, live.first);
  assert.equal(seen.stopped.exitCode, null);
  assert.equal(seen.stillServing.replayed, CALLS.session + CALLS.scope);
  assert.match(stderr, new RegExp(`cognito-vcr replay: 0 recorded, ${CALLS.session + CALLS.scope} replayed, 0 misses`));
});
