//! A source's HR webhook: the secret its signatures are checked with and the signature
//! style the HR system uses (`webhook = { secret = { env = ".." }, style = "hrsync" }`).

use serde::Deserialize;

use crate::secret::SecretRef;

/// How an HR system signs its webhooks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStyle {
    /// `X-Hrsync-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
    #[default]
    Hrsync,
    /// BambooHR's `X-BambooHR-Signature`: HMAC-SHA256 over the body then
    /// `X-BambooHR-Timestamp`, accepted within five minutes of that timestamp.
    Bamboohr,
}

/// `webhook = { ... }` of one `[[sources]]` table: when set, `POST /v1/hooks/{source}`
/// accepts signed hooks that start a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The shared secret the signatures are computed with.
    pub secret: SecretRef,
    /// The signature style (default `hrsync`).
    #[serde(default)]
    pub style: WebhookStyle,
}
