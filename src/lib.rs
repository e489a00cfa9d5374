//! hrsync: keeps the accounts in downstream SCIM 2.0 apps in step with the HR system.
#![deny(clippy::unwrap_used, clippy::panic, clippy::todo, clippy::await_holding_lock)]

pub mod mapping;
pub mod reconcile;
pub mod report;
pub mod sandbox;
