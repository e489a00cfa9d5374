//! Running the `hrsync` binary on a pseudo-terminal, as an operator at a shell meets it:
//! `script` gives the command a terminal and copies what it drew to stdout.

use super::{blocking, Env};

/// Single-quotes a word for `sh -c`.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The `script` command that runs `hrsync --config <env> <args>` on a pseudo-terminal.
pub fn script_command(env: &Env, args: &[&str]) -> std::process::Command {
    let config = env.config.display().to_string();
    let line = [env!("CARGO_BIN_EXE_hrsync"), "--config", &config]
        .iter()
        .chain(args)
        .map(|w| quoted(w))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_remove("HRSYNC_CONFIG")
        .env("HRSYNC_LOG", "warn");
    cmd
}

/// Runs `hrsync <args>` on a pseudo-terminal to its end; stdout holds what it drew.
pub async fn on_terminal(env: &Env, args: &[&str]) -> std::process::Output {
    let mut cmd = script_command(env, args);
    blocking(move || cmd.output().expect("run script")).await
}
