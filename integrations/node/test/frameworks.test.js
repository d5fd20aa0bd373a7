// The framework wiring as documented, run by the frameworks themselves (fixtures in
// test-support/frameworks/): Jest, Vitest and node:test each record a file's setup and two
// "replays" tests through useCognitoVcr from a stand-in upstream on loopback, then replay the
// whole file: the test that caught its own miss fails with the miss message and its name, the
// others pass; and a file whose proxy cannot start shows the start error, with no TypeError about
// stop. Read from the frameworks' JSON reports (node:test: test-support/frameworks/ndjson-reporter.mjs).
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { scopeName } = require('..');
const { fakeUpstream, isolateFromShell, tempDir } = require('../test-support');
const { NEVER_RECORDED } = require('../test-support/frameworks/calls.js');

isolateFromShell();
// A hang fails its test instead of holding up the run.
const LIMIT = { timeout: 120000 };

const FIXTURES = path.join(__dirname, '../test-support/frameworks');
const BIN = path.join(__dirname, '../node_modules/.bin');
// What the stand-in upstream answers every ListUsers with while the fixtures record.
const ANA = '{"Users":[{"Username":"ana","Enabled":true}]}';
const MISSED = 'catches its own miss';
const RECORDED = ['replays a recorded call', 'replays after a miss'];

