//! Command-line flags (clap derive, each with a `COGNITO_VCR_...` variable) and their conversion
//! into the library's validated configuration.

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

use cognito_vcr::{
    InterceptConfig, Limits, Mode, ServeConfig, Settings, TlsSource, TokenTimes,
    DEFAULT_BODY_BUDGET, DEFAULT_MAX_BODY,
};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "cognito-vcr",
    version,
    about = "Record and replay proxy for the Amazon Cognito user pools API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the proxy: record, replay, auto or passthrough.
    Serve(Box<ServeArgs>),
    /// Run a command (a test suite) against a proxy of its own: the endpoint variable set,
    /// signals passed on, the proxy stopped and summed up when it exits, its exit status.
    Run(Box<RunArgs>),
    /// Replay cassettes/demo.json on loopback and make an example call through it.
    Demo(DemoArgs),
    /// Write the cassette from its sled store (after an unclean stop, for instance); with
    /// --har, write the cassette (or one scope) as a HAR 1.2 file instead.
    Export(ExportArgs),
    /// Record the Cognito calls of a HAR file (browser devtools, Playwright, mitmproxy) into a
    /// cassette as a recording would (secrets hashed, tokens as placeholders); says what it
    /// skipped (exit 1 when nothing was imported).
    Import(ImportArgs),
    /// Per operation, what a cassette holds.
    Ls(CassetteArg),
    /// The interactions of a cassette, request and answer.
    Show(ShowArgs),
    /// What changed between two recordings (exit 0 same, 1 different, 2 error).
    Diff(DiffArgs),
    /// Exit 1 if a cassette holds anything that looks like a live credential (a CI gate).
    Lint(LintArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page, or write one per command into a directory.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write cognito-vcr.1 and a page per command (cognito-vcr-serve.1...) here instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The cassette files, or directories to search for `.json` cassettes.
    #[arg(required = true)]
    pub cassettes: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier recording.
    pub old: PathBuf,
    /// The later recording (not with --live).
    #[arg(required_unless_present = "live", conflicts_with = "live")]
    pub new: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// Leave out changes whose path matches this glob (`*Date`, `Users.*.Enabled`); repeatable.
    #[arg(long = "ignore", value_name = "GLOB")]
    pub ignore: Vec<String>,
    /// Ignore nothing: placeholders and pagination tokens are compared too.
    #[arg(long)]
    pub strict: bool,
    /// Re-send OLD's read-only requests to --upstream and compare the answers to OLD.
    #[arg(long, requires = "upstream")]
    pub live: bool,
    /// The upstream for --live.
    #[arg(long, env = "COGNITO_VCR_UPSTREAM")]
    pub upstream: Option<String>,
    /// Config file (TOML), as for `serve`.
    #[arg(long, env = "COGNITO_VCR_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RecordLatencyArg {
    Aws,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TokenTimesArg {
    Recorded,
    Now,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Record,
    Replay,
    Auto,
    Passthrough,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Record => Mode::Record,
            ModeArg::Replay => Mode::Replay,
            ModeArg::Auto => Mode::Auto,
            ModeArg::Passthrough => Mode::Passthrough,
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// What to do with each call.
    #[arg(long, value_enum, env = "COGNITO_VCR_MODE", default_value = "replay")]
    pub mode: ModeArg,
    /// The JSON cassette to replay from or record into (not needed in passthrough mode).
    #[arg(long, env = "COGNITO_VCR_CASSETTE")]
    pub cassette: Option<PathBuf>,
    /// Where calls go in record, auto and passthrough modes: `aws` (the default: the real
    /// Cognito of each call's region, re-signed) or a URL such as http://127.0.0.1:5000.
    #[arg(long, env = "COGNITO_VCR_UPSTREAM")]
    pub upstream: Option<String>,
    /// Region of calls towards AWS that name none (default: AWS_REGION).
    #[arg(long, env = "COGNITO_VCR_REGION")]
    pub region: Option<String>,
    /// More CAs (PEM) to trust for an https upstream.
    #[arg(long, env = "COGNITO_VCR_UPSTREAM_CA")]
    pub upstream_ca: Option<PathBuf>,
    /// Recording from AWS: the user pool's domain, where its OAuth2 endpoints (/oauth2/token,
    /// userInfo, revoke, authorize) are: https://<prefix>.auth.<region>.amazoncognito.com or a
    /// custom domain. A URL --upstream serves those paths itself.
    #[arg(long, value_name = "URL", env = "COGNITO_VCR_OAUTH_DOMAIN")]
    pub oauth_domain: Option<String>,
    /// Re-sign calls (SigV4, standard AWS credentials) towards a non-AWS upstream too.
    #[arg(long, env = "COGNITO_VCR_RESIGN", value_parser = BoolishValueParser::new())]
    pub resign: bool,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "COGNITO_VCR_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_auto"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "COGNITO_VCR_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve TLS with a local CA and leaf made once in --state-dir (the CA path is printed).
    #[arg(long, env = "COGNITO_VCR_TLS_AUTO", value_parser = BoolishValueParser::new())]
    pub tls_auto: bool,
    /// Where the local CA and the JWT signing key live (default: $XDG_STATE_HOME/cognito-vcr,
    /// else ~/.local/state/cognito-vcr).
    #[arg(long, env = "COGNITO_VCR_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Also be an HTTPS_PROXY: intercept CONNECT to cognito-idp.<region>.amazonaws.com:443
    /// (clients trust the CA in --state-dir through AWS_CA_BUNDLE), refuse other hosts.
    #[arg(long, env = "COGNITO_VCR_INTERCEPT", value_parser = BoolishValueParser::new())]
    pub intercept: bool,
    /// With --intercept: tunnel CONNECT to this host:port without interception (repeatable).
    #[arg(long = "allow-host", value_name = "HOST:PORT", requires = "intercept")]
    pub allow_host: Vec<String>,
    /// With --intercept: send intercepted calls to this URL instead of their real host.
    #[arg(long, env = "COGNITO_VCR_INTERCEPT_UPSTREAM", requires = "intercept")]
    pub intercept_upstream: Option<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "COGNITO_VCR_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// A host name clients use for this proxy besides loopback names and its own address (when
    /// it listens beyond loopback, e.g. `host.docker.internal`); repeatable. Requests naming
    /// any other host, or coming from a web page, are refused.
    #[arg(long = "host-name", value_name = "NAME")]
    pub host_names: Vec<String>,
    /// The sled store directory (default: .cognito-vcr/NAME.sled beside the cassette).
    #[arg(long, env = "COGNITO_VCR_STORE")]
    pub store: Option<PathBuf>,
    /// Replay: a request asked for more often than it was recorded, when its recorded answers
    /// differ, is a miss (one answer recorded, or several the same, serves every call); misses,
    /// or recorded interactions the run never replayed, make the exit code 1. Its variable, as
    /// every on/off flag's, takes true/1/yes/on or false/0/no/off.
    #[arg(long, env = "COGNITO_VCR_STRICT", value_parser = BoolishValueParser::new())]
    pub strict: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "COGNITO_VCR_MAX_BODY", default_value_t = DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Seconds a client has to send a request's headers, from its connection or its last
    /// answer (so also how long an idle keep-alive connection stays open).
    #[arg(long, env = "COGNITO_VCR_HEADER_TIMEOUT", value_name = "SECS", default_value = "20", value_parser = seconds)]
    pub header_timeout: Duration,
    /// Seconds a client has to send a request's body once its headers arrived.
    #[arg(long, env = "COGNITO_VCR_BODY_TIMEOUT", value_name = "SECS", default_value = "30", value_parser = seconds)]
    pub body_timeout: Duration,
    /// Request bodies held in memory at once, over every connection and HTTP/2 stream, in bytes;
    /// past it a request waits (for the body timeout at most, then a 503).
    #[arg(long, env = "COGNITO_VCR_BODY_BUDGET", default_value_t = DEFAULT_BODY_BUDGET, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..))]
    pub body_budget: usize,
    /// Connections open at once; more wait to be accepted (keep it under `ulimit -n`).
    #[arg(long, env = "COGNITO_VCR_MAX_CONNECTIONS", default_value = "512", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds one upstream call may take (a 504 after that).
    #[arg(long, env = "COGNITO_VCR_UPSTREAM_TIMEOUT", value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub upstream_timeout: Duration,
    /// Replay: answer a listing not recorded at the page size asked for with a miss, instead of
    /// pages cut from the same listing recorded at another size (always a miss with --strict).
    #[arg(long, env = "COGNITO_VCR_NO_REPAGE", value_parser = BoolishValueParser::new())]
    pub no_repage: bool,
    /// Replay and auto: hand out placeholder JWTs unsigned (by default they are signed with a key
    /// in --state-dir, whose JWKS is served at /<UserPoolId>/.well-known/jwks.json).
    #[arg(long, env = "COGNITO_VCR_UNSIGNED_TOKENS", value_parser = BoolishValueParser::new())]
    pub unsigned_tokens: bool,
    /// The iat / auth_time / exp of signed tokens: as recorded (2023 to 2100), or now (valid
    /// for an hour, for apps that reject an old iat).
    #[arg(
        long,
        env = "COGNITO_VCR_TOKEN_TIMES",
        value_enum,
        default_value = "recorded"
    )]
    pub token_times: TokenTimesArg,
    /// Also record upstream 5xx and TooManyRequestsException answers.
    #[arg(long, env = "COGNITO_VCR_RECORD_SERVER_ERRORS", value_parser = BoolishValueParser::new())]
    pub record_server_errors: bool,
    /// Config file (TOML): ignored fields, extra secrets, injected faults (default:
    /// cognito-vcr.toml beside the cassette, if present).
    #[arg(long, env = "COGNITO_VCR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Replay: warn of scopes recorded longer ago than this (`90d`, `12w`), naming them and the
    /// command that re-records them; with --strict, refuse to start. Record: an unchanged scope
    /// older than this is dated today. Overrides the config file's `max_age`.
    #[arg(long, env = "COGNITO_VCR_MAX_AGE", value_name = "AGE", value_parser = cognito_vcr::parse_max_age)]
    pub max_age: Option<Duration>,
    /// Replay and auto: answer from the recording at once (`none`, the default), after the
    /// upstream's recorded latency (`recorded`), or after that times a factor (`0.5`, `3`).
    /// Injected delays come on top.
    #[arg(long, env = "COGNITO_VCR_LATENCY", value_name = "recorded|none|FACTOR", value_parser = cognito_vcr::Latency::parse)]
    pub latency: Option<cognito_vcr::Latency>,
    /// Record and auto: keep how long each call took (its class, 50/100/200/500 ms..., for
    /// `--latency recorded`) from the real Cognito only (`aws`, the default), from any upstream
    /// (`always`), or never.
    #[arg(long, env = "COGNITO_VCR_RECORD_LATENCY", value_name = "WHEN", value_enum, default_value_t = RecordLatencyArg::Aws)]
    pub record_latency: RecordLatencyArg,
}

