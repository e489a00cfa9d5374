//! Reading a [`SecretRef`] from the config without ever echoing a value: a secret written
//! inline where `{ env | file | credential }` belongs is refused with a message that names
//! what was found (a string, a number), never the string itself.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::SecretRef;

/// What a secret-typed key expects, as the error messages say it.
const EXPECTED: &str = "one of { env = \"NAME\" }, { file = \"/path\" }, { credential = \"name\" }";

/// The longest unknown key shown in a message; anything longer may be a pasted value.
const MAX_SHOWN_KEY: usize = 32;

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(RefVisitor)
    }
}

struct RefVisitor;

/// The error for a value of the wrong shape: says what it was, never what it held.
fn inline<E: de::Error>(what: &str) -> E {
    E::custom(format!(
        "a secret cannot be written inline ({what} found, value not shown); use {EXPECTED}"
    ))
}

/// An unknown key of the secret's table, shown only when it reads like a key name.
fn unknown_key<E: de::Error>(key: &str) -> E {
    let plain = key.len() <= MAX_SHOWN_KEY
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let shown = if plain {
        format!("`{key}`")
    } else {
        "a key that is not a name (not shown)".to_string()
    };
    E::custom(format!(
        "unknown secret source {shown}, expected `env`, `file` or `credential`"
    ))
}

impl<'de> Visitor<'de> for RefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretRef, E> {
        Err(inline("a string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretRef, E> {
        Err(inline("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretRef, E> {
        Err(inline("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretRef, E> {
        Err(inline("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretRef, E> {
        Err(inline("a number"))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<SecretRef, E> {
        Err(inline("bytes"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<SecretRef, E> {
        Err(inline("an empty value"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<SecretRef, A::Error> {
        Err(inline("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        let mut found: Option<SecretRef> = None;
        while let Some(key) = map.next_key::<String>()? {
            let make: fn(String) -> SecretRef = match key.as_str() {
                "env" => SecretRef::Env,
                "file" => |s| SecretRef::File(PathBuf::from(s)),
                "credential" => SecretRef::Credential,
                other => return Err(unknown_key(other)),
            };
            let value = map
                .next_value::<Name>()
                .map_err(|_| de::Error::custom(format!("`{key}` must be a string")))?;
            if found.is_some() {
                return Err(de::Error::custom(format!("give exactly {EXPECTED}")));
            }
            found = Some(make(value.0));
        }
        found.ok_or_else(|| de::Error::custom(format!("empty table; use {EXPECTED}")))
    }
}

/// The string under `env`, `file` or `credential` (a name or path, not the secret).
struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        String::deserialize(de).map(Name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct T {
        #[allow(dead_code)]
        token: SecretRef,
    }

    /// The error text alone (TOML's own display quotes the source line, which the config
    /// loader never prints).
    fn err(text: &str) -> String {
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => return format!("not TOML: {e}"),
        };
        match T::deserialize(toml::Value::Table(table)) {
            Ok(t) => format!("unexpectedly read {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn references_read_as_before() {
        let t: T = toml::from_str(r#"token = { env = "SLACK_TOKEN" }"#).expect("env");
        assert_eq!(t.token, SecretRef::Env("SLACK_TOKEN".into()));
        let t: T = toml::from_str(r#"token = { file = "/run/t" }"#).expect("file");
        assert_eq!(t.token, SecretRef::File("/run/t".into()));
        let t: T = toml::from_str(r#"token = { credential = "c" }"#).expect("credential");
        assert_eq!(t.token, SecretRef::Credential("c".into()));
    }

    #[test]
    fn an_inline_secret_is_refused_without_being_echoed() {
        for text in [
            r#"token = "xoxb-1234567890-secret""#,
            r#"token = ["xoxb-1234567890-secret"]"#,
            r#"token = { "xoxb-1234567890-secret-and-then-some" = "x" }"#,
        ] {
            let e = err(text);
            assert!(!e.contains("xoxb-1234567890-secret"), "{text}: {e}");
            assert!(e.contains("env") && e.contains("credential"), "{text}: {e}");
        }
        let e = err(r#"token = { env = ["xoxb-1234567890-secret"] }"#);
        assert!(!e.contains("xoxb-1234567890-secret") && e.contains("`env` must be a string"));
        let e = err("token = 1234567890");
        assert!(!e.contains("1234567890") && e.contains("a number"), "{e}");
        let e = err(r#"token = { vault = "x" }"#);
        assert!(e.contains("`vault`"), "{e}");
        let e = err(r#"token = { env = "A", file = "/b" }"#);
        assert!(e.contains("exactly"), "{e}");
        let e = err("token = {}");
        assert!(e.contains("empty"), "{e}");
    }
}
