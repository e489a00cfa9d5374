//! The admin token check: `Authorization: Bearer <token>`, compared in constant time.

use axum::http::{header, HeaderMap};
use hrsync_connectors::secret::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// True when the request carries the admin token. Both sides are hashed first, so the
/// comparison takes the same time whatever the given token's length or content; without a
/// configured token nothing is accepted.
pub fn authorized(expected: Option<&Secret>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else {
        return false;
    };
    let Some(given) = bearer(headers) else {
        return false;
    };
    let a = Sha256::digest(expected.expose().as_bytes());
    let b = Sha256::digest(given.as_bytes());
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// The bearer credential of the request, if any (the scheme is case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(v).expect("header"),
        );
        h
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let t = Secret::new("tok-123");
        assert!(authorized(Some(&t), &auth("Bearer tok-123")));
        assert!(authorized(Some(&t), &auth("bearer tok-123")));
        assert!(!authorized(Some(&t), &auth("Bearer tok-12")));
        assert!(!authorized(Some(&t), &auth("Basic tok-123")));
        assert!(!authorized(Some(&t), &auth("Bearer ")));
        assert!(!authorized(Some(&t), &HeaderMap::new()));
        assert!(!authorized(None, &auth("Bearer tok-123")));
    }
}
