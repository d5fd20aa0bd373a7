// Start the cognito-vcr proxy from Node.js tests: spawn `cognito-vcr serve` (or reuse the proxy
// named by COGNITO_VCR_URL), hand out endpoints per scope, reset, summarize and check scopes, stop
// it; and testScopes(), the framework-neutral per-test wiring that jest.js, vitest.mjs and
// node-test.js register as hooks.
'use strict';

const { spawn } = require('node:child_process');
const { createHash } = require('node:crypto');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { binaryPath, platformPackage } = require('./binary.js');

const SAFE_SCOPE = /^[A-Za-z0-9._-]{1,128}$/;
const LISTENING = /^listening on (https?:\/\/\S+)$/;
const SUMMARY_LINE = /^cognito-vcr (record|replay|auto|passthrough): /;
const STDERR_KEPT = 256 * 1024;
const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 30000;
// What a framework's beforeAll / afterAll hook allows on top of start's and stop's own timeouts.
const HOOK_MARGIN_MS = 5000;

/** A scope name the proxy accepts, made from any string (a test's name, say). */
function scopeName(name) {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`cognito-vcr: a scope name is a non-empty string, not ${JSON.stringify(name)}`);
  }
  if (SAFE_SCOPE.test(name)) return name;
  const replaced = name.replace(/[^A-Za-z0-9._-]/gu, '_');
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${replaced.slice(0, 128 - hash.length - 1)}-${hash}`;
}

/** Settings for an AWS SDK v3 client that talks to the proxy at `endpoint`. */
function clientConfig(endpoint) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'cognito-vcr', secretAccessKey: 'cognito-vcr' },
  };
}

/** Start a proxy (or reuse the one COGNITO_VCR_URL names); resolves once it listens. */
async function start(options = {}) {
  const shared = process.env.COGNITO_VCR_URL;
  if (shared) return reuse(shared);
  return spawnProxy(options);
}

async function reuse(url) {
  let base;
  try {
    base = new URL(url);
  } catch {
    throw new Error(`cognito-vcr: COGNITO_VCR_URL=${url} is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`cognito-vcr: COGNITO_VCR_URL=${url} is not an http:// or https:// URL`);
  }
  const endpoint = url.replace(/\/+$/, '');
  try {
    await request('GET', `${endpoint}/summary`);
  } catch (err) {
    throw new Error(`cognito-vcr: the proxy at COGNITO_VCR_URL=${url} does not answer: ${err.message}`);
  }
  return handle(endpoint, async () => {
    const summary = await fetchSummary(endpoint, undefined).catch(() => null);
    return { ...summary, exitCode: null, summaryLine: null };
  });
}

