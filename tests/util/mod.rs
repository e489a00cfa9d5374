//! Test helpers: a workspace with a config, an HR file and a state file; the `hrsync`
//! binary; sandboxes on loopback; small readers of what the app holds.

#![allow(dead_code)]

pub mod admin;
pub mod push;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::Output;

use hrsync_sandbox::{self as sandbox, SandboxHandle, SandboxOptions};
use serde_json::Value;

pub const TOKEN: &str = "test-token-0123456789";

/// The standard HR header used by the tests.
pub const HEADER: &str =
    "employee_id,first_name,last_name,email,department,job_title,status,start_date,end_date,manager_id\n";

/// A temporary hrsync installation: config, HR file, state.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub hr: PathBuf,
    pub state: PathBuf,
    pub token_file: PathBuf,
}

impl Env {
    /// A new environment with the HR file holding `hr` (header included by the caller).
    pub fn new(hr: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let hr_path = dir.path().join("hr.csv");
        std::fs::write(&hr_path, hr).expect("write hr");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, TOKEN).expect("write token");
        // As an operator would keep it: hrsync warns about a secret file open to others.
        std::fs::set_permissions(
            &token_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod token");
        Env {
            config: dir.path().join("config.toml"),
            state: dir.path().join("state.db"),
            hr: hr_path,
            token_file,
            dir,
        }
    }

    /// Writes the HR file.
    pub fn set_hr(&self, hr: &str) {
        std::fs::write(&self.hr, hr).expect("write hr");
    }

    /// Writes a config with one csv source and the given `[[apps]]` blocks appended.
    pub fn write_config(&self, extra: &str) {
        let text = format!(
            r#"[daemon]
state_path = "{state}"

[guards]
max_deprovision_count = 50

[[sources]]
name = "hris"
kind = "csv"
path = "{hr}"
key = "employee_id"

{extra}"#,
            state = self.state.display(),
            hr = self.hr.display(),
        );
        std::fs::write(&self.config, text).expect("write config");
    }

    /// Adds keys to the config's `[daemon]` table (after `write_config`).
    pub fn add_daemon_keys(&self, keys: &str) {
        let cfg = std::fs::read_to_string(&self.config).expect("read config");
        let cfg = cfg.replacen("[daemon]\n", &format!("[daemon]\n{keys}\n"), 1);
        std::fs::write(&self.config, cfg).expect("write config");
    }

    /// A standard app block pointing at `base_url`.
    pub fn app(&self, name: &str, base_url: &str, extra: &str) -> String {
        format!(
            r#"[[apps]]
name = "{name}"
base_url = "{base_url}"
auth = {{ kind = "bearer", token = {{ file = "{token}" }} }}
{extra}

[apps.attributes]
userName = "{{{{ email | lower }}}}"
displayName = "{{{{ first_name }}}} {{{{ last_name }}}}"
"name.givenName" = "{{{{ first_name }}}}"
"name.familyName" = "{{{{ last_name }}}}"
"emails[type eq \"work\"].value" = "{{{{ email | lower }}}}"
title = "{{{{ job_title }}}}"
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" = "{{{{ department }}}}"
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager" = "{{{{ manager_id | ref }}}}"
"#,
            token = self.token_file.display()
        )
    }

    /// Runs `hrsync --config <config> <args>`.
    pub fn hrsync(&self, args: &[&str]) -> Output {
        hrsync_cmd(&self.config, args)
    }
}

/// Runs the hrsync binary.
pub fn hrsync_cmd(config: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("HRSYNC_CONFIG")
        .env("HRSYNC_LOG", "warn")
        .output()
        .expect("run hrsync")
}

/// stdout + stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts a sandbox requiring the test token.
pub async fn sandbox() -> SandboxHandle {
    sandbox::start(SandboxOptions {
        token: Some(TOKEN.to_string()),
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox")
}

/// Starts a sandbox with options.
pub async fn sandbox_with(opts: SandboxOptions) -> SandboxHandle {
    sandbox::start(SandboxOptions {
        token: Some(TOKEN.to_string()),
        ..opts
    })
    .await
    .expect("sandbox")
}

/// The user with this externalId, if any.
pub fn by_external_id<'a>(users: &'a [Value], key: &str) -> Vec<&'a Value> {
    users
        .iter()
        .filter(|u| u["externalId"].as_str() == Some(key))
        .collect()
}

/// The user with this userName (case-insensitive), if any.
pub fn by_user_name<'a>(users: &'a [Value], name: &str) -> Vec<&'a Value> {
    users
        .iter()
        .filter(|u| {
            u["userName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .collect()
}

/// Runs a blocking closure (the hrsync binary) without stalling the sandbox's runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("join")
}

/// Starts `hrsync run` on the environment's config at log level `level`, with stderr going
/// to `log` (discarded when `None`) and `vars` added to its environment.
pub fn spawn_run(
    env: &Env,
    log: Option<&Path>,
    level: &str,
    vars: &[(&str, String)],
) -> std::process::Child {
    let stderr = match log {
        Some(path) => std::process::Stdio::from(std::fs::File::create(path).expect("create log")),
        None => std::process::Stdio::null(),
    };
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"));
    cmd.arg("--config")
        .arg(&env.config)
        .arg("run")
        .env_remove("HRSYNC_CONFIG")
        .env("HRSYNC_LOG", level)
        .stdout(std::process::Stdio::null())
        .stderr(stderr);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn hrsync run")
}
