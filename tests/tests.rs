//! hrsync integration tests.