function spawnProxy(options) {
  const {
    cassette,
    mode, // unset: the proxy's own default, COGNITO_VCR_MODE else replay
    strict = false,
    upstream,
    bin = binaryPath(),
    args = [],
    env,
    startTimeoutMs = START_TIMEOUT_MS,
    stopTimeoutMs = STOP_TIMEOUT_MS,
  } = options;
  const argv = ['serve'];
  if (mode) argv.push('--mode', mode);
  if (cassette) argv.push('--cassette', path.resolve(cassette));
  if (strict) argv.push('--strict');
  if (upstream) argv.push('--upstream', upstream);
  argv.push(...args);

  return new Promise((resolve, reject) => {
    const childEnv = { ...process.env, NO_COLOR: '1', ...env };
    for (const [name, value] of Object.entries(childEnv)) {
      if (value === undefined) delete childEnv[name]; // { env: { NAME: undefined } } unsets NAME
    }
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
    const stderr = keepTail(child.stderr);
    // 'close' comes once the proxy exited and its stderr is read to the end.
    const closed = new Promise((done) => {
      child.once('close', (code, signal) => done({ code, signal }));
    });
    let stdout = '';
    let settled = false;
    const fail = (message, exitCode = null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(proxyError(message, exitCode, stderr()));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`cognito-vcr: ${bin} printed no "listening on" line within ${startTimeoutMs} ms${said(stderr())}`);
    }, startTimeoutMs);

    child.once('error', (err) => {
      const why = err.code === 'ENOENT'
        ? `not found (install ${platformPackage()}, pass { bin }, set COGNITO_VCR_BIN, or put cognito-vcr on PATH)`
        : err.code === 'EACCES' ? 'not executable' : err.message;
      fail(`cognito-vcr: cannot start ${bin}: ${why}`);
    });
    closed.then(({ code, signal }) => {
      fail(`cognito-vcr: ${bin} exited (${signal || `code ${code}`}) before it was listening${said(stderr())}`, code);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', function firstLine(chunk) {
      stdout += chunk;
      const end = stdout.indexOf('\n');
      if (end < 0 || settled) return;
      child.stdout.off('data', firstLine);
      child.stdout.resume(); // later lines are not needed; keep the pipe drained
      const line = stdout.slice(0, end).trim();
      const found = LISTENING.exec(line);
      if (!found) {
        child.kill('SIGKILL');
        fail(`cognito-vcr: unexpected first line from ${bin}: ${JSON.stringify(line)}${said(stderr())}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(running(child, closed, found[1], stderr, stopTimeoutMs));
    });
  });
}

/** The handle of a proxy this process spawned. */
function running(child, exited, endpoint, stderr, stopTimeoutMs) {
  // While idle the proxy does not keep Node alive (a forgotten stop() must not hang the test
  // runner); it is stopped when Node exits.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  setRef(child, false);

  return handle(endpoint, async () => {
    setRef(child, true);
    try {
      const summary = await fetchSummary(endpoint, undefined).catch(() => null);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer;
      const late = new Promise((resolve) => {
        timer = setTimeout(resolve, stopTimeoutMs, 'late');
      });
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === 'late') {
        child.kill('SIGKILL');
        await exited;
        throw proxyError(`cognito-vcr: the proxy did not stop within ${stopTimeoutMs} ms of SIGTERM${said(stderr())}`, null, stderr());
      }
      const { code, signal } = outcome;
      const text = stderr();
      if (code !== 0 && code !== 1) {
        throw proxyError(`cognito-vcr: the proxy exited (${signal || `code ${code}`})${said(text)}`, code, text);
      }
      const summaryLine = lastLine(text, SUMMARY_LINE);
      return { ...(summary || parseSummaryLine(summaryLine)), exitCode: code, summaryLine };
    } finally {
      process.removeListener('exit', onExit);
      setRef(child, false);
    }
  });
}

/** What start() resolves with; `stopProxy` does the stopping once. */
function handle(endpoint, stopProxy) {
  let stopping;
  const scope = (name) => `${endpoint}/scope/${scopeName(name)}`;
  return {
    endpoint,
    scope,
    reset: async (name) => {
      const url = name === undefined ? `${endpoint}/reset` : `${scope(name)}/reset`;
      const answer = await request('POST', url);
      const body = parse(answer);
      if (answer.status !== 200 || !body || body.reset !== true) {
        throw new Error(`cognito-vcr: reset of ${describe(name)} failed: ${answer.status} ${answer.body}`);
      }
      return body;
    },
    summary: (name) => fetchSummary(endpoint, name),
    checkScope: async (name) => {
      scopeName(name); // a name is required: the default scope has no miss messages to give
      const summary = await fetchSummary(endpoint, name);
      if (summary.misses > 0) throw missError(name, summary);
      return summary;
    },
    stop: () => {
      if (!stopping) stopping = stopProxy();
      return stopping;
    },
  };
}

async function fetchSummary(endpoint, name) {
  const url = name === undefined ? `${endpoint}/summary` : `${endpoint}/scope/${scopeName(name)}/summary`;
  const answer = await request('GET', url);
  const body = parse(answer);
  if (answer.status !== 200 || !body) {
    const what = name === undefined ? 'the run' : describe(name);
    throw new Error(`cognito-vcr: summary of ${what} failed: ${answer.status} ${answer.body}`);
  }
  return body;
}

/** What checkScope() rejects with: the scope's misses, each with the message the client got. */
function missError(name, summary) {
  const { misses, scope } = summary;
  const messages = summary.miss_messages || [];
  const where = scope === name ? `scope ${scope}` : `${JSON.stringify(name)} (scope ${scope})`;
  const lines = [`cognito-vcr: ${misses} replay miss${misses === 1 ? '' : 'es'} in ${where}:`];
  for (const message of messages) lines.push(`  ${message}`);
  if (messages.length < misses) lines.push(`  (${misses - messages.length} more not listed)`);
  const error = Object.assign(new Error(lines.join('\n')), { summary });
  error.stack = `Error: ${error.message}`; // where in the helper it was made is of no use to the test
  return error;
}

/**
 * One proxy for a test file and one scope per test, for a test framework's hooks: start() in
 * beforeAll, beforeTest(name) in beforeEach (resets the test's scope), afterTest(name) in
 * afterEach (rejects with the miss messages when the test missed), stop() in afterAll. After a
 * start() that rejected, afterTest() and stop() do nothing, so the start error is the one the
 * framework reports.
 */
function testScopes(options = {}) {
  let starting; // start()'s promise, once called
  let proxy; // once started
  let startError; // once start() rejected
  let current; // the test that began (beforeTest resolved) and has not ended
  const notStarted = () => (startError
    ? Object.assign(new Error(`cognito-vcr: the proxy did not start: ${startError.message}`), { cause: startError })
    : new Error('cognito-vcr: the proxy is not started: call start() in beforeAll'));
  const started = async () => {
    if (starting) await starting.catch(() => {});
    if (!proxy) throw notStarted();
    return proxy;
  };
  return {
    hookTimeoutMs: {
      start: (options.startTimeoutMs ?? START_TIMEOUT_MS) + HOOK_MARGIN_MS,
      stop: (options.stopTimeoutMs ?? STOP_TIMEOUT_MS) + HOOK_MARGIN_MS,
    },
    start() {
      starting ??= start(options).then(
        (running) => { proxy = running; return running; },
        (err) => { startError = err; throw err; },
      );
      return starting;
    },
    async beforeTest(name) {
      current = undefined;
      await (await started()).reset(name);
      current = name;
    },
    async afterTest(name) {
      const began = current;
      current = undefined;
      // No test began: the proxy did not start or the reset failed, and the framework reports that.
      if (began === undefined) return undefined;
      if (began !== name) {
        throw new Error(`cognito-vcr: afterTest(${JSON.stringify(name)}) after beforeTest(${JSON.stringify(began)}): give both the same name`);
      }
      return proxy.checkScope(name);
    },
    async stop() {
      if (!starting) return undefined;
      const running = await starting.catch(() => null);
      return running ? running.stop() : undefined;
    },
    get proxy() {
      if (!proxy) throw notStarted();
      return proxy;
    },
    get endpoint() {
      if (current === undefined) {
        throw new Error('cognito-vcr: no test is running: endpoint is the running test\'s scope (outside a test, use proxy.scope(NAME))');
      }
      return proxy.scope(current);
    },
  };
}

/** The counts of a stderr summary line, for a proxy that does not serve GET /summary. */
function parseSummaryLine(line) {
  if (!line) return null;
  const summary = { mode: SUMMARY_LINE.exec(line)[1] };
  for (const [, n, what] of line.matchAll(/(\d+) (recorded|replayed|misses|forwarded|rejected|failed)\b/g)) {
    summary[what] = Number(n);
  }
  return summary;
}

function request(method, url) {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.request(url, { method, agent: false, headers: { 'content-length': 0 } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.setTimeout(10000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

function parse(answer) {
  try {
    return JSON.parse(answer.body);
  } catch {
    return null;
  }
}

function describe(name) {
  return name === undefined ? 'the default scope' : `scope ${JSON.stringify(name)}`;
}

/** Collect a stream's text, keeping its last STDERR_KEPT characters; returns a reader. */
function keepTail(stream) {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    text += chunk;
    if (text.length > 2 * STDERR_KEPT) text = text.slice(-STDERR_KEPT);
  });
  return () => text;
}

function lastLine(text, pattern) {
  const lines = text.split('\n').filter((line) => pattern.test(line));
  return lines.length ? lines[lines.length - 1] : null;
}

/** An Error that also carries the proxy's exit code (null: still running or killed) and stderr. */
function proxyError(message, exitCode, stderr) {
  return Object.assign(new Error(message), { exitCode, stderr });
}

function said(stderr) {
  const text = stderr.trim();
  return text ? `; it said:\n${text.slice(-4000)}` : ' (nothing on stderr)';
}

function setRef(child, on) {
  for (const target of [child, child.stdout, child.stderr]) {
    if (target) (on ? target.ref : target.unref).call(target);
  }
}

module.exports = { start, scopeName, clientConfig, testScopes };
