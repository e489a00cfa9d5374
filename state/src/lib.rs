//! hrsync-state: the SQLite state of hrsync — links, HR snapshot, cycles, audit.
#![deny(clippy::unwrap_used, clippy::panic, clippy::todo, clippy::await_holding_lock)]
