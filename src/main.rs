//! The `hrsync` binary: parse the command line, set up logging, run the command, and turn
//! its outcome into the exit codes of SPEC §2.

use std::process::ExitCode;

use clap::Parser;
use hrsync::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hrsync: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // `plan --detailed-exitcode` keeps 2 for "changes pending", so every error is 1 there,
    // as scripts written for that convention expect.
    let detailed = matches!(&cli.command, hrsync::cli::Command::Plan(a) if a.detailed_exitcode);
    match runtime.block_on(hrsync::commands::dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hrsync: error: {e:#}");
            ExitCode::from(if detailed { 1 } else { e.exit_code() })
        }
    }
}

fn init_tracing(cli: &Cli) {
    // The demo prints its own story; its logs would drown it.
    let base: i16 = if matches!(cli.command, hrsync::cli::Command::Demo) {
        -1
    } else {
        0
    };
    let level = match base + i16::from(cli.verbose) - i16::from(cli.quiet) {
        i16::MIN..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("HRSYNC_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},hyper=warn,reqwest=warn,h2=warn")));
    // Colour only for a terminal: journald and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
