//! The access review: for every person hrsync manages, the accounts and groups they hold
//! in each app, since when, and the exceptions an auditor asks about. Built from the state
//! alone (links, groups, HR snapshot, audit trail, the last resync's findings): no app is
//! called.

mod history;
mod hr;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use hrsync_state::{LinkLifecycle, StateError, Store};
use serde::Serialize;

use crate::config::Settings;

pub use history::Grant;

/// Output format of `hrsync access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessFormat {
    /// One row per person and account (spreadsheets).
    Csv,
    /// The whole review as one JSON document.
    Json,
    /// One self-contained HTML page.
    Html,
}

/// The review document.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// When it was produced.
    pub generated_at: DateTime<Utc>,
    /// The apps it covers.
    pub apps: Vec<String>,
    /// Every managed person, by HR key.
    pub persons: Vec<PersonAccess>,
    /// Accounts an auditor should look at, with why.
    pub exceptions: Vec<Exception>,
}

/// One person and what they can reach.
#[derive(Debug, Clone, Serialize)]
pub struct PersonAccess {
    /// HR key.
    pub key: String,
    /// Name as HR gives it (empty when HR no longer lists the person).
    pub name: String,
    /// `active`, `leave`, `terminated`, `absent` (gone from HR) or `unknown` (never read).
    pub hr_status: String,
    /// One entry per app account hrsync links to the person.
    pub accounts: Vec<Account>,
}

/// One linked account.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// App name.
    pub app: String,
    /// The app's account id.
    pub id: String,
    /// Its userName.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// Whether it is active (false once deactivated or deleted).
    pub active: bool,
    /// `active`, `inactive` or `deleted`.
    pub lifecycle: String,
    /// `created` by hrsync or `adopted` (linked to an existing account).
    pub ownership: String,
    /// Managed groups it is a member of.
    pub groups: Vec<String>,
    /// When and how access was last granted and last changed (from the audit trail).
    #[serde(flatten)]
    pub grant: Grant,
}

/// What kind of exception an account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Still active although HR says the person left (terminated or gone from HR).
    ActiveLeaver,
    /// Listed in the app's `exempt`: hrsync never touches it.
    Exempt,
    /// In the app but linked to nobody (found by the last resync).
    Orphan,
    /// Active although the person is outside the app's scope.
    OutsideScope,
}

impl ExceptionKind {
    /// The name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::ActiveLeaver => "active_leaver",
            ExceptionKind::Exempt => "exempt",
            ExceptionKind::Orphan => "orphan",
            ExceptionKind::OutsideScope => "outside_scope",
        }
    }
}

/// An account an auditor should look at.
#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    /// Which kind.
    pub kind: ExceptionKind,
    /// App name.
    pub app: String,
    /// HR key, when the account is linked to a person.
    pub key: Option<String>,
    /// Account id.
    pub id: Option<String>,
    /// Its userName.
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
    /// Why it is listed.
    pub reason: String,
}

/// Builds the review of `apps` (configured or known to the state) from the state.
pub async fn build(
    settings: &Settings,
    store: &Store,
    apps: &[String],
    now: DateTime<Utc>,
) -> Result<Review, StateError> {
    let hr = hr::HrPersons::read(settings, store).await?;
    let grants = history::grants(store).await?;
    let mut persons: BTreeMap<String, PersonAccess> = BTreeMap::new();
    for key in hr.keys() {
        persons.insert(key.clone(), hr.person_access(key));
    }
    let mut exceptions = Vec::new();
    for app in apps {
        let groups = history::memberships(store, app).await?;
        // Keys and userNames of linked accounts, lowercased as `exempt` entries are.
        let mut linked = BTreeSet::new();
        for link in store.links(Some(app)).await? {
            linked.insert(link.person_key.to_lowercase());
            linked.insert(link.user_name.to_lowercase());
            let account = Account {
                app: app.clone(),
                id: link.remote_id.clone(),
                user_name: link.user_name.clone(),
                active: link.lifecycle == LinkLifecycle::Active,
                lifecycle: link.lifecycle.as_str().to_string(),
                ownership: link.ownership.as_str().to_string(),
                groups: groups.get(&link.person_key).cloned().unwrap_or_default(),
                grant: grants
                    .get(&(app.clone(), link.person_key.clone()))
                    .cloned()
                    .unwrap_or_else(|| Grant::from_link(&link)),
            };
            exceptions.extend(hr.exceptions(settings, &link.person_key, &account));
            persons
                .entry(link.person_key.clone())
                .or_insert_with(|| hr.person_access(&link.person_key))
                .accounts
                .push(account);
        }
        exceptions.extend(hr::unlinked_exempt(settings, app, &linked));
        exceptions.extend(hr::orphans(settings, store, app).await?);
    }
    exceptions.sort_by(|a, b| (a.kind, &a.app, &a.key).cmp(&(b.kind, &b.app, &b.key)));
    Ok(Review {
        generated_at: now,
        apps: apps.to_vec(),
        persons: persons.into_values().collect(),
        exceptions,
    })
}
