//! What kind of cycle runs: a dry run, an apply, or a resync, and what each one touches.

/// What kind of cycle to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Dry run; with `detect_drift` the apps are read (GET only).
    Plan {
        /// Read the apps to show drift and orphans.
        detect_drift: bool,
    },
    /// Execute the plan.
    Apply,
    /// Read the apps' real state, re-link and correct drift (unless `dry_run`).
    Resync {
        /// Show what would be done; change nothing.
        dry_run: bool,
    },
}

impl Mode {
    /// True when the cycle writes to the apps (and so to the state).
    pub fn executes(self) -> bool {
        matches!(self, Mode::Apply | Mode::Resync { dry_run: false })
    }

    /// True when the apps' accounts are read (drift detection, resync).
    pub fn reads_apps(self) -> bool {
        matches!(
            self,
            Mode::Plan { detect_drift: true } | Mode::Resync { .. }
        )
    }

    /// True when the cycle talks to the apps at all (anything but a plain `plan`).
    pub fn needs_apps(self) -> bool {
        self != (Mode::Plan {
            detect_drift: false,
        })
    }
}
