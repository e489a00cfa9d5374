//! The engine: one cycle — read sources, guard, plan each app, execute, settle — shared by
//! `plan`, `apply`, `resync`, the daemon and the demo.
//!
//! The write path runs one way: `cycle` → `app_plan` / `app_apply` → `execute` →
//! (`bulk` | `ops` → `group_ops`) → an [`answer::Answer`] per operation → `settle` →
//! `record`. The context (`context`) and the errors (`error`) are leaves every step uses.

mod access;
mod answer;
pub mod app_api;
mod app_apply;
mod app_plan;
mod app_run;
mod bulk;
pub mod capabilities;
pub mod circuit;
mod context;
mod cpu;
mod cycle;
pub mod desired;
pub mod error;
mod events;
pub mod execute;
mod focus;
mod group_ops;
mod http_metrics;
mod lock;
pub mod memory;
mod mode;
mod ops;
mod packed;
pub mod read;
mod reads_saved;
pub mod record;
mod refusals;
mod release;
mod remembered;
mod settle;
mod unchanged;

pub use cycle::{check_template_fields, run_cycle, CycleOptions, CycleReport};
pub use error::{EngineError, InternalError, UsageError};
pub use execute::{AppOutcome, OpFailure};
pub use focus::Focus;
pub use mode::Mode;
