//! The engine: one cycle — read sources, guard, plan each app, execute, record — shared by
//! `plan`, `apply`, `resync`, the daemon and the demo.

pub mod app_api;
mod app_cycle;
mod bulk;
mod capabilities;
pub mod circuit;
mod cycle;
pub mod desired;
pub mod execute;
mod group_ops;
mod ops;
pub mod read;
pub mod record;

pub use cycle::{run_cycle, CycleOptions, CycleReport, EngineError, Mode};
pub use execute::{AppOutcome, OpFailure};
