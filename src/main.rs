//! The `cognito-vcr` binary: parse flags, set up logging, dispatch to the library, exit codes.

mod cli;
mod progress;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command, DiffArgs, DiffFormat, ExportArgs};
use cognito_vcr::commands::inspect;
use cognito_vcr::{cassette, Proxy, Settings};
use progress::Progress;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cognito-vcr: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Whether `--mode` was given as a flag (CI needs upstream modes asked for explicitly).
    let mode_flag = match matches.subcommand() {
        Some(("serve" | "run", m)) => {
            m.value_source("mode") == Some(clap::parser::ValueSource::CommandLine)
        }
        _ => false,
    };
    // One line per exchange is what `serve` and `demo` are for; elsewhere (`run` included,
    // whose stderr is the test suite's) only problems.
    let default_level = match cli.command {
        Command::Serve(_) | Command::Demo(_) => "info",
        _ => "warn",
    };
    // Log lines go to stderr from a thread of their own: a slow or unread stderr (a pipe nobody
    // drains in CI) costs lines, never an exchange's time. The guard flushes them at exit.
    let (stderr, _flush_at_exit) = tracing_appender::non_blocking(std::io::stderr());
    // The AWS SDK's credential and region chain warns of every source it tried (IMDS four
    // times over on a laptop) before our own error says what is missing: its lines only when
    // asked for with RUST_LOG.
    let default_filter =
        format!("{default_level},aws_config=error,aws_runtime=error,aws_smithy_runtime=error");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(stderr)
        .init();
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config().map_err(anyhow::Error::msg)?;
            check_ci(&config, mode_flag)?;
            let intercept_ca = config
                .intercept
                .as_ref()
                .map(|i| cognito_vcr::tls::LocalCa::cert_path_in(&i.ca_dir));
            let cassette = config.cassette.clone();
            runtime()?.block_on(async {
                let proxy = Proxy::start(config).await?;
                let stop = shutdown_signal()?;
                println!("listening on {}", proxy.url());
                if let Some(ca) = proxy.ca().or(intercept_ca.as_deref()) {
                    println!(
                        "CA certificate: {} (clients: AWS_CA_BUNDLE={0})",
                        ca.display()
                    );
                }
                stop.await;
                let summary = proxy.stop().await?;
                eprintln!("{summary}");
                if summary.exported.is_some() {
                    lint_written(&cassette);
                }
                Ok(exit_code(summary.is_failure()))
            })
        }
        Command::Run(args) => {
            let config = args.serve.into_config().map_err(anyhow::Error::msg)?;
            check_ci(&config, mode_flag)?;
            let cassette = config.cassette.clone();
            let finished = runtime()?.block_on(cognito_vcr::commands::run::run(
                config,
                &args.command,
                |proxy| {
                    eprintln!("cognito-vcr run: serving on {}", proxy.url());
                },
            ))?;
            eprintln!("{}", finished.summary);
            if finished.summary.exported.is_some() {
                lint_written(&cassette);
            }
            Ok(ExitCode::from(finished.exit_code()))
        }
        Command::Completions(args) => {
            let mut command = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "cognito-vcr", &mut script);
            write_stdout(&script).context("cannot write the completion script")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => {
            match args.out_dir {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    clap_mangen::generate_to(Cli::command(), &dir).with_context(|| {
                        format!("cannot write man pages into {}", dir.display())
                    })?;
                    println!("man pages written into {}", dir.display());
                }
                None => {
                    let mut page = Vec::new();
                    clap_mangen::Man::new(Cli::command())
                        .render(&mut page)
                        .context("cannot render the man page")?;
                    write_stdout(&page).context("cannot write the man page")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => runtime()?.block_on(async {
            let stop = shutdown_signal()?;
            let state = cognito_vcr::default_state_dir();
            let cassette =
                cognito_vcr::commands::demo::cassette_or_shipped(&args.cassette, &state)?;
            cognito_vcr::commands::demo::run(&cassette, args.listen, args.once, stop).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Export(args) => export(args),
        Command::Import(args) => {
            use cognito_vcr::commands::har;
            let store = args.store;
            let dir = store
                .store
                .unwrap_or_else(|| cognito_vcr::default_store(&store.cassette));
            let settings = Settings::load(store.config.as_deref(), &store.cassette)?;
            let options = har::ImportOptions {
                scope: scope(args.scope.as_deref())?,
                record_server_errors: args.record_server_errors,
            };
            let imported = runtime()?.block_on(har::import(
                &args.har,
                &store.cassette,
                &dir,
                &settings,
                &options,
            ))?;
            print!("{imported}");
            if imported.written.is_some() {
                lint_written(&store.cassette);
            }
            Ok(exit_code(imported.count() == 0))
        }
        Command::Ls(args) => {
            let interactions = load(&args.cassette)?;
            let dates = cassette::dates::read_file(&args.cassette)?;
            let today = cassette::dates::now();
            print!("{}", inspect::list(&interactions, &dates, today));
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff(args) => diff(args),
        Command::Lint(args) => {
            let files = lint_targets(&args.cassettes)?;
            let mut findings = 0;
            for cassette in &files {
                let text = std::fs::read_to_string(cassette)
                    .with_context(|| format!("cannot read {}", cassette.display()))?;
                let interactions = load(cassette)?;
                let (found, by_line) = cognito_vcr::commands::lint::lint_file(&text, &interactions);
                for finding in &found {
                    println!("{}: {finding}", cassette.display());
                }
                for finding in &by_line {
                    println!("{}: {finding}", cassette.display());
                }
                findings += found.len() + by_line.len();
            }
            match findings {
                0 => println!(
                    "{} cassette(s): nothing that looks like a live credential",
                    files.len()
                ),
                n => eprintln!("cognito-vcr lint: {n} value(s) look like live credentials"),
            }
            Ok(exit_code(findings > 0))
        }
        Command::Show(args) => {
            let interactions = load(&args.cassette)?;
            print!(
                "{}",
                inspect::show(&interactions, args.operation.as_deref())
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `export`: the cassette from its store, or with --har the cassette as a HAR file.
fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = args.store;
    let dir = store
        .store
        .unwrap_or_else(|| cognito_vcr::default_store(&store.cassette));
    let settings = Settings::load(store.config.as_deref(), &store.cassette)?;
    let Some(har) = args.har else {
        let n = cognito_vcr::commands::export(&store.cassette, &dir, &settings)?;
        println!("wrote {n} interactions to {}", store.cassette.display());
        return Ok(ExitCode::SUCCESS);
    };
    let options = cognito_vcr::commands::har::ExportOptions {
        scope: scope(args.scope.as_deref())?,
        base_url: args.base_url,
    };
    let n = cognito_vcr::commands::har::export(&store.cassette, &dir, &settings, &options, &har)?;
    // On stdout the HAR itself is the output.
    if har != std::path::Path::new("-") {
        println!("wrote {n} entries to {}", har.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--scope` flag's scope, checked.
fn scope(name: Option<&str>) -> anyhow::Result<Option<cassette::Scope>> {
    name.map(|n| cassette::Scope::named(n).map_err(|e| anyhow::anyhow!("--scope: {e}")))
        .transpose()
}

fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    use cognito_vcr::commands::diff::{self, live, render, Ignore};
    use std::io::IsTerminal;
    let settings = Settings::load(args.config.as_deref(), &args.old)?;
    let progress = Progress::start(std::io::stderr().is_terminal());
    progress.phase("reading OLD");
    let mut old = load(&args.old)?;
    diff::aliased(&mut old, &settings.aliases);
    let ignore = Ignore {
        globs: args.ignore,
        strict: args.strict,
    };
    let report = match (&args.new, &args.upstream) {
        (Some(new), _) => {
            progress.phase("reading NEW");
            let mut new = load(new)?;
            diff::aliased(&mut new, &settings.aliases);
            progress.phase("comparing");
            diff::diff(&old, &new, &settings.rules, &ignore)
        }
        (None, Some(upstream)) => {
            let (checkable, skipped) = live::checkable(&old);
            progress.phase("re-sending read-only requests");
            let now = runtime()?.block_on(live::record(&checkable, upstream, &settings))?;
            progress.phase("comparing");
            let mut report = diff::diff(&checkable, &now, &settings.rules, &ignore);
            report.skipped = skipped;
            report
        }
        (None, None) => anyhow::bail!("give NEW, or --live with --upstream"),
    };
    drop(progress);
    match args.format {
        DiffFormat::Text => print!("{}", render::text(&report, std::io::stdout().is_terminal())),
        DiffFormat::Json => println!("{:#}", render::json(&report)),
    }
    Ok(exit_code(!report.is_equal()))
}

/// `lint`'s checks on a cassette this run wrote: redaction should leave nothing that looks like
/// a live credential, and if something does (a secret field it does not know), say so now.
fn lint_written(cassette: &std::path::Path) {
    let Ok(text) = std::fs::read_to_string(cassette) else {
        return;
    };
    let Ok(interactions) = load(cassette) else {
        return;
    };
    let (found, by_line) = cognito_vcr::commands::lint::lint_file(&text, &interactions);
    let n = found.len() + by_line.len();
    if n > 0 {
        eprintln!(
            "cognito-vcr: warning: the cassette written, {}, holds {n} value(s) that look like live credentials: `cognito-vcr lint {0}` names them; add their fields to [secrets] in the config file and record again",
            cassette.display()
        );
    }
}

/// The cassettes `lint` reads: each file given, and the `.json` files under each directory
/// given (in name order).
fn lint_targets(given: &[std::path::PathBuf]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.file_name().is_some_and(|n| n == ".cognito-vcr") {
                continue;
            }
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in given {
        match path.is_dir() {
            true => walk(path, &mut out)?,
            false => out.push(path.clone()),
        }
    }
    Ok(out)
}

/// Write `bytes` to stdout; a reader that closed it (`| head`) ends the output quietly, as Unix
/// tools do.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        done => done,
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Vec<cassette::Interaction>> {
    cassette::load(path)?.with_context(|| format!("cassette {} does not exist", path.display()))
}

/// CI runs replay unless an upstream mode is asked for on the command line.
fn check_ci(config: &cognito_vcr::ServeConfig, mode_flag: bool) -> anyhow::Result<()> {
    let ci = std::env::var("CI").ok();
    cognito_vcr::check_ci(config.mode, mode_flag, ci.as_deref()).map_err(anyhow::Error::msg)
}

fn exit_code(failure: bool) -> ExitCode {
    if failure {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// SIGINT (Ctrl-C) or SIGTERM. The handlers are installed at once, so a signal that arrives
/// right after the address is printed is not lost; the returned future completes on the first.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
