//! `hrsync plan`: a dry run — read the sources (and with `--detect-drift` the apps, GET
//! only), compute the plan, print or write the report, optionally save the exact plan.

use std::io::Write;

use hrsync_state::CycleKind;

use crate::cli::PlanArgs;
use crate::config::Settings;
use crate::engine::{run_cycle, CycleOptions, Mode};
use crate::error::{CommandError, CommandResult};
use crate::report;
use crate::report::write::Privacy;

/// Runs `plan`.
pub async fn run(settings: &Settings, args: PlanArgs) -> CommandResult {
    let apps = super::select_apps(settings, &args.apps)?;
    let mut opts = CycleOptions::new(
        Mode::Plan {
            detect_drift: args.detect_drift,
        },
        CycleKind::Plan,
    );
    opts.apps = apps;
    let report = run_cycle(settings, opts)
        .await
        .map_err(super::engine_error)?;
    let plan = report.plan;
    let renderer = report::renderer(args.format);
    match &args.output {
        Some(path) => write_named(path, |out| renderer.write(&plan, out))?,
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            renderer
                .write(&plan, &mut out)
                .and_then(|()| out.flush())
                .map_err(|e| CommandError::Runtime(e.into()))?;
        }
    }
    if let Some(path) = &args.save {
        write_named(path, |out| {
            serde_json::to_writer_pretty(out, &plan).map_err(std::io::Error::from)
        })?;
        eprintln!(
            "Saved the plan to {}. Apply exactly it with: hrsync apply --plan {}",
            path.display(),
            path.display()
        );
    }
    let failed_reads = plan.apps.iter().filter(|a| a.error.is_some()).count();
    if failed_reads > 0 {
        return Ok(1);
    }
    let pending = !plan.is_empty() || plan.apps.iter().any(|a| !a.held.is_empty());
    Ok(if args.detailed_exitcode && pending {
        2
    } else {
        0
    })
}

/// Writes a file the user named (or standard output, `-`) as it is produced, keeping what
/// its path is (`report::write`); plans hold personal data.
fn write_named(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), CommandError> {
    report::write::write_named_with(path, Privacy::Personal, write)
        .map_err(|e| CommandError::Usage(e.to_string()))
}
