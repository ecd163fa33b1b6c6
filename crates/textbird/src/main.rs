//! The `textbird` binary: command-line interface, wiring of store, engine, use cases and HTTP
//! front end, and graceful shutdown.

mod cli;
mod commands;
mod config_cmd;
mod metrics_help;
mod serve;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the hot path allocates many small, short-lived buffers (JSON, SQL arguments);
/// glibc's allocator spent a tenth of the CPU consolidating them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("textbird: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("textbird: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries command output such as credentials JSON); `RUST_LOG`
/// filters, `TEXTBIRD_LOG_FORMAT=json` switches to JSON lines.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,hyper=warn"));
    // Colour codes only on a terminal, never in log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if std::env::var("TEXTBIRD_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
