//! The hash of an account's desired state, stored with the link so that a person whose
//! state did not change is skipped without a diff.

use serde::Serialize;

/// Hash of an account's desired state, stored with the link to skip unchanged persons:
/// of a map of path → value (`BTreeMap` or [`crate::mapping::AttrMap`], which serialise
/// alike).
pub fn state_hash(attrs: &impl Serialize, active: bool) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // Both maps serialize in key order, so equal states hash equally.
    h.update(serde_json::to_vec(attrs).unwrap_or_default());
    h.update(if active { b"1" } else { b"0" });
    hex::encode(&h.finalize()[..16])
}
