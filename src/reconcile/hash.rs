//! The hash of an account's desired state, stored with the link so that a person whose
//! state did not change is skipped without a diff.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error as _};
use serde::{Serialize, Serializer};

/// Hash of an account's desired state, as the link stores it (32 hex digits).
pub fn state_hash(attrs: &impl Serialize, active: bool) -> String {
    state_digest(attrs, active).to_string()
}

/// Hash of an account's desired state: of a map of path → value (`BTreeMap` or
/// [`crate::mapping::AttrMap`], which serialise alike), and whether it is active.
pub fn state_digest(attrs: &impl Serialize, active: bool) -> StateHash {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // Both maps serialize in key order, so equal states hash equally.
    h.update(serde_json::to_vec(attrs).unwrap_or_default());
    h.update(if active { b"1" } else { b"0" });
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    StateHash(out)
}

/// A state hash held as its 16 bytes (a plan holds one per operation), written as the 32
/// hex digits links store.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StateHash([u8; 16]);

impl StateHash {
    /// Whether a link's stored hash (hex) is this one.
    pub fn is(&self, stored: &str) -> bool {
        let mut hex = [0u8; 32];
        hex::encode_to_slice(self.0, &mut hex).is_ok() && hex.as_slice() == stored.as_bytes()
    }
}

impl fmt::Display for StateHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for StateHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl Serialize for StateHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for StateHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 16];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|e| D::Error::custom(format!("state hash {text:?}: {e}")))?;
        Ok(StateHash(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_digest_is_the_stored_hash_in_bytes() {
        let attrs = BTreeMap::from([("userName".to_string(), serde_json::json!("a@b"))]);
        let digest = state_digest(&attrs, true);
        let stored = state_hash(&attrs, true);
        assert_eq!(stored.len(), 32);
        assert_eq!(digest.to_string(), stored);
        assert!(digest.is(&stored));
        assert!(!digest.is(&state_hash(&attrs, false)));
        let json = serde_json::to_string(&digest).expect("json");
        assert_eq!(json, format!("\"{stored}\""));
        let back: StateHash = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, digest);
        assert!(serde_json::from_str::<StateHash>("\"not hex\"").is_err());
    }
}
