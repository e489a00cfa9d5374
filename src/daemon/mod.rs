//! The daemon: cycles on a schedule until a signal stops it, finishing in-flight work.

pub mod schedule;
pub mod signals;
