//! Whose account is whose when the app's accounts were read (drift detection, resync):
//! linked accounts first, then an account carrying the person's key as `externalId`, then
//! an unstamped account with the person's userName or email. Whatever no HR person claims
//! is an orphan.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::input::{AppInput, DesiredPerson, LinkLifecycle, LinkState, OrphanPolicy, RemoteUser};
use super::plan::{AppPlan, OpKind, Operation, Orphan};

/// How an unlinked account was found for a person.
#[derive(Debug, Clone, Copy)]
pub(super) enum Found<'a> {
    /// It carries the person's key as `externalId`: hrsync created or linked it.
    ExternalId(&'a RemoteUser),
    /// It carries no `externalId` but has the person's userName or email (the word says
    /// which): the create's lookup will find it and `on_unlinked_match` decides.
    Matches(&'a RemoteUser, &'static str),
}

impl<'a> Found<'a> {
    /// The account.
    pub(super) fn account(self) -> &'a RemoteUser {
        match self {
            Found::ExternalId(u) | Found::Matches(u, _) => u,
        }
    }
}

/// The app's accounts, indexed for claiming.
pub(super) struct Accounts<'a> {
    /// The accounts read for drift and orphans (the whole app).
    remote: Option<&'a BTreeMap<String, RemoteUser>>,
    /// Whether any accounts were read (for drift, or only to plan creates).
    read: bool,
    /// Whether an unstamped account is matched by userName, and by email (`match_on`).
    by: (bool, bool),
    by_ext: BTreeMap<&'a str, &'a RemoteUser>,
    by_name: BTreeMap<String, Vec<&'a RemoteUser>>,
    by_email: BTreeMap<String, Vec<&'a RemoteUser>>,
    claimed: BTreeSet<String>,
}

fn is_email_path(path: &str) -> bool {
    path == "emails" || path.starts_with("emails[") || path.starts_with("emails.")
}

impl<'a> Accounts<'a> {
    /// Indexes the accounts (none when the app was not read): `remote`, read for drift and
    /// orphans, or else `candidates`, read only to plan creates. Every linked account is
    /// claimed up front, so no other person can take it.
    pub(super) fn new(
        remote: Option<&'a BTreeMap<String, RemoteUser>>,
        candidates: Option<&'a BTreeMap<String, RemoteUser>>,
        links: &BTreeMap<String, LinkState>,
    ) -> Self {
        let indexed = remote.or(candidates);
        let mut a = Accounts {
            remote,
            read: indexed.is_some(),
            by: (true, true),
            by_ext: BTreeMap::new(),
            by_name: BTreeMap::new(),
            by_email: BTreeMap::new(),
            claimed: BTreeSet::new(),
        };
        if indexed.is_none() {
            // Nothing to find or to report as an orphan: claiming would only copy every
            // link's id (a million strings at a million persons) for nothing.
            return a;
        }
        a.claimed = links
            .values()
            .filter(|l| l.lifecycle != LinkLifecycle::Deleted)
            .map(|l| l.remote_id.clone())
            .collect();
        for u in indexed.into_iter().flat_map(|r| r.values()) {
            match u.external_id.as_deref().filter(|e| !e.is_empty()) {
                Some(e) => {
                    a.by_ext.insert(e, u);
                }
                None => {
                    a.by_name
                        .entry(u.user_name.to_lowercase())
                        .or_default()
                        .push(u);
                    for (path, v) in &u.attrs {
                        if let (true, Some(s)) = (is_email_path(path), v.as_str()) {
                            a.by_email.entry(s.to_lowercase()).or_default().push(u);
                        }
                    }
                }
            }
        }
        a
    }

    /// An unclaimed account for the person: by `externalId`, else by userName, else by
    /// email. userName is unique in an app, so an unstamped account with the person's
    /// userName is theirs to adopt (or blocks their create); never a bystander.
    pub(super) fn find(&self, key: &str, person: &DesiredPerson) -> Option<Found<'a>> {
        let free = |u: &RemoteUser| !self.claimed.contains(&u.id);
        if let Some(u) = self.by_ext.get(key).filter(|u| free(u)) {
            return Some(Found::ExternalId(u));
        }
        let value = |path: &str| match person.attrs.value(path) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.to_lowercase()),
            _ => None,
        };
        if let Some(name) = value("userName").filter(|_| self.by.0) {
            if let Some(u) = self
                .by_name
                .get(&name)
                .and_then(|v| v.iter().find(|u| free(u)))
            {
                return Some(Found::Matches(u, "userName"));
            }
        }
        if !self.by.1 {
            return None;
        }
        person
            .attrs
            .values()
            .keys()
            .filter(|p| is_email_path(p))
            .filter_map(value)
            .find_map(|e| {
                self.by_email
                    .get(&e)
                    .and_then(|v| v.iter().find(|u| free(u)))
            })
            .map(|u| Found::Matches(u, "email"))
    }

    /// Matches unstamped accounts only by the attributes `match_on` names.
    pub(super) fn match_on(&mut self, user_name: bool, email: bool) {
        self.by = (user_name, email);
    }

    /// True when the app's accounts were read, so a person without a match has none.
    pub(super) fn was_read(&self) -> bool {
        self.read
    }

    /// Marks an account as a person's: it is no orphan.
    pub(super) fn claim(&mut self, id: &str) {
        self.claimed.insert(id.to_string());
    }

    /// Lists the accounts nobody claimed (exempt ones aside) and, under
    /// `orphans = "deactivate"`, plans their deactivation.
    pub(super) fn orphans(&self, plan: &mut AppPlan, input: &AppInput<'_>) {
        let Some(remote) = self.remote else {
            return;
        };
        for u in remote.values() {
            if self.claimed.contains(&u.id) {
                continue;
            }
            let key = u.external_id.clone().unwrap_or_default();
            if input.policy.is_exempt(&key, Some(&u.user_name)) {
                continue;
            }
            plan.orphans.push(Orphan {
                id: u.id.clone(),
                user_name: u.user_name.clone(),
                external_id: u.external_id.clone(),
                active: u.active,
            });
        }
        if input.policy.orphans == OrphanPolicy::Deactivate {
            for o in plan.orphans.clone() {
                if !o.active {
                    continue;
                }
                let mut op = Operation::new(OpKind::Deactivate, format!("orphan:{}", o.id));
                op.remote_id = Some(o.id.clone());
                op.user_name = Some(o.user_name.clone());
                op.active = Some(false);
                op.reason = Some("orphan (orphans = \"deactivate\")".into());
                plan.operations.push(op);
            }
        }
    }
}
