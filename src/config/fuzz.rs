//! Config loading never panics: arbitrary text, and the shipped example damaged line by line
//! (lines dropped, doubled, swapped, cut, values replaced by hostile ones), loads into
//! `Settings` or fails with a `ConfigError` that names its line (or, for a file-level
//! problem such as no `[[apps]]`, names no key at all).
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

/// The example config, with its `{ credential }` secrets readable from a directory.
struct Example {
    text: String,
    creds: tempfile::TempDir,
}

fn example() -> Example {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config.example.toml")).expect("example");
    let creds = tempfile::tempdir().expect("tempdir");
    for name in ["bamboohr-api-key", "slack-scim-token", "github-scim-token"] {
        std::fs::write(creds.path().join(name), format!("{name}-value")).expect("write");
    }
    Example { text, creds }
}

/// Loads `text` as a config and checks the outcome's shape.
fn load_checked(text: &str, creds: &Path) -> Result<(), TestCaseError> {
    let opts = LoadOptions {
        credentials_dir: Some(PathBuf::from(creds)),
    };
    match parse(Path::new("/etc/hrsync/config.toml"), text, &opts) {
        Ok(_) => Ok(()),
        Err(e) => {
            prop_assert!(!e.message.is_empty(), "empty message");
            prop_assert!(
                e.line.is_some() || e.key.is_none(),
                "an error about a key must name its line: {e}"
            );
            if let Some(line) = e.line {
                prop_assert!(line >= 1 && line <= text.lines().count() + 1, "{e}");
            }
            Ok(())
        }
    }
}

/// Values that break assumptions: extremes, wrong types, template syntax, quotes.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("18446744073709551615".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e308".to_string()),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"\"".to_string()),
        Just("\"{{ nope | nofilter }}\"".to_string()),
        Just("\"{% if %}\"".to_string()),
        Just("\"213503982334602d\"".to_string()),
        Just("\"0 0 31 2 *\"".to_string()),
        Just("{ env = \"HRSYNC_FUZZ_UNSET\" }".to_string()),
        Just("{ file = \"/nonexistent/secret\" }".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[ -~]{0,24}".prop_map(|s| format!("{s:?}")),
        "\\PC{0,12}".prop_map(|s| format!("'{s}'")),
    ]
}

/// One damage to the example's lines.
#[derive(Debug, Clone)]
enum Damage {
    Drop(usize),
    Double(usize),
    Swap(usize, usize),
    Value(usize, String),
    Cut(usize),
    Insert(usize, String),
}

fn damage() -> impl Strategy<Value = Damage> {
    let at = any::<usize>();
    prop_oneof![
        at.prop_map(Damage::Drop),
        at.prop_map(Damage::Double),
        (at, any::<usize>()).prop_map(|(a, b)| Damage::Swap(a, b)),
        (at, hostile_value()).prop_map(|(a, v)| Damage::Value(a, v)),
        (at, hostile_value()).prop_map(|(a, v)| Damage::Value(a, v)),
        at.prop_map(Damage::Cut),
        (at, "[\\[\\]{}=\"'#.\\n a-z0-9]{0,16}").prop_map(|(a, s)| Damage::Insert(a, s)),
    ]
}

/// Applies the damages to the text's lines.
fn apply(text: &str, damages: &[Damage]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for d in damages {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match d {
            Damage::Drop(i) => {
                lines.remove(i % n);
            }
            Damage::Double(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Damage::Swap(a, b) => lines.swap(a % n, b % n),
            Damage::Value(i, v) => {
                let l = &mut lines[i % n];
                if let Some((k, _)) = l.split_once(" = ") {
                    *l = format!("{k} = {v}");
                }
            }
            Damage::Cut(i) => {
                let l = &mut lines[i % n];
                let at = (i / n) % (l.len() + 1);
                let at = (0..=at).rev().find(|c| l.is_char_boundary(*c)).unwrap_or(0);
                l.truncate(at);
            }
            Damage::Insert(i, s) => lines.insert(i % n, s.clone()),
        }
    }
    lines.join("\n")
}

/// 512 cases per property, or `PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), .. ProptestConfig::default() })]

    #[test]
    fn the_damaged_example_loads_or_names_its_line(
        damages in prop::collection::vec(damage(), 1..5)
    ) {
        let ex = example();
        load_checked(&apply(&ex.text, &damages), ex.creds.path())?;
    }

    #[test]
    fn arbitrary_text_loads_or_names_its_line(text in "\\PC{0,400}") {
        let ex = example();
        load_checked(&text, ex.creds.path())?;
    }

    #[test]
    fn arbitrary_toml_shapes_load_or_name_their_line(
        keys in prop::collection::vec(
            (
                prop_oneof![
                    Just("[daemon]"), Just("[guards]"), Just("[lifecycle]"),
                    Just("[[sources]]"), Just("[[apps]]"), Just("[apps.attributes]"),
                    Just("[[apps.groups]]"), Just(""),
                ],
                "[a-z_]{1,12}",
                hostile_value(),
            ),
            0..12,
        )
    ) {
        let ex = example();
        let text: String = keys
            .iter()
            .map(|(table, k, v)| format!("{table}\n{k} = {v}\n"))
            .collect();
        load_checked(&text, ex.creds.path())?;
    }
}
