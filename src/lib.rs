//! hrsync: keeps the accounts in downstream SCIM 2.0 apps in step with the HR system.
//! The binary is a thin shell over this library; the layout follows DESIGN.md.
#![deny(
    clippy::unwrap_used,
    clippy::panic,
    clippy::todo,
    clippy::await_holding_lock
)]

pub mod access;
pub mod admin;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod control;
pub mod daemon;
pub mod engine;
pub mod error;
pub mod mapping;
pub mod progress;
pub mod reconcile;
pub mod report;
