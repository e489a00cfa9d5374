//! Integration tests of hrsync-state: one binary, one module per area.
// Tests may read the wall clock: audit rows are stamped with it.
#![allow(clippy::disallowed_methods)]

mod audit;
mod cycles;
mod each_link;
mod lock;
mod migrate_v5;
mod misc;
mod open;
mod outcome;
mod pushed;
mod quarantine;
mod snapshot;
mod snapshot_hash;
mod util;
