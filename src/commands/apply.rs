//! `hrsync apply`: run one cycle now — or apply exactly a saved plan — and print what was
//! done; asked interactively, it applies exactly the plan it showed. Exit 1 if an operation failed, 3 if guards held changes back.

use std::io::{BufRead, IsTerminal, Write};

use hrsync_state::CycleKind;

use crate::cli::ApplyArgs;
use crate::config::Settings;
use crate::engine::{run_cycle, CycleOptions, Mode};
use crate::error::{CommandError, CommandResult};
use crate::reconcile::Plan;
use crate::report;

/// Runs `apply`.
pub async fn run(settings: &Settings, args: ApplyArgs) -> CommandResult {
    let apps = super::select_apps(settings, &args.apps)?;
    let mut saved = match &args.plan {
        Some(path) => Some(load_plan(path)?),
        None => None,
    };
    if saved.is_none() && !args.yes && std::io::stdin().is_terminal() {
        // Show what would change and ask, like `terraform apply`.
        let mut opts = CycleOptions::new(
            Mode::Plan {
                detect_drift: false,
            },
            CycleKind::Plan,
        );
        opts.apps = apps.clone();
        opts.allow_mass_deprovision = args.allow_mass_deprovision;
        let preview = run_cycle(settings, opts)
            .await
            .map_err(super::engine_error)?;
        print!("{}", report::render_text(&preview.plan));
        if preview.plan.is_empty() {
            println!("\nNothing to do.");
            return Ok(0);
        }
        print!("\nApply these changes? Only 'yes' is accepted: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            println!("Apply cancelled.");
            return Ok(0);
        }
        // Apply what was shown and agreed to, refused (as `--plan` is) if HR or the state
        // changed in between.
        saved = Some(preview.plan);
    }
    if saved.is_none() {
        // A running daemon takes the cycle (a saved plan is applied here, exactly).
        let handed =
            crate::admin::handoff::apply(settings, &args.apps, args.allow_mass_deprovision);
        if let Some(code) = handed.await? {
            return Ok(code);
        }
    }
    let mut opts = CycleOptions::new(Mode::Apply, CycleKind::Apply);
    opts.apps = apps;
    opts.allow_mass_deprovision = args.allow_mass_deprovision;
    opts.saved_plan = saved;
    opts.lock_wait = std::time::Duration::from_secs(args.wait_secs);
    let report = run_cycle(settings, opts)
        .await
        .map_err(super::engine_error)?;
    print!("{}", report::outcome::render(&report));
    Ok(report.exit_code())
}

fn load_plan(path: &std::path::Path) -> Result<Plan, CommandError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CommandError::Usage(format!("cannot read plan {}: {e}", path.display())))?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| {
        CommandError::Usage(format!(
            "{} is not a saved hrsync plan: {e}",
            path.display()
        ))
    })?;
    if plan.format_version != 1 {
        return Err(CommandError::Usage(format!(
            "{}: unsupported plan format_version {}",
            path.display(),
            plan.format_version
        )));
    }
    Ok(plan)
}
