//! What HR last said about each person, as the state's snapshot holds it (sources merged
//! by priority, as a cycle merges them), and the exceptions that follow from it.

use std::collections::{BTreeMap, BTreeSet};

use hrsync_connectors::source::Person;
use hrsync_state::{CycleKind, StateError, Store};

use super::{Account, Exception, ExceptionKind, PersonAccess};
use crate::config::Settings;

/// How many recent resyncs are searched for the newest one that read an app whole.
const RESYNC_LOOKBACK: usize = 200;

/// The snapshot's persons: the merged record and whether any source still lists them.
pub struct HrPersons {
    persons: BTreeMap<String, (Person, bool)>,
}

impl HrPersons {
    /// Reads every configured source's snapshot and merges the versions of each person.
    pub async fn read(settings: &Settings, store: &Store) -> Result<HrPersons, StateError> {
        let mut sources: Vec<_> = settings.sources.iter().collect();
        // Lowest priority first, so a higher one overlays it.
        sources.sort_by_key(|s| s.priority());
        let mut persons: BTreeMap<String, (Person, bool)> = BTreeMap::new();
        for src in sources {
            for (key, row) in store.snapshot(src.name()).await? {
                let Ok(p) = serde_json::from_value::<Person>(row.record) else {
                    tracing::warn!(source = %src.name(), %key, "Snapshot record unreadable; left out of the review.");
                    continue;
                };
                let present = row.absent_cycles == 0;
                match persons.get_mut(&key) {
                    Some((merged, seen)) => {
                        overlay(merged, p);
                        *seen |= present;
                    }
                    None => {
                        persons.insert(key, (p, present));
                    }
                }
            }
        }
        Ok(HrPersons { persons })
    }

    /// Every HR key in the snapshot.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.persons.keys()
    }

    /// The person's row without accounts yet.
    pub fn person_access(&self, key: &str) -> PersonAccess {
        PersonAccess {
            key: key.to_string(),
            name: self
                .persons
                .get(key)
                .map(|(p, _)| name(p))
                .unwrap_or_default(),
            hr_status: self.status(key).to_string(),
            accounts: Vec::new(),
        }
    }

    /// `active`/`leave`/`terminated` as HR says, `absent` when no source lists the person
    /// any more, `unknown` when the snapshot has no record of them.
    fn status(&self, key: &str) -> &'static str {
        match self.persons.get(key) {
            None => "unknown",
            Some((_, false)) => "absent",
            Some((p, true)) => p.status.as_str(),
        }
    }

    /// The exceptions one linked account raises.
    pub fn exceptions(&self, settings: &Settings, key: &str, account: &Account) -> Vec<Exception> {
        let Some(app) = settings.app(&account.app) else {
            return Vec::new();
        };
        let exception = |kind, reason: String| Exception {
            kind,
            app: account.app.clone(),
            key: Some(key.to_string()),
            id: Some(account.id.clone()),
            user_name: Some(account.user_name.clone()),
            reason,
        };
        if app.policy.is_exempt(key, Some(&account.user_name)) {
            return vec![exception(
                ExceptionKind::Exempt,
                "listed in the app's exempt: hrsync never changes it".into(),
            )];
        }
        if !account.active {
            return Vec::new();
        }
        let status = self.status(key);
        if matches!(status, "terminated" | "absent" | "unknown") {
            let why = match status {
                "terminated" => "HR says the person left".to_string(),
                "absent" => "no HR source lists the person any more".to_string(),
                _ => "HR has no record of the person".to_string(),
            };
            return vec![exception(
                ExceptionKind::ActiveLeaver,
                format!("active, but {why}"),
            )];
        }
        let Some((person, _)) = self.persons.get(key) else {
            return Vec::new();
        };
        match settings.mapper.in_scope(&account.app, person) {
            Ok(true) => Vec::new(),
            Ok(false) => vec![exception(
                ExceptionKind::OutsideScope,
                "active, but the person is outside the app's scope".into(),
            )],
            Err(e) => vec![exception(
                ExceptionKind::OutsideScope,
                format!("active, and the app's scope could not be decided: {e}"),
            )],
        }
    }
}

/// Overlays a higher-priority version: its non-empty fields and its lifecycle win.
fn overlay(merged: &mut Person, p: Person) {
    merged.fields.overlay(&p.fields);
    merged.status = p.status;
    merged.start_date = p.start_date.or(merged.start_date);
    merged.end_date = p.end_date.or(merged.end_date);
}

/// The person's name: `display_name`, else first and last name, as HR gives them.
fn name(p: &Person) -> String {
    let field = |f: &str| p.fields.get_str(f).unwrap_or("").trim().to_string();
    let display = field("display_name");
    if !display.is_empty() {
        return display;
    }
    [field("first_name"), field("last_name")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Accounts the newest resync that read `app` whole found linked to nobody; an exempt one
/// is listed as exempt.
pub async fn orphans(
    settings: &Settings,
    store: &Store,
    app: &str,
) -> Result<Vec<Exception>, StateError> {
    let resyncs = store
        .recent_summaries(Some(CycleKind::Resync), RESYNC_LOOKBACK)
        .await?;
    let found = resyncs.iter().find_map(|c| {
        let whole = c.summary["only_users"]
            .as_array()
            .is_none_or(|u| u.is_empty());
        let entry = c.summary["apps"]
            .as_array()?
            .iter()
            .find(|a| a["name"] == app)?;
        (whole && entry["circuit_open"].is_null())
            .then(|| (c.id, entry["orphans"].as_array().cloned()))
    });
    let Some((cycle, Some(orphans))) = found else {
        return Ok(Vec::new());
    };
    let policy = settings.app(app).map(|a| &a.policy);
    Ok(orphans
        .iter()
        .map(|o| {
            let user_name = o["userName"].as_str().unwrap_or_default();
            let external = o["externalId"].as_str().unwrap_or_default();
            let exempt = policy.is_some_and(|p| p.is_exempt(external, Some(user_name)));
            let active = if o["active"] == true { "active" } else { "inactive" };
            Exception {
                kind: if exempt { ExceptionKind::Exempt } else { ExceptionKind::Orphan },
                app: app.to_string(),
                key: None,
                id: o["id"].as_str().map(str::to_string),
                user_name: Some(user_name.to_string()),
                reason: if exempt {
                    format!("{active} account listed in the app's exempt, linked to nobody (resync cycle {cycle})")
                } else {
                    format!("{active} account linked to no HR person (found by resync cycle {cycle})")
                },
            }
        })
        .collect())
}

/// Entries of the app's `exempt` that match no linked account: accounts hrsync never
/// creates, changes or removes (break-glass and service accounts).
pub fn unlinked_exempt(
    settings: &Settings,
    app: &str,
    linked: &BTreeSet<String>,
) -> Vec<Exception> {
    let Some(a) = settings.app(app) else {
        return Vec::new();
    };
    a.policy
        .exempt
        .iter()
        .filter(|e| !linked.contains(*e))
        .map(|e| Exception {
            kind: ExceptionKind::Exempt,
            app: app.to_string(),
            key: None,
            id: None,
            user_name: Some(e.clone()),
            reason: "listed in the app's exempt: hrsync never creates, changes or removes it"
                .into(),
        })
        .collect()
}
