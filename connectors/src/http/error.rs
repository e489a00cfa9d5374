//! Errors of the HTTP transport, and how a failed attempt is classified (timeout,
//! connect, DNS, TLS, broken connection) for retries and the circuit breaker.

use super::auth::AuthError;

/// What kind of transport failure happened; drives retries and the circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The attempt timed out (the server may have acted on it).
    Timeout,
    /// Could not connect (refused, unreachable): the request was not sent.
    Connect,
    /// Name resolution failed.
    Dns,
    /// TLS handshake or certificate failure.
    Tls,
    /// The connection broke after the request was sent (reset, closed, truncated body).
    Broken,
}

/// Errors of the transport. HTTP statuses are not errors here: callers read them.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not allowed: `http://` to a non-loopback host without opt-in.
    #[error("refusing plain http to {0}: use https, or set allow_insecure_http = true")]
    InsecureUrl(String),
    /// Back off and maybe open the app's circuit; the request failed after its attempts.
    #[error("{kind:?} error talking to {url} after {attempts} attempt(s): {message}")]
    Transport {
        /// Failure kind.
        kind: TransportKind,
        /// Request URL (no credentials).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Underlying error text.
        message: String,
    },
    /// Credentials could not be obtained (token endpoint failure): stop and alert.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The request could not be built (bad header value): a bug or bad config.
    #[error("invalid request: {0}")]
    Build(String),
}

impl HttpError {
    /// The transport kind, if this is a transport error.
    pub fn transport_kind(&self) -> Option<TransportKind> {
        match self {
            HttpError::Transport { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

/// Classifies a failed attempt by what the error is, reading the causes (never the URL,
/// which could contain any word).
pub(super) fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        return TransportKind::Timeout;
    }
    if e.is_body() || e.is_decode() {
        return TransportKind::Broken;
    }
    let mut causes = String::new();
    let mut invalid_data = false;
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            // The TLS layer reports handshake and certificate failures as InvalidData.
            invalid_data |= io.kind() == std::io::ErrorKind::InvalidData;
            if io.kind() == std::io::ErrorKind::TimedOut {
                return TransportKind::Timeout;
            }
        }
        causes.push_str(&c.to_string().to_ascii_lowercase());
        causes.push('\n');
        cur = c.source();
    }
    let tls = invalid_data
        || [
            "certificate",
            "tls",
            "handshake",
            "corrupt message",
            "peer is incompatible",
        ]
        .iter()
        .any(|w| causes.contains(w));
    if e.is_connect() {
        if causes.contains("dns error") || causes.contains("failed to lookup address") {
            TransportKind::Dns
        } else if tls {
            TransportKind::Tls
        } else {
            TransportKind::Connect
        }
    } else if tls && causes.contains("certificate") {
        TransportKind::Tls
    } else {
        TransportKind::Broken
    }
}

/// The error and its causes, joined by `: `.
pub(super) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