/** Run a command; resolves its exit code and output (the stand-in upstream answers meanwhile). */
function run(argv, env) {
  const childEnv = { ...process.env, NO_COLOR: '1', ...env };
  delete childEnv.FORCE_COLOR;
  delete childEnv.NODE_TEST_CONTEXT; // else a nested `node --test` reports to this runner, not to us
  const child = spawn(argv[0], argv.slice(1), { cwd: FIXTURES, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Jest's and Vitest's JSON report (the same shape) as { FILE: { message, tests: { NAME: test } } }. */
function fromJsonReport(report) {
  return Object.fromEntries(report.testResults.map((file) => [path.basename(file.name), {
    message: file.message,
    tests: Object.fromEntries(file.assertionResults.map((t) => [t.title, {
      status: t.status === 'passed' || t.status === 'failed' ? t.status : 'skipped',
      messages: t.failureMessages,
    }])),
  }]));
}

/** The node:test reporter's JSON lines, in the same form (names without their describe). */
function fromNdjson(text) {
  const files = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const t = JSON.parse(line);
    const file = (files[path.basename(t.file)] ??= { message: '', tests: {} });
    if (t.suite) {
      if (t.status === 'failed') file.message += t.messages.join('\n');
      continue;
    }
    file.tests[t.name.split(' > ').pop()] = { status: t.status, messages: t.messages };
  }
  return files;
}

const FRAMEWORKS = {
  Jest: {
    files: ['users.jest.js', 'no-cassette.jest.js'],
    fullName: (name) => `users ${name}`, // expect.getState().currentTestName
    startErrorShows: 'in each test', // the tests fail with beforeAll's error
    failedInReplay: 2,
    argv: ({ report, pattern, files }) => [
      path.join(BIN, 'jest'), '--config', path.join(FIXTURES, 'jest.config.js'), '--runInBand',
      '--json', '--outputFile', report, ...(pattern ? ['--testNamePattern', pattern] : []),
      ...files.map((file) => path.join(FIXTURES, file)),
    ],
    results: ({ report }) => fromJsonReport(JSON.parse(fs.readFileSync(report, 'utf8'))),
  },
  Vitest: {
    files: ['users.vitest.mjs', 'no-cassette.vitest.mjs'],
    fullName: (name) => `users > ${name}`, // task.fullTestName
    startErrorShows: 'in the file', // the tests are skipped and the file fails with beforeAll's error
    failedInReplay: 1,
    argv: ({ report, pattern, files }) => [
      path.join(BIN, 'vitest'), 'run', '--config', path.join(FIXTURES, 'vitest.config.mjs'),
      // The JSON report has a file's first error only: the default reporter's text shows them all.
      '--reporter=json', '--outputFile.json', report, '--reporter=default',
      ...(pattern ? ['--testNamePattern', pattern] : []), ...files,
    ],
    results: ({ report }) => fromJsonReport(JSON.parse(fs.readFileSync(report, 'utf8'))),
  },
  'node:test': {
    files: ['users.node-test.js', 'no-cassette.node-test.js'],
    fullName: (name) => `users > ${name}`, // t.fullName
    startErrorShows: 'in each test', // the tests fail with the before hook's error
    failedInReplay: 2, // (a failing after hook would be one more, named after the hook's file)
    argv: ({ pattern, files }) => [
      process.execPath, '--test', '--test-reporter', path.join(FIXTURES, 'ndjson-reporter.mjs'),
      '--test-reporter-destination', 'stdout', ...(pattern ? ['--test-name-pattern', pattern] : []),
      ...files.map((file) => path.join(FIXTURES, file)),
    ],
    results: ({ stdout }) => fromNdjson(stdout),
  },
};

/** Run `framework` on `files` (`step` names its report); resolves its exit code, results and everything it wrote. */
async function runFramework(framework, { dir, step, files, pattern, env }) {
  const report = path.join(dir, `${step}.json`);
  const argv = framework.argv({ report, pattern, files });
  assert.ok(fs.existsSync(argv[0]), `${argv[0]} is not installed: run \`bash .ci/setup-node\` (npm ci) once`);
  const out = await run(argv, { FIXTURE_CACHE: path.join(dir, 'cache'), ...env });
  const said = `${out.stdout}\n${out.stderr}`;
  let results;
  try {
    results = framework.results({ report, stdout: out.stdout });
  } catch (err) {
    assert.fail(`no report (${err.message}); exit ${out.code}:\n${said}`);
  }
  const text = `${said}\n${fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : ''}`;
  return { code: out.code, results, text };
}

/** The scopes the cassette's interactions are in. */
function scopesOf(cassette) {
  const { interactions } = JSON.parse(fs.readFileSync(cassette, 'utf8'));
  return [...new Set(interactions.map((i) => i.scope))].sort();
}

for (const [label, framework] of Object.entries(FRAMEWORKS)) {
  test(`${label}: the wiring records, replays, fails the test that caught its own miss, and shows a start error as it is`, LIMIT, async () => {
    const dir = tempDir();
    const cassette = path.join(dir, 'users.json');
    const [users, noCassette] = framework.files;

    // Record the "replays" tests only: the cassette has nothing in the other test's scope.
    const upstream = await fakeUpstream(ANA);
    let recording;
    try {
      recording = await runFramework(framework, {
        dir, step: 'record', files: [users], pattern: 'replays',
        env: { FIXTURE_CASSETTE: cassette, FIXTURE_MODE: 'record', FIXTURE_UPSTREAM: upstream.url },
      });
    } finally {
      await upstream.close();
    }
    assert.equal(recording.code, 0, recording.text);
    assert.deepEqual(Object.values(recording.results[users].tests).map((t) => t.status).sort(),
      ['passed', 'passed', 'skipped'], recording.text);
    assert.equal(recording.results[users].tests[MISSED].status, 'skipped');
    assert.equal(upstream.calls, 3);
    assert.deepEqual(scopesOf(cassette), ['setup', ...RECORDED.map((name) => scopeName(framework.fullName(name)))].sort(),
      'the setup in its scope, each test in the scope named after its full name');

    const replay = await runFramework(framework, {
      dir, step: 'replay', files: [users, noCassette], env: { FIXTURE_CASSETTE: cassette },
    });
    assert.notEqual(replay.code, 0, 'a test failed');
    const { tests } = replay.results[users];
    for (const name of RECORDED) assert.equal(tests[name].status, 'passed', `${name}\n${replay.text}`);
    const missed = tests[MISSED];
    assert.equal(missed.status, 'failed', replay.text);
    assert.equal(missed.messages.length, 1, 'the test itself passed: the one failure is the wiring\'s');
    const fullName = framework.fullName(MISSED);
    assert.match(missed.messages[0],
      new RegExp(`cognito-vcr: 1 replay miss in ${escape(JSON.stringify(fullName))} \\(scope ${escape(scopeName(fullName))}\\):\n  cognito-vcr replay miss: ListUsers occurrence 1 `));
    assert.match(missed.messages[0], new RegExp(NEVER_RECORDED));

    const failed = replay.results[noCassette];
    const startError = /cognito-vcr: \S+ exited \(code 2\) before it was listening; it said:\n[^\n]*no-such-cassette\.json does not exist/;
    assert.deepEqual(Object.keys(failed.tests), ['needs the proxy']);
    if (framework.startErrorShows === 'in each test') {
      assert.equal(failed.tests['needs the proxy'].status, 'failed');
      assert.equal(failed.tests['needs the proxy'].messages.length, 1, failed.tests['needs the proxy'].messages.join('\n'));
      assert.match(failed.tests['needs the proxy'].messages[0], startError);
    } else {
      assert.equal(failed.tests['needs the proxy'].status, 'skipped');
      assert.match(failed.message, startError);
    }
    const failedTests = Object.values(replay.results).flatMap((file) => Object.values(file.tests))
      .filter((t) => t.status === 'failed');
    assert.equal(failedTests.length, framework.failedInReplay, 'no other test failed');
    assert.doesNotMatch(replay.text, /TypeError|reading 'stop'/, 'no TypeError from the wiring\'s afterAll');
  });
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
