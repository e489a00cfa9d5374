//! Shell completions and man pages, made by the binary from its own command line.

use std::process::{Command, Output, Stdio};

const SUBCOMMANDS: [&str; 10] = [
    "check",
    "plan",
    "apply",
    "run",
    "resync",
    "status",
    "audit",
    "sandbox",
    "demo",
    "completions",
];

fn hrsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .args(args)
        .env_remove("HRSYNC_CONFIG")
        .output()
        .expect("run hrsync")
}

fn completions(shell: &str) -> String {
    let out = hrsync(&["completions", shell]);
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out));
    String::from_utf8(out.stdout).expect("utf-8 script")
}

#[test]
fn the_bash_script_completes_every_subcommand_and_bash_parses_it() {
    let script = completions("bash");
    for sub in SUBCOMMANDS {
        assert!(
            script.contains(sub),
            "bash completion lacks {sub}: {script}"
        );
    }
    assert!(script.contains("--allow-mass-deprovision"), "{script}");
    assert!(
        script.contains("complete -F"),
        "a bash completion: {script}"
    );
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bash");
    std::io::Write::write_all(bash.stdin.as_mut().expect("stdin"), script.as_bytes())
        .expect("feed bash");
    let checked = bash.wait_with_output().expect("bash -n");
    assert!(
        checked.status.success(),
        "bash -n refused the script: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn zsh_and_fish_scripts_name_the_subcommands_and_unknown_shells_are_refused() {
    let zsh = completions("zsh");
    assert!(zsh.starts_with("#compdef hrsync"), "{zsh}");
    let fish = completions("fish");
    assert!(fish.contains("complete -c hrsync"), "{fish}");
    for sub in SUBCOMMANDS {
        assert!(zsh.contains(sub) && fish.contains(sub), "{sub} missing");
    }
    let out = hrsync(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{}", crate::util::text(&out));
}

#[test]
fn man_pages_cover_hrsync_and_each_subcommand_with_their_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hrsync(&["man", "--dir", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out));
    let page = |name: &str| {
        std::fs::read_to_string(dir.path().join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("no page {name}.1: {e}"))
    };
    let main = page("hrsync");
    assert!(main.starts_with(".ie"), "a roff page: {main}");
    for sub in SUBCOMMANDS {
        assert!(
            main.contains(&format!("hrsync\\-{sub}")),
            "hrsync(1) lists {sub}"
        );
        let own = page(&format!("hrsync-{sub}"));
        assert!(own.contains(&format!(".TH hrsync-{sub} 1")), "{own}");
        let source = format!("\"hrsync {}\"", env!("CARGO_PKG_VERSION"));
        assert!(own.contains(&source), "{own}");
    }
    let apply = page("hrsync-apply");
    for flag in [
        "allow\\-mass\\-deprovision",
        "\\-\\-plan",
        "wait\\-secs",
        "\\-\\-yes",
    ] {
        assert!(
            apply.contains(flag),
            "hrsync-apply(1) lacks {flag}: {apply}"
        );
    }
    assert!(
        apply.contains("Release deprovisions held by the mass"),
        "flags come with their help text: {apply}"
    );
}
