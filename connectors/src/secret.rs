//! Secrets: where they come from (`{ env }`, `{ file }`, `{ credential }`) and the redacting
//! type that holds them once resolved, so no secret can reach a log, report or error.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod de;

/// Where a secret is read from; the only form a secret may take in the config file (read
/// by `de`, whose errors never show a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// Read from an environment variable of the hrsync process.
    Env(String),
    /// Read from a file (trailing newline stripped).
    File(PathBuf),
    /// Read from `$CREDENTIALS_DIRECTORY/<name>` (systemd `LoadCredential=`).
    Credential(String),
}

/// A config value that may be written in the file when it is not secret (`"hrsync"`) or
/// given as a [`SecretRef`] when it is (`{ env = "NAME" }`). Either way it is held as a
/// [`Secret`] once resolved, so one field can carry a harmless tag or an API key.
#[derive(Clone, PartialEq, Eq)]
pub enum PlainOrSecret {
    /// The value as written in the file.
    Plain(String),
    /// Where the value is read from.
    Ref(SecretRef),
}

impl PlainOrSecret {
    /// Reads the value now (a plain value as it is). `credentials_dir` as in
    /// [`SecretRef::resolve`].
    pub fn resolve(&self, credentials_dir: Option<&Path>) -> Result<Secret, SecretError> {
        match self {
            PlainOrSecret::Plain(v) => Ok(Secret::new(v.clone())),
            PlainOrSecret::Ref(r) => r.resolve(credentials_dir),
        }
    }
}

impl fmt::Debug for PlainOrSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Even a plain value stays out of Debug: the user may have put a secret there.
            PlainOrSecret::Plain(_) => f.write_str("Plain(**REDACTED**)"),
            PlainOrSecret::Ref(r) => f.debug_tuple("Ref").field(r).finish(),
        }
    }
}

impl<'de> Deserialize<'de> for PlainOrSecret {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = PlainOrSecret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or one of { env = \"NAME\" }, { file = \"/path\" }, { credential = \"name\" }")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(PlainOrSecret::Plain(v.to_string()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                // Delegating keeps SecretRef's own messages (unknown variant, extra keys).
                SecretRef::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(PlainOrSecret::Ref)
            }
        }
        de.deserialize_any(Visit)
    }
}

/// Why a secret could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset or empty.
    #[error("environment variable {0} is not set or empty")]
    MissingEnv(String),
    /// The file could not be read or is empty.
    #[error("cannot read secret file {path}: {reason}")]
    File {
        /// The file that was read.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `$CREDENTIALS_DIRECTORY` is unset, so `{ credential }` cannot be used.
    #[error("credential {0:?} requested but $CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=)")]
    NoCredentialsDirectory(String),
}

impl SecretRef {
    /// Reads the secret now. `credentials_dir` overrides `$CREDENTIALS_DIRECTORY` (tests).
    /// The value is registered with the redactor, so no text from the network can show it.
    pub fn resolve(&self, credentials_dir: Option<&Path>) -> Result<Secret, SecretError> {
        let secret = self.read(credentials_dir)?;
        crate::redact::register(secret.expose());
        Ok(secret)
    }

    fn read(&self, credentials_dir: Option<&Path>) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
                _ => Err(SecretError::MissingEnv(name.clone())),
            },
            SecretRef::File(path) => read_secret_file(path),
            SecretRef::Credential(name) => {
                let dir = match credentials_dir {
                    Some(d) => d.to_path_buf(),
                    None => std::env::var_os("CREDENTIALS_DIRECTORY")
                        .map(PathBuf::from)
                        .ok_or_else(|| SecretError::NoCredentialsDirectory(name.clone()))?,
                };
                read_secret_file(&dir.join(name))
            }
        }
    }
}

fn read_secret_file(path: &Path) -> Result<Secret, SecretError> {
    warn_if_open_to_others(path);
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let trimmed = text.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        return Err(SecretError::File {
            path: path.to_path_buf(),
            reason: "file is empty".into(),
        });
    }
    Ok(Secret::new(trimmed.to_string()))
}

/// Warns when a secret file can be read (or changed) by others than its owner: anyone in
/// its group could use the credential.
#[cfg(unix)]
fn warn_if_open_to_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                "Secret file is readable by others than its owner; it should be 0600 or 0400.");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_open_to_others(_path: &Path) {}

/// A resolved secret. Debug and Display print `**REDACTED**`; only [`Secret::expose`] reveals it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The secret's value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

/// Compares a presented token with the expected one in constant time.
pub fn constant_time_eq(presented: &[u8], expected: &Secret) -> bool {
    use sha2::{Digest, Sha256};
    // Hashing first makes the comparison independent of the lengths, too.
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected.expose().as_bytes());
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "**REDACTED**");
        assert_eq!(format!("{s}"), "**REDACTED**");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn file_secret_strips_newline_and_rejects_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("tok");
        std::fs::write(&p, "abc\n").expect("write");
        let s = SecretRef::File(p.clone()).resolve(None).expect("resolve");
        assert_eq!(s.expose(), "abc");
        std::fs::write(&p, "\n").expect("write");
        assert!(SecretRef::File(p).resolve(None).is_err());
    }

    #[test]
    fn credential_reads_from_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("admin-token"), "t0k").expect("write");
        let s = SecretRef::Credential("admin-token".into())
            .resolve(Some(dir.path()))
            .expect("resolve");
        assert_eq!(s.expose(), "t0k");
    }

    #[test]
    fn missing_env_is_an_error_naming_the_variable() {
        let err = SecretRef::Env("HRSYNC_TEST_SURELY_UNSET_VAR".into())
            .resolve(None)
            .expect_err("unset");
        assert!(err.to_string().contains("HRSYNC_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn plain_or_secret_reads_a_string_or_a_reference_and_never_debugs_the_value() {
        #[derive(Debug, Deserialize)]
        struct T {
            v: PlainOrSecret,
        }
        let plain: T = toml::from_str(r#"v = "tag-1""#).expect("plain");
        assert_eq!(plain.v, PlainOrSecret::Plain("tag-1".into()));
        assert_eq!(plain.v.resolve(None).expect("plain").expose(), "tag-1");
        assert!(!format!("{plain:?}").contains("tag-1"), "{plain:?}");

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("api-key"), "k3y\n").expect("write");
        let r: T = toml::from_str(r#"v = { credential = "api-key" }"#).expect("ref");
        assert_eq!(
            r.v,
            PlainOrSecret::Ref(SecretRef::Credential("api-key".into()))
        );
        assert_eq!(r.v.resolve(Some(dir.path())).expect("ref").expose(), "k3y");

        let bad = toml::from_str::<T>(r#"v = { vault = "x" }"#).expect_err("unknown");
        assert!(bad.to_string().contains("vault"), "{bad}");
        let bad = toml::from_str::<T>("v = 5").expect_err("number");
        assert!(bad.to_string().contains("a string or one of"), "{bad}");
    }

    #[test]
    fn constant_time_eq_matches_only_equal() {
        let s = Secret::new("token-1");
        assert!(constant_time_eq(b"token-1", &s));
        assert!(!constant_time_eq(b"token-2", &s));
        assert!(!constant_time_eq(b"", &s));
    }
}
