//! The hash of an account's desired state, stored with the link so that a person whose
//! state did not change is skipped without a diff.

use std::collections::BTreeMap;

use serde_json::Value;

/// Hash of an account's desired state, stored with the link to skip unchanged persons.
pub fn state_hash(attrs: &BTreeMap<String, Value>, active: bool) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // BTreeMap serializes in key order, so equal states hash equally.
    h.update(serde_json::to_vec(attrs).unwrap_or_default());
    h.update(if active { b"1" } else { b"0" });
    hex::encode(&h.finalize()[..16])
}
