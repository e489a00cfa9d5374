//! SCIM 2.0 client (RFC 7643/7644): attribute paths and resources, filters, PATCH building,
//! errors, discovery, paging, bulk and the per-app quirk profiles.
//!
//! One [`ScimClient`] talks to one app. It sends every request through
//! [`crate::http::HttpClient`] (auth, URL policy, retries, rate limiting) and adapts what it
//! sends and reads to the app's [`Profile`]: what the app can filter on, how it pages, whether
//! it takes PATCH, how it removes group members, and so on.

pub mod bulk;
mod bulk_batch;
pub mod client;
pub mod discovery;
pub mod error;
pub mod filter;
mod groups;
mod local;
pub mod lookup;
mod paging;
pub mod patch;
pub mod path;
pub mod profiles;
pub mod resource;
mod users;
mod value;

#[cfg(test)]
mod fuzz_tests;

pub use bulk::{BulkMethod, BulkOp, BulkResult};
pub use client::{ScimClient, WriteMode};
pub use discovery::{parse_capabilities, BulkCaps, Capabilities, FilterCaps};
pub use error::{parse_error_body, ErrorBody, ScimError};
pub use filter::Filter;
pub use lookup::MatchOn;
pub use paging::OnPage;
pub use patch::{
    member_add_batches, member_remove_batches, members_value, ops_from_changes, patch_body,
    PatchKind, PatchOp, RemovalForm,
};
pub use path::{AttrPath, PathError, ValueFilter};
pub use profiles::{DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits};
pub use resource::{
    build_user, display_name, emails, external_id, extract, id, member_ids, user_name, values_at,
};
pub use value::escape_string;

/// The SCIM media type (RFC 7644 §3.1), sent as Content-Type and Accept.
pub const MEDIA_TYPE: &str = "application/scim+json";
/// Core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension URN.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// PATCH request message URN.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// List response message URN.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Error message URN.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Bulk request message URN.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Bulk response message URN.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
