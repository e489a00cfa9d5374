//! `hrsync sandbox`: serve the rehearsal SCIM service provider until interrupted.

use crate::cli::SandboxArgs;
use crate::error::{CommandError, CommandResult};
use hrsync_sandbox::{Faults, SandboxOptions};

/// Runs the sandbox in the foreground.
pub async fn run(args: SandboxArgs) -> CommandResult {
    for (name, v) in [
        ("--error-rate", args.error_rate),
        ("--throttle-rate", args.throttle_rate),
        ("--stall-rate", args.stall_rate),
        ("--drop-rate", args.drop_rate),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(CommandError::Usage(format!(
                "{name} must be between 0 and 1"
            )));
        }
    }
    let opts = SandboxOptions {
        listen: args.listen,
        token: args.token,
        db: args.db,
        profile: args.profile,
        faults: Faults {
            error_rate: args.error_rate,
            throttle_rate: args.throttle_rate,
            retry_after_secs: args.retry_after_secs,
            latency_ms: args.latency_ms,
            stall_rate: args.stall_rate,
            stall_ms: args.stall_ms,
            drop_rate: args.drop_rate,
            rate_limit_per_sec: args.rate_limit,
            seed: args.seed,
        },
        public_discovery: false,
    };
    hrsync_sandbox::serve_forever(opts)
        .await
        .map_err(CommandError::Runtime)?;
    Ok(0)
}
