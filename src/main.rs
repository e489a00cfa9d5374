//! The `hrsync` binary: parse the command line, set up logging, run the command, and turn
//! its outcome into the exit codes of SPEC §2.

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use clap::Parser;
use hrsync::cli::{Cli, LogFormat};
use hrsync::error::CommandResult;
use tracing_subscriber::EnvFilter;

/// The allocator: a cycle allocates and frees millions of small records, texts and map
/// nodes from several threads at once, where it is faster and returns memory sooner.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The exit code of a bug: the same as any runtime failure, never 2 ("nothing touched")
/// nor the runtime's default for a panic.
const INTERNAL_ERROR: u8 = 1;

/// mimalloc's option number for the purge delay (`mi_option_e` in its `mimalloc.h`, an
/// enum only ever appended to), which the crate names no constant for.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tunes memory for a process whose resident size operators watch: freed pages go back to
/// the system a tenth of a second after they are freed, and no transparent huge pages (one
/// touched byte of one would make two megabytes resident). A cycle's phases free hundreds
/// of megabytes on threads that then go idle, which the cycle hands back itself
/// (`engine::memory::return_freed`); within a phase, pages freed and soon allocated again
/// stay in place (returned after a millisecond, they were faulted back in at once: a fifth
/// of a steady cycle's CPU, for 10 MiB less at its peak at 100,000 persons).
fn tune_memory() {
    // SAFETY: setting an option only stores a value the allocator reads on later calls.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 100) };
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only how this
        // process's later page faults are served; a failure leaves things as they were.
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

/// Returns the calling thread's freed pages to the system at once.
fn return_freed() {
    // SAFETY: `mi_collect` only walks the calling thread's own heap and the allocator's
    // shared lists under their locks; it may be called at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> ExitCode {
    tune_memory();
    hrsync::engine::memory::on_return_freed(return_freed);
    let cli = Cli::parse();
    init_tracing(&cli);
    panic::set_hook(Box::new(report_panic));
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
    // A panic anywhere in the command ends here, reported by the hook, as exit 1.
    let ran = panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(hrsync::commands::dispatch(cli))
    }));
    ExitCode::from(exit_code(ran, detailed))
}

/// The process exit code of a command's end, printing its error.
fn exit_code(ran: std::thread::Result<CommandResult>, detailed: bool) -> u8 {
    match ran {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            // Errors quote configs, HR data and app answers: controls are shown escaped.
            eprintln!(
                "hrsync: error: {}",
                hrsync::report::printable(&format!("{e:#}"))
            );
            if detailed {
                1
            } else {
                e.exit_code()
            }
        }
        // The hook already said what panicked and where.
        Err(_) => INTERNAL_ERROR,
    }
}

/// Says that a panic is an internal error (a bug to report), where it happened, and, when
/// `RUST_BACKTRACE` asks for it, the backtrace.
fn report_panic(info: &panic::PanicHookInfo<'_>) {
    eprintln!(
        "hrsync: internal error (a bug in hrsync; please report it): {}",
        hrsync::report::printable(&info.to_string())
    );
    let trace = std::backtrace::Backtrace::capture();
    if trace.status() == std::backtrace::BacktraceStatus::Captured {
        eprintln!("{trace}");
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
        .with_ansi(ansi)
        .with_target(false);
    match cli.log_format {
        // JSON escapes control characters itself, and an escape of ours would not be JSON.
        LogFormat::Json => builder.json().with_writer(std::io::stderr).init(),
        LogFormat::Text => builder
            .with_writer(hrsync::report::log_writer::LogWriter { ansi })
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hrsync::error::CommandError;

    #[test]
    fn a_panic_in_a_command_exits_1() {
        let ran = panic::catch_unwind(|| -> CommandResult { panic!("boom") });
        assert_eq!(exit_code(ran, false), 1);
    }

    #[test]
    fn errors_keep_their_codes_and_detailed_plans_use_1() {
        let usage = || Ok(Err(CommandError::Usage("bad".into())));
        assert_eq!(exit_code(usage(), false), 2);
        assert_eq!(exit_code(usage(), true), 1);
        assert_eq!(exit_code(Ok(Ok(3)), false), 3);
    }
}
