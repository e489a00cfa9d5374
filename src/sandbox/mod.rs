//! The SCIM 2.0 service provider behind `hrsync sandbox` and `demo`.
