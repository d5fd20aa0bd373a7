// The per-test check and wiring without a framework: checkScope() on a replay proxy (its error
// names the scope and lists the miss messages), and testScopes() at its edges: called out of
// order, names that differ, a start() that rejected. No moto: the cassette is recorded from a
// stand-in upstream on loopback.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { before, test } = require('node:test');
const { start, scopeName, testScopes } = require('..');
const { fakeUpstream, isolateFromShell, tempDir } = require('../test-support');

isolateFromShell();
// A hang fails its test instead of holding up the run.
const LIMIT = { timeout: 60000 };

const TEST = 'users › lists them';
const RECORDED = 'us-east-1_recorded';

let cassette;

before(async () => {
  cassette = path.join(tempDir(), 'scopes.json');
  const upstream = await fakeUpstream();
  try {
    const proxy = await start({ cassette, mode: 'record', upstream: upstream.url });
    await listUsers(proxy.scope(TEST), RECORDED);
    await proxy.stop();
  } finally {
    await upstream.close();
  }
}, LIMIT);

/** ListUsers of `pool` at `endpoint`, as an SDK sends it; resolves the HTTP status. */
async function listUsers(endpoint, pool) {
  const answer = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'X-Amz-Target': 'AWSCognitoIdentityProviderService.ListUsers',
      'Content-Type': 'application/x-amz-json-1.1',
    },
    body: JSON.stringify({ UserPoolId: pool }),
  });
  await answer.arrayBuffer();
  return answer.status;
}

test('checkScope resolves the summary of a scope without misses, and rejects with every miss message', LIMIT, async () => {
  const proxy = await start({ cassette });
  try {
    assert.equal(await listUsers(proxy.scope(TEST), RECORDED), 200);
    const clean = await proxy.checkScope(TEST);
    assert.equal(clean.scope, scopeName(TEST));
    assert.equal(clean.hits, 1);
    assert.equal(clean.misses, 0);

    assert.equal(await listUsers(proxy.scope(TEST), 'us-east-1_first'), 400);
    assert.equal(await listUsers(proxy.scope(TEST), 'us-east-1_second'), 400);
    const err = await proxy.checkScope(TEST).then(() => assert.fail('no misses reported'), (e) => e);
    const lines = err.message.split('\n');
    assert.equal(lines[0], `cognito-vcr: 2 replay misses in ${JSON.stringify(TEST)} (scope ${scopeName(TEST)}):`);
    assert.equal(lines.length, 3);
    assert.match(lines[1], /^ {2}cognito-vcr replay miss: ListUsers occurrence 1 .*us-east-1_first/);
    assert.match(lines[2], /^ {2}cognito-vcr replay miss: ListUsers .*us-east-1_second/);
    assert.deepEqual(err.summary.miss_messages, lines.slice(1).map((line) => line.slice(2)));
    assert.equal(err.stack, `Error: ${err.message}`, 'no frames of the helper in what the test shows');

    // A valid scope name is named once; past the proxy's first 100 messages, a count.
    const scope = 'many_misses';
    for (let n = 0; n < 101; n += 1) await listUsers(proxy.scope(scope), `us-east-1_miss${n}`);
    const many = await proxy.checkScope(scope).then(() => assert.fail('no misses reported'), (e) => e);
    const manyLines = many.message.split('\n');
    assert.equal(manyLines[0], 'cognito-vcr: 101 replay misses in scope many_misses:');
    assert.equal(manyLines.length, 1 + 100 + 1);
    assert.equal(manyLines[101], '  (1 more not listed)');

    await proxy.reset(TEST);
    assert.equal((await proxy.checkScope(TEST)).misses, 0, 'a reset starts the check over');
    await assert.rejects(proxy.checkScope(), TypeError, 'a scope name is required');
  } finally {
    await proxy.stop();
  }
});

test('testScopes: a test begins and ends by name, its endpoint is its scope, a miss fails it', LIMIT, async () => {
  const vcr = testScopes({ cassette, startTimeoutMs: 2000, stopTimeoutMs: 3000 });
  assert.deepEqual(vcr.hookTimeoutMs, { start: 7000, stop: 8000 });
  assert.deepEqual(testScopes().hookTimeoutMs, { start: 20000, stop: 35000 });
  assert.throws(() => vcr.proxy, /the proxy is not started: call start\(\) in beforeAll/);
  await assert.rejects(vcr.beforeTest(TEST), /the proxy is not started/);
  const starting = vcr.start();
  assert.equal(vcr.start(), starting, 'started once');
  const proxy = await starting;
  try {
    assert.equal(vcr.proxy, proxy);
    assert.throws(() => vcr.endpoint, /no test is running/);

    await vcr.beforeTest(TEST);
    assert.equal(vcr.endpoint, proxy.scope(TEST));
    assert.equal(await listUsers(vcr.endpoint, RECORDED), 200);
    assert.equal((await vcr.afterTest(TEST)).hits, 1);
    assert.throws(() => vcr.endpoint, /no test is running/, 'the test ended');

    // Run again: beforeTest reset the scope, so it replays from its start.
    await vcr.beforeTest(TEST);
    assert.equal(await listUsers(vcr.endpoint, RECORDED), 200);
    assert.equal(await listUsers(vcr.endpoint, 'us-east-1_other'), 400);
    await assert.rejects(vcr.afterTest(TEST), (err) => {
      assert.match(err.message, /^cognito-vcr: 1 replay miss in "users › lists them" \(scope users___lists_them-[0-9a-f]{10}\):\n {2}cognito-vcr replay miss: ListUsers /);
      assert.equal(err.summary.hits, 1);
      return true;
    });

    await vcr.beforeTest(TEST);
    await assert.rejects(vcr.afterTest('another test'),
      { message: 'cognito-vcr: afterTest("another test") after beforeTest("users › lists them"): give both the same name' });
    assert.equal(await vcr.afterTest(TEST), undefined, 'no test began');
  } finally {
    const stopped = await vcr.stop();
    assert.equal(stopped.exitCode, 0);
    assert.equal(stopped.replayed, 2);
    assert.equal(stopped.misses, 1);
    assert.equal(await vcr.stop(), stopped);
  }
});

test('testScopes after a start() that rejected: the start error, and nothing else', LIMIT, async () => {
  const vcr = testScopes({ cassette: path.join(tempDir(), 'never-recorded.json') });
  assert.equal(await vcr.stop(), undefined, 'stop before start: nothing to stop');
  const startError = await vcr.start().then(() => assert.fail('started'), (err) => err);
  assert.match(startError.message, /never-recorded\.json does not exist/);
  assert.equal(await vcr.afterTest(TEST), undefined, 'afterEach: the framework reports the start error');
  assert.equal(await vcr.stop(), undefined, 'afterAll: no TypeError');
  assert.throws(() => vcr.proxy, (err) => {
    assert.equal(err.message, `cognito-vcr: the proxy did not start: ${startError.message}`);
    assert.equal(err.cause, startError);
    return true;
  });
  await assert.rejects(vcr.beforeTest(TEST), /the proxy did not start: .*does not exist/s);
});
