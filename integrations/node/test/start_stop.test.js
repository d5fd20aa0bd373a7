// start() and stop() at their edges: binaries that are missing, fail, print nothing or something
// else; a proxy exiting 2 at stop; a forgotten stop(). No moto needed.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { ListUsersCommand } = require('@aws-sdk/client-cognito-identity-provider');
const { start } = require('..');
const { client, isolateFromShell, fakeUpstream, script, tempDir } = require('../test-support');

isolateFromShell();
// A hang fails its test instead of holding up the run.
const LIMIT = { timeout: 60000 };

const missing = path.join(__dirname, 'no-such-dir', 'cognito-vcr');

test('a missing binary rejects clearly, given as { bin } or COGNITO_VCR_BIN', LIMIT, async () => {
  await assert.rejects(start({ cassette: 'x.json', bin: missing }), {
    message: `cognito-vcr: cannot start ${missing}: not found (install @cognito-vcr/${process.platform}-${process.arch}, pass { bin }, set COGNITO_VCR_BIN, or put cognito-vcr on PATH)`,
  });
  const saved = process.env.COGNITO_VCR_BIN;
  process.env.COGNITO_VCR_BIN = missing;
  try {
    await assert.rejects(start({ cassette: 'x.json' }), /cannot start .*no-such-dir\/cognito-vcr: not found/);
  } finally {
    if (saved === undefined) delete process.env.COGNITO_VCR_BIN;
    else process.env.COGNITO_VCR_BIN = saved;
  }
});

test('options left out are the proxy\'s own: its message for a missing cassette, COGNITO_VCR_MODE', LIMIT, async () => {
  await assert.rejects(start({ mode: 'record', env: { COGNITO_VCR_CASSETTE: undefined } }),
    /exited \(code 2\) before it was listening; it said:\ncognito-vcr: error: --cassette is required in record mode/);
  const proxy = await start({
    upstream: 'http://127.0.0.1:1',
    env: { COGNITO_VCR_MODE: 'record', COGNITO_VCR_CASSETTE: path.join(tempDir(), 'new.json') },
  });
  assert.equal((await proxy.summary()).mode, 'record');
  // A record run that recorded nothing still leaves a cassette, an empty one.
  assert.equal((await proxy.stop()).summaryLine,
    'cognito-vcr record: 0 recorded, 0 replayed, 0 misses, 0 forwarded; cassette written with 0 interactions');
});

test('a proxy that exits before listening rejects with its stderr', LIMIT, async () => {
  const cassette = path.join(tempDir(), 'never-recorded.json');
  await assert.rejects(start({ cassette }), (err) => {
    assert.match(err.message, /exited \(code 2\) before it was listening; it said:\n/);
    assert.match(err.message, /cognito-vcr: error: cassette .*never-recorded\.json does not exist/);
    assert.equal(err.exitCode, 2);
    return true;
  });
  // `args` go to `serve` as they are.
  await assert.rejects(start({ cassette, args: ['--no-such-flag'] }), /unexpected argument '--no-such-flag'/);
});

test('a binary that prints no listening line: a timeout, or its unexpected first line', LIMIT, async () => {
  const dir = tempDir();
  const silent = script(dir, 'silent', 'echo "starting..." >&2\nexec tail -f /dev/null');
  await assert.rejects(start({ cassette: 'x.json', bin: silent, startTimeoutMs: 300 }), {
    message: `cognito-vcr: ${silent} printed no "listening on" line within 300 ms; it said:\nstarting...`,
  });
  const chatty = script(dir, 'chatty', 'echo "hello"\nexec tail -f /dev/null');
  await assert.rejects(start({ cassette: 'x.json', bin: chatty }), {
    message: `cognito-vcr: unexpected first line from ${chatty}: "hello" (nothing on stderr)`,
  });
});

test('stop() kills a proxy that outlives stopTimeoutMs after SIGTERM, and says so', LIMIT, async () => {
  const stubborn = script(tempDir(), 'stubborn',
    "trap '' TERM\necho 'listening on http://127.0.0.1:1'\nexec tail -f /dev/null");
  const proxy = await start({ cassette: 'x.json', bin: stubborn, stopTimeoutMs: 300 });
  assert.equal(proxy.endpoint, 'http://127.0.0.1:1');
  await assert.rejects(proxy.stop(), {
    message: 'cognito-vcr: the proxy did not stop within 300 ms of SIGTERM (nothing on stderr)',
    exitCode: null,
  });
});

test('stop() rejects when the proxy exits 2 (here: the cassette cannot be written)', LIMIT, async () => {
  const upstream = await fakeUpstream();
  const dir = path.join(tempDir(), 'cassettes');
  const proxy = await start({ cassette: path.join(dir, 'lost.json'), mode: 'record', upstream: upstream.url });
  try {
    const cognito = client(proxy.endpoint);
    await cognito.send(new ListUsersCommand({ UserPoolId: 'us-east-1_lost' }));
    cognito.destroy();
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, 'a file where the cassette directory was');
    await assert.rejects(proxy.stop(), (err) => {
      assert.match(err.message, /^cognito-vcr: the proxy exited \(code 2\); it said:\n/);
      assert.match(err.message, /could not write cassette .*lost\.json/);
      assert.equal(err.exitCode, 2);
      assert.match(err.stderr, /cognito-vcr export --cassette/);
      return true;
    });
  } finally {
    await upstream.close();
  }
});

test('a forgotten stop(): Node exits anyway and the proxy stops, writing its cassette', LIMIT, async () => {
  const upstream = await fakeUpstream();
  const dir = tempDir();
  const cassette = path.join(dir, 'forgotten.json');
  // The proxy holds the FIFO's only write end: its read side ends when the proxy has exited.
  const fifo = path.join(dir, 'proxy-alive');
  execFileSync('mkfifo', [fifo]);
  const bin = script(dir, 'wrapped-cognito-vcr',
    `exec 9>"${fifo}"\nexec "\${COGNITO_VCR_BIN:-cognito-vcr}" "$@"`);
  const alive = fs.createReadStream(fifo);
  const proxyExited = new Promise((resolve, reject) => {
    alive.on('error', reject);
    alive.on('close', resolve);
    alive.resume();
  });
  const child = spawn(process.execPath, [path.join(__dirname, '../test-support/forgetful-child.js'), cassette, upstream.url, bin], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  try {
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 0, output);
    assert.match(output, /^http:\/\/127\.0\.0\.1:\d+$/);
    await proxyExited;
    const recorded = JSON.parse(fs.readFileSync(cassette, 'utf8'));
    assert.equal(JSON.stringify(recorded).includes('us-east-1_forgotten'), true);
    assert.equal(upstream.calls, 1);
  } finally {
    try { // never leave the FIFO's open pending (it would keep this process alive)
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch { /* the proxy opened it */ }
    await upstream.close();
  }
});
