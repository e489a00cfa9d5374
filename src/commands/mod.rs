//! One file per subcommand; [`dispatch`] runs the one the command line names.

mod access;
mod apply;
mod audit;
mod check;
mod completions;
mod demo;
mod plan;
mod resync;
mod run;
mod sandbox;
pub mod status;

use crate::cli::{Cli, Command, LogFormat};
use crate::config::{self, LoadOptions, Settings};
use crate::error::{CommandError, CommandResult};

/// Runs the command.
pub async fn dispatch(cli: Cli) -> CommandResult {
    match cli.command {
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Demo => demo::run().await,
        Command::Completions(args) => completions::completions(args.shell),
        Command::Man(args) => completions::man(&args.dir),
        Command::Check => {
            let settings = load(&cli.config)?;
            // A template reading a field no source provides is a config error (exit 2), as
            // it is for `plan` and `apply`.
            crate::engine::check_template_fields(&settings).await?;
            check::run(&settings).await
        }
        Command::Plan(args) => {
            // Only reads of apps' accounts show progress in a plan.
            show_progress(cli.quiet, cli.log_format);
            plan::run(&load(&cli.config)?, args).await
        }
        Command::Apply(args) => {
            show_progress(cli.quiet, cli.log_format);
            apply::run(&load(&cli.config)?, args).await
        }
        Command::Run => {
            show_progress(cli.quiet, cli.log_format);
            run::run(cli.config.clone(), load(&cli.config)?).await
        }
        Command::Resync(args) => {
            show_progress(cli.quiet, cli.log_format);
            resync::run(&load(&cli.config)?, args).await
        }
        Command::Status(args) => status::run(&load(&cli.config)?, args).await,
        Command::Audit(args) => audit::run(&load(&cli.config)?, args).await,
        Command::Access(args) => access::run(&load(&cli.config)?, args).await,
    }
}

/// Turns on the progress of executing commands: bars on a terminal unless `-q` or JSON
/// logs, periodic log lines otherwise.
fn show_progress(quiet: u8, logs: LogFormat) {
    crate::progress::init(quiet > 0, logs == LogFormat::Text);
}

/// Loads and validates the config; errors exit 2 before anything is touched.
pub fn load(path: &std::path::Path) -> Result<Settings, CommandError> {
    Ok(config::load(path, &LoadOptions::default())?)
}

/// Keeps only the named apps (all when empty); unknown names are a usage error.
pub fn select_apps(settings: &Settings, names: &[String]) -> Result<Vec<String>, CommandError> {
    for n in names {
        if settings.app(n).is_none() {
            let known: Vec<&str> = settings.apps.iter().map(|a| a.name.as_str()).collect();
            return Err(CommandError::Usage(format!(
                "unknown app {n:?}; configured: {}",
                known.join(", ")
            )));
        }
    }
    Ok(settings
        .apps
        .iter()
        .filter(|a| names.is_empty() || names.contains(&a.name))
        .map(|a| a.name.clone())
        .collect())
}

/// Names for a refusal's message: at most the first 20, then how many more, or "none".
pub fn list_names<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 20;
    let total = names.len();
    if total == 0 {
        return "none".into();
    }
    let mut out: Vec<&str> = names.take(SHOWN).collect();
    let more = total.saturating_sub(out.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    out.sort_unstable();
    format!("{}{tail}", out.join(", "))
}

/// Maps an engine error onto the command's exit code.
pub fn engine_error(e: crate::engine::EngineError) -> CommandError {
    CommandError::from(e)
}
