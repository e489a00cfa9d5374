//! SCIM 2.0 client (RFC 7643/7644): wire types, filters, PATCH building, errors, discovery,
//! paging and the per-app quirk profiles.
