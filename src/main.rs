//! The `cognito-vcr` binary: parse flags, set up logging, dispatch to the library, exit codes.

use anyhow::Context;
use clap::Parser;
use cognito_vcr::cli::{Cli, Command};
use cognito_vcr::{cassette, inspect, store::Store, Proxy};
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
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config().map_err(anyhow::Error::msg)?;
            runtime()?.block_on(async {
                let proxy = Proxy::start(config).await?;
                println!("listening on {}", proxy.url());
                shutdown_signal().await;
                let summary = proxy.stop().await?;
                eprintln!("{summary}");
                Ok(exit_code(summary.is_failure()))
            })
        }
        Command::Demo(args) => runtime()?.block_on(async {
            let summary =
                cognito_vcr::demo::run(&args.cassette, args.listen, args.once, shutdown_signal())
                    .await?;
            eprintln!("{summary}");
            Ok(ExitCode::SUCCESS)
        }),
        Command::Export(args) => {
            let dir = args
                .store
                .unwrap_or_else(|| cognito_vcr::config::default_store(&args.cassette));
            let (store, _) = Store::open(&args.cassette, &dir)?;
            let n = store.export()?;
            println!("wrote {n} interactions to {}", args.cassette.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ls(args) => {
            print!("{}", inspect::list(&load(&args.cassette)?));
            Ok(ExitCode::SUCCESS)
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

fn load(path: &std::path::Path) -> anyhow::Result<Vec<cassette::Interaction>> {
    cassette::load(path)?.with_context(|| format!("cassette {} does not exist", path.display()))
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

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
