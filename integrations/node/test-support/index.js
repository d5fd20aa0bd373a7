// Shared by the tests: moto on 127.0.0.1:0, temporary directories, and the sessions the tests
// record and replay with the AWS SDK for JavaScript v3. (Outside test/ so that `node --test test/`
// does not take it for a test file.)
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

// The SDK's notice that its 2027 releases need Node 22 is noise in these tests' output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const {
  AdminCreateUserCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolCommand,
  ListUsersCommand,
  paginateListUsers,
} = require('@aws-sdk/client-cognito-identity-provider');
const { clientConfig } = require('..');

const repo = path.resolve(__dirname, '../../..');

/** For a test file: the proxy's settings come from its tests alone, not from the shell. */
function isolateFromShell() {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('COGNITO_VCR_') && name !== 'COGNITO_VCR_BIN' && name !== 'COGNITO_VCR_PYTHON') {
      delete process.env[name];
    }
  }
}

/** moto's Python: COGNITO_VCR_PYTHON, else the venv .ci/setup-python makes. */
function python() {
  const py = process.env.COGNITO_VCR_PYTHON || path.join(repo, 'target/interop-venv/bin/python');
  if (!fs.existsSync(py)) {
    throw new Error(`${py} not found: run \`bash .ci/test\` (or .ci/setup-python) once, or set COGNITO_VCR_PYTHON`);
  }
  return py;
}

/** moto on a free port of 127.0.0.1; `stop()` closes its stdin and waits for its exit. */
function startMoto() {
  const child = spawn(python(), [path.join(repo, 'tests/interop/moto_server.py')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const closed = new Promise((resolve) => child.once('close', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    closed.then((code) => reject(new Error(`moto exited (${code}) before listening: ${stderr}`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', function first(chunk) {
      out += chunk;
      const end = out.indexOf('\n');
      if (end < 0) return;
      child.stdout.off('data', first);
      child.stdout.resume();
      const url = out.slice(0, end).trim().replace(/^listening on /, '');
      // Like the helper's proxy: a test that times out must not leave moto holding Node open.
      const kill = () => child.kill();
      process.once('exit', kill);
      for (const handle of [child, child.stdin, child.stdout, child.stderr]) handle.unref();
      resolve({
        url,
        async stop() {
          process.removeListener('exit', kill);
          child.ref();
          child.stdin.end();
          const code = await closed;
          if (code !== 0) throw new Error(`moto exited with ${code}: ${stderr}`);
        },
      });
    });
  });
}

/** A fresh directory, removed when the process exits. */
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cognito-vcr-node-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A stand-in upstream: every call answers 200 `body` (`{"Users":[]}`); `calls` counts them. */
async function fakeUpstream(body = '{"Users":[]}') {
  const upstream = { calls: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    upstream.calls += 1;
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${server.address().port}`;
  upstream.close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });
  return upstream;
}

/** An executable shell script in `dir`. */
function script(dir, name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${text}\n`, { mode: 0o755 });
  return file;
}

function client(endpoint) {
  return new CognitoIdentityProviderClient({ ...clientConfig(endpoint), maxAttempts: 1 });
}

const USERS = ['ana', 'ben', 'cyd', 'dee', 'eve'];

/** A pool, five users, then ListUsers by the SDK's paginator in pages of 2. */
async function poolSession(endpoint) {
  const cognito = client(endpoint);
  try {
    const { UserPool } = await cognito.send(new CreateUserPoolCommand({ PoolName: 'node-helper' }));
    for (const name of USERS) {
      await cognito.send(new AdminCreateUserCommand({
        UserPoolId: UserPool.Id,
        Username: name,
        MessageAction: 'SUPPRESS',
        UserAttributes: [{ Name: 'email', Value: `${name}@example.com` }],
      }));
    }
    const pages = [];
    for await (const page of paginateListUsers({ client: cognito, pageSize: 2 }, { UserPoolId: UserPool.Id })) {
      pages.push(page.Users.map((user) => user.Username));
    }
    return { poolId: UserPool.Id, pages };
  } finally {
    cognito.destroy();
  }
}

/** List the pool's users, create `newcomer`, list again: answers that differ, in order. */
async function listCreateList(endpoint, poolId, newcomer) {
  const cognito = client(endpoint);
  const list = async () => {
    const { Users } = await cognito.send(new ListUsersCommand({ UserPoolId: poolId }));
    return Users.map((user) => user.Username);
  };
  try {
    const before = await list();
    await cognito.send(new AdminCreateUserCommand({ UserPoolId: poolId, Username: newcomer, MessageAction: 'SUPPRESS' }));
    return { before, after: await list() };
  } finally {
    cognito.destroy();
  }
}

module.exports = { repo, isolateFromShell, python, startMoto, tempDir, fakeUpstream, script, client, poolSession, listCreateList, USERS };
