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
    let text = report::renderer(args.format).render(&plan);
    match &args.output {
        Some(path) => write_named(path, text.as_bytes(), Privacy::Personal)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .map_err(|e| CommandError::Runtime(e.into()))?;
        }
    }
    if let Some(path) = &args.save {
        let json = serde_json::to_vec_pretty(&plan).map_err(|e| CommandError::Runtime(e.into()))?;
        write_named(path, &json, Privacy::Personal)?;
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

/// Writes a file the user named, keeping what its path is (`report::write`).
fn write_named(path: &std::path::Path, bytes: &[u8], privacy: Privacy) -> Result<(), CommandError> {
    report::write::write_named(path, bytes, privacy).map_err(|e| CommandError::Usage(e.to_string()))
}
