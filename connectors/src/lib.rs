//! hrsync-connectors: everything in hrsync that talks to the outside world — HR sources,
//! the SCIM 2.0 client, HTTP transport (auth, retries, rate limits) and secrets.
#![deny(
    clippy::unwrap_used,
    clippy::panic,
    clippy::todo,
    clippy::await_holding_lock
)]

pub mod http;
pub mod redact;
pub mod scim;
pub mod secret;
pub mod source;
