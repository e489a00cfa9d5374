//! `hrsync resync`: read every app's real accounts, re-link by externalId and `match_on`,
//! correct drift per the conflict rules, recreate vanished accounts — whole, per app, or
//! surgically for some persons; `--dry-run` shows it without changing anything.

use hrsync_state::CycleKind;

use crate::cli::ResyncArgs;
use crate::config::Settings;
use crate::engine::{run_cycle, CycleOptions, Mode};
use crate::error::CommandResult;
use crate::report;

/// Runs `resync`.
pub async fn run(settings: &Settings, args: ResyncArgs) -> CommandResult {
    let apps = super::select_apps(settings, &args.apps)?;
    if !args.dry_run {
        // A dry run writes nothing and takes no lock: it always runs here.
        if let Some(code) = crate::admin::handoff::resync(
            settings,
            &args.apps,
            &args.users,
            args.allow_mass_deprovision,
        )
        .await?
        {
            return Ok(code);
        }
    }
    let mut opts = CycleOptions::new(
        Mode::Resync {
            dry_run: args.dry_run,
        },
        CycleKind::Resync,
    );
    opts.apps = apps;
    opts.users = args.users;
    opts.allow_mass_deprovision = args.allow_mass_deprovision;
    opts.lock_wait = std::time::Duration::from_secs(args.wait_secs);
    let report = run_cycle(settings, opts)
        .await
        .map_err(super::engine_error)?;
    if args.dry_run {
        print!("{}", report::render_text(&report.plan));
        let failed = report.plan.apps.iter().any(|a| a.error.is_some());
        return Ok(if failed { 1 } else { 0 });
    }
    print!("{}", report::outcome::render(&report));
    Ok(report.exit_code())
}
