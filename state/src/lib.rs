//! hrsync-state: the SQLite state of hrsync — links, HR snapshot, cycles, audit,
//! quarantines, guards' holds, app health — behind one connection thread.
//!
//! Open it with [`Store::open`] (writers, after taking [`WriterLock`]) or
//! [`Store::open_read_only`] (`plan`, `status`, `audit`). The engine's write path is
//! [`Store::record_outcome`]: a link change and its audit row in one transaction.
//!
//! The file is kept compact (schema 5): the large tables hold JSON packed (`packed`,
//! names kept once in `names`), account ids, hashes, timestamps and enums in compact
//! columns (`stored`), converted at this crate's boundary so that callers see plain
//! types. Migrations (`migrate`) bring an older file to it.
#![deny(
    clippy::unwrap_used,
    clippy::panic,
    clippy::todo,
    clippy::await_holding_lock
)]

#[cfg(test)]
mod arb_json;
mod audit;
mod cycles;
mod error;
mod forms;
mod groups;
mod health;
mod held;
mod keyed;
mod known;
mod links;
mod lock;
mod meta;
mod migrate;
mod migrate_v5;
mod names;
mod op_quarantine;
mod open;
mod outcome;
mod packed;
#[cfg(test)]
mod packed_tests;
mod path;
mod pushed;
mod quarantine;
mod reader;
mod settled;
mod snapshot;
mod snapshot_canon;
mod snapshot_read;
mod snapshot_save;
mod snapshot_stored;
mod sql;
mod store;
mod stored;
mod unpack;

pub use audit::{AuditQuery, AuditRow};
pub use cycles::{CycleKind, CycleRow, CycleStatus};
pub use error::{StateError, UnknownValue};
pub use forms::{AppForms, FormChanges, KeptForm};
pub use groups::Group;
pub use health::{AppHealth, CircuitState};
pub use held::HeldOp;
pub use links::{Link, LinkCounts, LinkLifecycle, Ownership};
pub use lock::{lock_path, WriterLock};
pub use meta::Watermark;
pub use migrate::SCHEMA_VERSION;
pub use op_quarantine::{op_backoff, OpQuarantine};
pub use outcome::{AuditOp, GroupChange, LinkChange, OpResult, Outcome};
pub use quarantine::{QuarantinedRecord, RejectedRecord};
pub use settled::{LinkBrief, Stamp};
pub use snapshot::{
    record_hash, SnapshotCount, SnapshotRecord, SnapshotRecords, SnapshotRow, SnapshotSaved,
};
pub use store::Store;

/// The rusqlite version this crate speaks, for callers of [`Store::call`].
pub use rusqlite;
