//! Webhook signatures: HMAC-SHA256 of the raw body (hrsync's own header) or of the body
//! followed by the timestamp within a replay window (BambooHR's headers). Every comparison
//! is constant-time, so a caller learns nothing from how long a refusal took.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use hrsync_connectors::source::WebhookStyle;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// hrsync's own signature header: `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const HRSYNC_HEADER: &str = "x-hrsync-signature";
/// BambooHR's signature header: hex HMAC-SHA256 of the body followed by the timestamp.
pub const BAMBOOHR_SIGNATURE: &str = "x-bamboohr-signature";
/// BambooHR's timestamp header: Unix seconds when the hook was sent.
pub const BAMBOOHR_TIMESTAMP: &str = "x-bamboohr-timestamp";
/// How far a BambooHR timestamp may lie from now, either way, before the hook is refused
/// as a replay.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why a hook's signature was refused (said in the log and the metric, never the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No signature header (or no timestamp for BambooHR).
    #[error("no signature")]
    Missing,
    /// The header is not of the expected form.
    #[error("malformed signature")]
    Malformed,
    /// The timestamp is outside the replay window.
    #[error("timestamp outside the replay window")]
    Stale,
    /// The signature does not match the body.
    #[error("signature does not match")]
    Mismatch,
}

impl Refusal {
    /// The metric label of this refusal.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Missing => "missing_signature",
            Refusal::Malformed | Refusal::Mismatch => "bad_signature",
            Refusal::Stale => "stale_timestamp",
        }
    }
}

/// Checks a hook's signature against `secret`, `now` being Unix seconds.
pub fn verify(
    style: WebhookStyle,
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), Refusal> {
    match style {
        WebhookStyle::Hrsync => {
            let given = header(headers, HRSYNC_HEADER)?;
            let hex_sig = given
                .trim()
                .strip_prefix("sha256=")
                .ok_or(Refusal::Malformed)?;
            matches(secret, &[body], hex_sig)
        }
        WebhookStyle::Bamboohr => {
            let given = header(headers, BAMBOOHR_SIGNATURE)?;
            let stamp = header(headers, BAMBOOHR_TIMESTAMP)?;
            let at: i64 = stamp.trim().parse().map_err(|_| Refusal::Malformed)?;
            // The signature first: an unsigned request learns nothing about the window.
            matches(secret, &[body, stamp.trim().as_bytes()], given.trim())?;
            if (now - at).abs() > REPLAY_WINDOW_SECS {
                return Err(Refusal::Stale);
            }
            Ok(())
        }
    }
}

/// The hex HMAC-SHA256 of the concatenated `parts` (what a sender puts in the header).
pub fn sign(secret: &[u8], parts: &[&[u8]]) -> String {
    mac(secret, parts)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// The MAC over `parts`. HMAC takes a key of any length, so the error arm is never taken;
/// it is mapped rather than unwrapped to keep the request path free of panics.
fn mac(secret: &[u8], parts: &[&[u8]]) -> Result<Hmac<Sha256>, Refusal> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| Refusal::Mismatch)?;
    for p in parts {
        m.update(p);
    }
    Ok(m)
}

/// Compares the expected MAC with the hex one given, in constant time.
fn matches(secret: &[u8], parts: &[&[u8]], given_hex: &str) -> Result<(), Refusal> {
    let given = hex::decode(given_hex.to_ascii_lowercase()).map_err(|_| Refusal::Malformed)?;
    let expected = mac(secret, parts)?.finalize().into_bytes();
    if given.len() == expected.len() && bool::from(expected.as_slice().ct_eq(&given)) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, Refusal> {
    let v = headers.get(name).ok_or(Refusal::Missing)?;
    v.to_str().map_err(|_| Refusal::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn hrsync_style_accepts_the_right_mac_only() {
        let body = br#"{"keys":["E1"]}"#;
        let good = format!("sha256={}", sign(b"s3cret", &[body]));
        let h = with(&[(HRSYNC_HEADER, good)]);
        assert_eq!(verify(WebhookStyle::Hrsync, b"s3cret", &h, body, 0), Ok(()));
        assert_eq!(
            verify(WebhookStyle::Hrsync, b"other", &h, body, 0),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(WebhookStyle::Hrsync, b"s3cret", &h, b"{}", 0),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(WebhookStyle::Hrsync, b"s3cret", &HeaderMap::new(), body, 0),
            Err(Refusal::Missing)
        );
        let bare = with(&[(HRSYNC_HEADER, sign(b"s3cret", &[body]))]);
        assert_eq!(
            verify(WebhookStyle::Hrsync, b"s3cret", &bare, body, 0),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn bamboohr_style_signs_body_then_timestamp_within_five_minutes() {
        let body = br#"{"employees":[{"id":"7"}]}"#;
        let at = 1_700_000_000i64;
        let sig = sign(b"k", &[body, at.to_string().as_bytes()]);
        let h = with(&[
            (BAMBOOHR_SIGNATURE, sig),
            (BAMBOOHR_TIMESTAMP, at.to_string()),
        ]);
        assert_eq!(
            verify(WebhookStyle::Bamboohr, b"k", &h, body, at + 299),
            Ok(())
        );
        assert_eq!(
            verify(WebhookStyle::Bamboohr, b"k", &h, body, at + 301),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verify(WebhookStyle::Bamboohr, b"k", &h, body, at - 301),
            Err(Refusal::Stale)
        );
        let moved = with(&[
            (BAMBOOHR_SIGNATURE, sign(b"k", &[body, b"1"])),
            (BAMBOOHR_TIMESTAMP, at.to_string()),
        ]);
        assert_eq!(
            verify(WebhookStyle::Bamboohr, b"k", &moved, body, at),
            Err(Refusal::Mismatch)
        );
    }
}
