//! Command-line definitions (clap). Behaviour lives in `commands/`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// hrsync keeps the accounts in your SCIM apps in step with the HR system.
#[derive(Debug, Parser)]
#[command(name = "hrsync", version, about, propagate_version = true)]
pub struct Cli {
    /// Config file.
    #[arg(
        long,
        global = true,
        env = "HRSYNC_CONFIG",
        default_value = "/etc/hrsync/config.toml"
    )]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More logging (repeat for more).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Less logging (repeat for less).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub quiet: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Format of `status` and `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimpleFormat {
    /// Human-readable.
    Text,
    /// JSON.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config, resolve secrets, reach every source and app.
    Check,
    /// Dry run: read the sources, compute the plan, print the diff report.
    Plan(PlanArgs),
    /// Run one cycle now and exit.
    Apply(ApplyArgs),
    /// The daemon: run cycles on the configured schedule until SIGTERM.
    Run,
    /// Forced resync: read the apps' real state, re-link, correct drift per conflict rules.
    Resync(ResyncArgs),
    /// Last cycles, per-app health and counts, held guards, quarantined records.
    Status(StatusArgs),
    /// Query the audit trail of identity changes.
    Audit(AuditArgs),
    /// Access review: every managed person's accounts and groups per app, since when, and
    /// the exceptions an auditor asks about. Reads only the state.
    Access(AccessArgs),
    /// Serve a local SCIM 2.0 service provider (a rehearsal app).
    Sandbox(SandboxArgs),
    /// End-to-end on bundled sample data against an embedded sandbox.
    Demo,
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    Completions(CompletionsArgs),
    /// Write the man pages (hrsync and each subcommand) into a directory.
    #[command(hide = true)]
    Man(ManArgs),
}

/// `completions` arguments.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Shells `completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Bash (bash-completion).
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// `man` arguments.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

/// `plan` flags.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Only these apps (repeatable).
    #[arg(long = "app", value_name = "NAME")]
    pub apps: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Save the exact plan, with a hash of its inputs, for `apply --plan`.
    #[arg(long, value_name = "PLANFILE")]
    pub save: Option<PathBuf>,
    /// Also read the apps (GET only) to show drift and orphans.
    #[arg(long)]
    pub detect_drift: bool,
    /// Exit 0 when there are no changes, 2 when changes are pending, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `apply` flags.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Only these apps (repeatable).
    #[arg(long = "app", value_name = "NAME")]
    pub apps: Vec<String>,
    /// Apply exactly this saved plan; refused if HR or state changed since.
    #[arg(long, value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    /// Release deprovisions held by the mass-deprovision guards.
    #[arg(long)]
    pub allow_mass_deprovision: bool,
    /// Do not ask for confirmation on a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// When another hrsync (a running daemon) holds the state, wait this long for it,
    /// seconds; 0 fails at once (exit 1).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub wait_secs: u64,
}

/// `resync` flags.
#[derive(Debug, clap::Args)]
pub struct ResyncArgs {
    /// Only these apps (repeatable).
    #[arg(long = "app", value_name = "NAME")]
    pub apps: Vec<String>,
    /// Only these persons, by HR key (repeatable).
    #[arg(long = "user", value_name = "KEY")]
    pub users: Vec<String>,
    /// Show what would be done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Release deprovisions held by the mass-deprovision guards.
    #[arg(long)]
    pub allow_mass_deprovision: bool,
    /// When another hrsync (a running daemon) holds the state, wait this long for it,
    /// seconds; 0 fails at once (exit 1).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub wait_secs: u64,
}

/// `status` flags.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = SimpleFormat::Text)]
    pub format: SimpleFormat,
}

/// `audit` flags.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only this app.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Only this person (HR key).
    #[arg(long = "user", value_name = "KEY")]
    pub user: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// At most this many entries (the newest).
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SimpleFormat::Text)]
    pub format: SimpleFormat,
}

/// `access` flags.
#[derive(Debug, clap::Args)]
pub struct AccessArgs {
    /// Only this app.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::access::AccessFormat::Csv)]
    pub format: crate::access::AccessFormat,
    /// Write the review to this file (created 0600: it is personal data) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `sandbox` flags.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8750")]
    pub listen: SocketAddr,
    /// Require this bearer token.
    #[arg(long, env = "HRSYNC_SANDBOX_TOKEN")]
    pub token: Option<String>,
    /// Keep data in this SQLite file (default: in memory).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Behave like this app (quirks and rate limits).
    #[arg(long, default_value = "generic")]
    pub profile: String,
    /// Fraction of requests answered with a 5xx (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Fraction of requests answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Retry-After seconds on injected 429s.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Added latency per request, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests stalled for --stall-ms.
    #[arg(long, default_value_t = 0.0)]
    pub stall_rate: f64,
    /// Stall length, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub stall_ms: u64,
    /// Fraction of connections dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Enforce this many requests per second (429 beyond), overriding the profile's.
    #[arg(long)]
    pub rate_limit: Option<f64>,
    /// Seed for the fault dice, for reproducible rehearsals.
    #[arg(long)]
    pub seed: Option<u64>,
}
