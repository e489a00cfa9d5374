//! `hrsync access`: the access review — every managed person's accounts and groups per
//! app, since when, and the exceptions an auditor asks about. Reads only the state.

use std::collections::BTreeSet;
use std::io::Write;

use hrsync_state::Store;

use crate::access::{self, render};
use crate::cli::AccessArgs;
use crate::config::Settings;
use crate::error::{CommandError, CommandResult};
use crate::report::write::{write_named, Privacy};

/// Runs `access`.
pub async fn run(settings: &Settings, args: AccessArgs) -> CommandResult {
    let runtime = |e: hrsync_state::StateError| CommandError::Runtime(e.into());
    let configured = settings.apps.iter().map(|a| a.name.clone());
    if !settings.state_path.exists() {
        // No cycle has run: hrsync manages nobody yet, and the review says so.
        let apps: BTreeSet<String> = configured.collect();
        refuse_unknown(args.app.as_deref(), &apps)?;
        let review = access::Review {
            generated_at: crate::clock::now(),
            apps: selected(args.app, apps),
            persons: Vec::new(),
            exceptions: Vec::new(),
        };
        return emit(&review, &args.format, args.output.as_deref());
    }
    let store = Store::open_read_only(&settings.state_path)
        .await
        .map_err(runtime)?;
    // An app removed from the config still has accounts hrsync made: they are reviewed too.
    let mut known: BTreeSet<String> = store.known_apps().await.map_err(runtime)?;
    known.extend(configured);
    refuse_unknown(args.app.as_deref(), &known)?;
    let apps = selected(args.app, known);
    let review = access::build(settings, &store, &apps, crate::clock::now())
        .await
        .map_err(runtime)?;
    emit(&review, &args.format, args.output.as_deref())
}

/// The one app asked for, or every app known.
fn selected(app: Option<String>, known: BTreeSet<String>) -> Vec<String> {
    match app {
        Some(a) => vec![a],
        None => known.into_iter().collect(),
    }
}

/// Prints the review, or writes it to the file the user named.
fn emit(
    review: &access::Review,
    format: &access::AccessFormat,
    output: Option<&std::path::Path>,
) -> CommandResult {
    let text = render::render(review, *format).map_err(|e| CommandError::Runtime(e.into()))?;
    match output {
        Some(path) => write_named(path, text.as_bytes(), Privacy::Personal)
            .map_err(|e| CommandError::Usage(e.to_string()))?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| CommandError::Runtime(e.into()))?,
    }
    Ok(0)
}

/// An `--app` neither configured nor in the state is a typo (exit 2, naming what exists).
fn refuse_unknown(app: Option<&str>, known: &BTreeSet<String>) -> Result<(), CommandError> {
    match app {
        Some(a) if !known.contains(a) => Err(CommandError::Usage(format!(
            "unknown app {a:?}; configured or in the state: {}",
            super::list_names(known.iter().map(String::as_str))
        ))),
        _ => Ok(()),
    }
}