impl ServeArgs {
    /// Validate into the library's configuration.
    pub fn into_config(self) -> Result<ServeConfig, String> {
        let mode = Mode::from(self.mode);
        let cassette = match (self.cassette, mode) {
            (Some(c), _) => c,
            (None, Mode::Passthrough) => PathBuf::new(),
            (None, m) => return Err(format!("--cassette is required in {} mode", m.as_str())),
        };
        let mut config = ServeConfig::new(mode, cassette);
        config.upstream = self.upstream;
        config.listen = self.listen;
        config.host_names = self.host_names;
        config.store = self.store;
        config.strict = self.strict;
        config.max_body = self.max_body;
        config.limits = Limits {
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections as usize,
            upstream_timeout: self.upstream_timeout,
            body_budget: self.body_budget,
            ..Limits::default()
        };
        config.record_server_errors = self.record_server_errors;
        config.region = self.region.or_else(|| std::env::var("AWS_REGION").ok());
        config.upstream_ca = self.upstream_ca;
        config.oauth_domain = match self.oauth_domain {
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                return Err(format!(
                    "--oauth-domain {url:?}: give the domain's URL, https://<prefix>.auth.<region>.amazoncognito.com or the custom domain's"
                ))
            }
            url => url,
        };
        config.resign = self.resign;
        let state_dir = self
            .state_dir
            .unwrap_or_else(cognito_vcr::default_state_dir);
        config.repage = !self.no_repage;
        config.token_keys = (!self.unsigned_tokens).then(|| state_dir.clone());
        config.token_times = match self.token_times {
            TokenTimesArg::Recorded => TokenTimes::Recorded,
            TokenTimesArg::Now => TokenTimes::Now,
        };
        config.intercept = self.intercept.then(|| InterceptConfig {
            ca_dir: state_dir.clone(),
            allow: self.allow_host,
            upstream: self.intercept_upstream,
        });
        config.tls = match (self.tls_cert, self.tls_key, self.tls_auto) {
            (Some(cert), Some(key), _) => Some(TlsSource::Files { cert, key }),
            (_, _, true) => Some(TlsSource::Auto { dir: state_dir }),
            _ => None,
        };
        config.settings =
            Settings::load(self.config.as_deref(), &config.cassette).map_err(|e| e.to_string())?;
        config.max_age = self.max_age.or(config.settings.max_age);
        config.latency = self.latency.unwrap_or_default();
        config.record_latency = match self.record_latency {
            RecordLatencyArg::Aws => None,
            RecordLatencyArg::Always => Some(true),
            RecordLatencyArg::Never => Some(false),
        };
        Ok(config)
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The cassette to serve.
    #[arg(
        long,
        env = "COGNITO_VCR_CASSETTE",
        default_value = "cassettes/demo.json"
    )]
    pub cassette: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "COGNITO_VCR_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Exit after the example call instead of serving until Ctrl-C.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The cassette: written from its store, or with --har read and written out as HAR.
    #[arg(long, env = "COGNITO_VCR_CASSETTE")]
    pub cassette: PathBuf,
    /// The sled store directory (default: .cognito-vcr/NAME.sled beside the cassette).
    #[arg(long, env = "COGNITO_VCR_STORE")]
    pub store: Option<PathBuf>,
    /// Config file (TOML), as for `serve`.
    #[arg(long, env = "COGNITO_VCR_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Write the cassette as HAR 1.2 to FILE (`-`: standard output), one entry per interaction
    /// in cassette order, secrets as stored; the cassette itself is left as it is.
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// With --har: only this scope's interactions (default: every scope).
    #[arg(long, value_name = "NAME", requires = "har")]
    pub scope: Option<String>,
    /// With --har: the scheme and host of the entries' URLs (a named scope's calls go to
    /// BASE/scope/NAME, as the proxy serves them).
    #[arg(long, value_name = "BASE", default_value = "http://localhost")]
    pub base_url: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The HAR file to read (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub har: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Record into this scope (default: the one each entry's URL names, /scope/NAME, else the
    /// default scope).
    #[arg(long, value_name = "NAME")]
    pub scope: Option<String>,
    /// Also record 5xx and TooManyRequestsException answers.
    #[arg(long, env = "COGNITO_VCR_RECORD_SERVER_ERRORS")]
    pub record_server_errors: bool,
}

#[derive(Debug, Args)]
pub struct CassetteArg {
    /// The cassette file.
    pub cassette: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The cassette file.
    pub cassette: PathBuf,
    /// Only this operation, e.g. ListUsers.
    #[arg(long)]
    pub operation: Option<String>,
}

/// A duration in seconds (`2`, `0.5`), above 0 and at most a day.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds above 0 and at most 86400"
        )),
    }
}
