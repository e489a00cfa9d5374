//! The one redactor of texts that come from the network. Every secret hrsync holds is
//! registered when it is resolved (tokens, passwords, client secrets, header values, API
//! keys, fetched access tokens), with the encoded forms in which it travels; every error
//! body, SCIM `detail` and transport message passes through [`network_text`] where it
//! enters hrsync, so no log line, table, status, cycle summary or audit row can hold one.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::RwLock;

use base64::Engine as _;

/// What a secret is replaced with.
pub const MARKER: &str = "**REDACTED**";

/// Shorter values are not registered: replacing every `x` or `abc` in a server's message
/// would destroy the message while protecting nothing a guess would not find.
pub const MIN_SECRET_CHARS: usize = 4;

/// A credential after an authorization scheme word is replaced when it is at least this
/// long, whether or not hrsync knows it (a server echoing some other request's header).
const SCHEME_TOKEN_CHARS: usize = 16;

/// Slack beyond the longest registered form when cutting before redacting, so a credential
/// that starts before the cut is always seen whole.
const WINDOW_SLACK: usize = 64;

/// The registered forms, longest first, so a longer form is replaced before a shorter
/// one that it contains.
static FORMS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret value and the forms in which it may come back: raw, URL-encoded,
/// JSON-escaped and base64.
pub fn register(value: &str) {
    if value.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut forms = BTreeSet::new();
    forms.insert(value.to_string());
    forms.insert(url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
    forms.insert(
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
    );
    if let Ok(json) = serde_json::to_string(value) {
        forms.insert(json.trim_matches('"').to_string());
    }
    forms.insert(base64::engine::general_purpose::STANDARD.encode(value));
    add(forms);
}

/// Registers HTTP Basic credentials: the password, and the base64 of `user:password`
/// that the `Authorization` header carries (the user name only in that form: an OAuth2
/// client id is no secret).
pub fn register_basic(user: &str, password: &str) {
    register(password);
    let pair = format!("{user}:{password}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
    add(BTreeSet::from([encoded]));
}

fn add(forms: BTreeSet<String>) {
    let mut all = FORMS.write().unwrap_or_else(|e| e.into_inner());
    for f in forms {
        if f.chars().count() >= MIN_SECRET_CHARS && !all.contains(&f) {
            all.push(f);
        }
    }
    all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
}

fn longest_form_chars() -> usize {
    let all = FORMS.read().unwrap_or_else(|e| e.into_inner());
    all.first().map_or(0, |f| f.chars().count())
}

/// Replaces every registered secret form, and any long credential after `Bearer ` or
/// `Basic `, with [`MARKER`].
pub fn redact(text: &str) -> String {
    let mut out = {
        let all = FORMS.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Cow::Borrowed(text);
        for f in all.iter() {
            if out.contains(f.as_str()) {
                out = Cow::Owned(out.replace(f.as_str(), MARKER));
            }
        }
        out.into_owned()
    };
    for scheme in ["bearer", "basic"] {
        out = redact_after_scheme(&out, scheme);
    }
    out
}

/// Replaces the token68 credential after each `<scheme> ` (any case) when it is long.
fn redact_after_scheme(text: &str, scheme: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(at) = lower[from..].find(scheme).map(|i| i + from) {
        let word_start = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        let after = at + scheme.len();
        let spaces = text[after..].len() - text[after..].trim_start_matches([' ', '\t']).len();
        let token_at = after + spaces;
        let token_len = text[token_at..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(b))
            .count();
        out.push_str(&text[from..token_at]);
        if word_start && spaces > 0 && token_len >= SCHEME_TOKEN_CHARS {
            out.push_str(MARKER);
        } else {
            out.push_str(&text[token_at..token_at + token_len]);
        }
        from = token_at + token_len;
    }
    out.push_str(&text[from..]);
    out
}

/// Cuts a text to `max_chars` characters with a visible marker saying how long it was.
pub fn bound(text: &str, max_chars: usize) -> String {
    let total = text.chars().count();
    if total <= max_chars {
        return text.to_string();
    }
    cut(text, max_chars, total)
}

fn cut(text: &str, max_chars: usize, total: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    out.push_str(&format!("… [cut: {total} characters in all]"));
    out
}

/// A text that came from the network, as hrsync may log, print or store it: redacted,
/// then bounded to `max_chars` (redacting first, so a cut cannot leave half a secret).
pub fn network_text(text: &str, max_chars: usize) -> String {
    let total = text.chars().count();
    let window = max_chars
        .saturating_add(longest_form_chars())
        .saturating_add(WINDOW_SLACK);
    let clean = if total <= window {
        redact(text)
    } else {
        redact(&text.chars().take(window).collect::<String>())
    };
    if total <= window && clean.chars().count() <= max_chars {
        return clean;
    }
    cut(&clean, max_chars, total)
}

/// [`network_text`] of raw bytes (invalid UTF-8 replaced), reading no more of a huge
/// body than can be shown.
pub fn network_bytes(body: &[u8], max_chars: usize) -> String {
    // A character is at most four bytes.
    let window = max_chars
        .saturating_add(longest_form_chars())
        .saturating_add(WINDOW_SLACK)
        .saturating_mul(4);
    if body.len() <= window {
        return network_text(&String::from_utf8_lossy(body), max_chars);
    }
    let clean = redact(&String::from_utf8_lossy(&body[..window]));
    let mut out: String = clean.chars().take(max_chars).collect();
    out.push_str(&format!("… [cut: {} bytes in all]", body.len()));
    out
}

#[cfg(test)]
mod tests;
