//! Integration tests of hrsync-state: one binary, one module per area.

mod audit;
mod cycles;
mod lock;
mod misc;
mod open;
mod outcome;
mod quarantine;
mod snapshot;
mod util;
