// Types of the cognito-vcr Node.js helper (index.js; frameworks.d.ts has its framework entries);
// hand-written, checked by test/types.test.js.

/** What the proxy does with each call. */
export type Mode = 'record' | 'replay' | 'auto' | 'passthrough';

export interface StartOptions {
  /** The JSON cassette (resolved against the current directory); else `COGNITO_VCR_CASSETTE`. Not needed in passthrough mode. */
  cassette?: string;
  /** Default: `COGNITO_VCR_MODE`, else `"replay"` (the proxy's own default). */
  mode?: Mode;
  /** `--strict`: in replay, past the last recorded occurrence is a miss; misses or unused interactions make exitCode 1. */
  strict?: boolean;
  /** `--upstream`: `aws` (the proxy's default) or a URL such as `http://127.0.0.1:5000`. */
  upstream?: string;
  /** The binary; default `COGNITO_VCR_BIN`, else this platform's package (`@cognito-vcr/linux-x64`...), else `cognito-vcr` on PATH. */
  bin?: string;
  /** More arguments for `cognito-vcr serve`, after those made from the options: `["--config", "vcr.toml"]`. */
  args?: string[];
  /** More environment variables for the proxy, on top of this process's and `NO_COLOR=1`; `undefined` unsets one. */
  env?: Record<string, string | undefined>;
  /** How long the proxy may take to print its `listening on` line; default 15000. */
  startTimeoutMs?: number;
  /** How long stop() waits for the proxy to exit after SIGTERM before killing it; default 30000. */
  stopTimeoutMs?: number;
}

/** `GET /summary`: the whole run so far. */
export interface RunSummary {
  mode: Mode;
  recorded: number;
  replayed: number;
  misses: number;
  forwarded: number;
  rejected: number;
  failed: number;
  /** Recorded interactions never replayed (replay), else null. */
  unused: number | null;
  strict: boolean;
  [field: string]: unknown;
}

/** `GET /scope/NAME/summary`: one scope since its last reset. */
export interface ScopeSummary {
  scope: string;
  hits: number;
  misses: number;
  recorded: number;
  forwarded: number;
  failed: number;
  /** The message of each miss, as the client got it. */
  miss_messages: string[];
  [field: string]: unknown;
}

/** What stop() resolves with: the run summary, how the proxy exited, its stderr summary line. */
export type StopSummary = Partial<RunSummary> & {
  /** 0, or 1 for a --strict run with misses or unused interactions; null for a proxy this process did not start (COGNITO_VCR_URL). */
  exitCode: 0 | 1 | null;
  /** `cognito-vcr replay: 0 recorded, 5 replayed, ...`; null when the proxy was not started here. */
  summaryLine: string | null;
};

/** What start() and stop() reject with when the proxy failed (promises are untyped: narrow with `"stderr" in err`). */
export interface ProxyError extends Error {
  /** The proxy's exit code (2: an error), or null when it did not exit by itself. */
  exitCode: number | null;
  /** The end of what the proxy printed on stderr. */
  stderr: string;
}

/** What checkScope() rejects with when the scope had misses: the message lists them all. */
export interface MissError extends Error {
  /** The scope's summary, miss_messages included. */
  summary: ScopeSummary;
}

export interface ResetAnswer {
  scope: string | null;
  reset: true;
}

export interface Proxy {
  /** `http://127.0.0.1:PORT`: the default scope. */
  readonly endpoint: string;
  /** The endpoint of scope `name`; any string is made a valid scope name (see scopeName). */
  scope(name: string): string;
  /** Start scope `name` (the default scope when omitted) over. */
  reset(name?: string): Promise<ResetAnswer>;
  /** The summary of scope `name` since its last reset, or of the whole run when omitted. */
  summary(): Promise<RunSummary>;
  summary(name: string): Promise<ScopeSummary>;
  /** The summary of scope `name`; rejects with a MissError naming it and listing every miss message when it had misses since its reset. */
  checkScope(name: string): Promise<ScopeSummary>;
  /** Stop the proxy (SIGTERM: the cassette is written) and resolve its summary. Rejects when it exits with an error (2). Calling it again returns the same promise. */
  stop(): Promise<StopSummary>;
}

/** Start `cognito-vcr serve`, or reuse the proxy COGNITO_VCR_URL names (then stop() leaves it running). */
export function start(options?: StartOptions): Promise<Proxy>;

/** A scope name the proxy accepts: `name` itself when it is 1..128 of `A-Za-z0-9._-`, else other characters as `_` plus a short hash. */
export function scopeName(name: string): string;

export interface ClientConfig {
  endpoint: string;
  region: 'us-east-1';
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Settings for an AWS SDK v3 client: the endpoint, a region and placeholder credentials. */
export function clientConfig(endpoint: string): ClientConfig;

/** One proxy for a test file and one scope per test, for a test framework's hooks (what `useCognitoVcr` registers). */
export interface TestScopes {
  /** Starts the proxy (once; later calls return the same promise). For beforeAll. */
  start(): Promise<Proxy>;
  /** Resets test `name`'s scope and makes it the running test. For beforeEach. */
  beforeTest(name: string): Promise<void>;
  /** Rejects with a MissError when test `name` missed; does nothing when no test began (start() rejected). For afterEach. */
  afterTest(name: string): Promise<ScopeSummary | undefined>;
  /** Stops the proxy; resolves undefined when start() was not called or rejected. For afterAll. */
  stop(): Promise<StopSummary | undefined>;
  /** The running proxy; throws (with the start error as `cause`) before it started. */
  readonly proxy: Proxy;
  /** The running test's scope endpoint, for clientConfig(); throws outside a test. */
  readonly endpoint: string;
  /** How long beforeAll and afterAll may take: start's and stop's timeouts plus 5 s. */
  readonly hookTimeoutMs: { readonly start: number; readonly stop: number };
}

/** The per-test wiring without a framework: call its methods from your framework's hooks (Mocha, say). */
export function testScopes(options?: StartOptions): TestScopes;
