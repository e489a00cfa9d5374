//! An in-memory app and an executor of plans against it, mirroring what the engine does
//! (lookup before create, link outcomes via `outcome::link_after`, second pass for refs).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use hrsync_connectors::source::Lifecycle;
use serde_json::Value;

use crate::mapping::Mapped;
use crate::reconcile::input::*;
use crate::reconcile::outcome::{link_after, resolve_pending, with_resolved};
use crate::reconcile::plan::{AppPlan, OpKind};
use crate::reconcile::{plan_app, ConflictRule};

/// An account in the model app.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub external_id: Option<String>,
    pub user_name: String,
    pub active: bool,
    pub attrs: BTreeMap<String, Value>,
}

/// The model app plus hrsync's links to it.
#[derive(Debug, Default, Clone)]
pub struct World {
    pub accounts: BTreeMap<String, Account>,
    pub links: BTreeMap<String, LinkState>,
    pub next_id: u64,
    pub creates: BTreeMap<String, usize>,
    pub deleted: Vec<String>,
    pub deactivated: Vec<String>,
}

pub fn policy() -> AppPolicy {
    AppPolicy {
        name: "app".into(),
        profile: "generic".into(),
        leave: LeavePolicy::Keep,
        pre_provision_days: 3,
        delete_after_days: Some(30),
        exempt: ["breakglass@corp.example".to_string()].into(),
        conflicts: ConflictRules {
            default: ConflictRule::HrWins,
            per_path: BTreeMap::new(),
        },
        absence_grace_cycles: 3,
        orphans: OrphanPolicy::Report,
        delete_empty_groups: false,
    }
}

pub fn day(n: u32) -> DateTime<Utc> {
    let d = NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(n))))
        .expect("date");
    d.and_hms_opt(9, 0, 0).expect("time").and_utc()
}

#[allow(clippy::too_many_arguments)]
pub fn person(
    key: &str,
    status: Lifecycle,
    title: &str,
    in_scope: bool,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    manager: Option<&str>,
    absent_cycles: u32,
) -> DesiredPerson {
    let mut attrs = BTreeMap::new();
    attrs.insert(
        "userName".to_string(),
        Mapped::Value(Value::String(format!(
            "{}@corp.example",
            key.to_lowercase()
        ))),
    );
    if !title.is_empty() {
        attrs.insert(
            "title".to_string(),
            Mapped::Value(Value::String(title.into())),
        );
    }
    if let Some(m) = manager {
        attrs.insert(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_string(),
            Mapped::PersonRef(m.to_string()),
        );
    }
    DesiredPerson {
        key: key.into(),
        status,
        start_date: start,
        end_date: end,
        in_scope,
        absent_cycles,
        attrs: attrs.into_iter().collect(),
        groups: Default::default(),
        summary: None,
        mapping_error: None,
        frozen: None,
    }
}

/// A person whose HR record was set aside this cycle: the last known record (absence
/// reset: they are in the source), or only the key when none is known.
pub fn frozen(last: Option<&DesiredPerson>, key: &str) -> DesiredPerson {
    let mut p = last.cloned().unwrap_or_else(|| {
        let mut p = person(key, Lifecycle::Active, "", true, None, None, None, 0);
        p.attrs = Default::default();
        p
    });
    p.absent_cycles = 0;
    p.frozen = Some("hris line 3: duplicate key (also at line 4)".into());
    p
}

impl World {
    pub fn plan(&self, persons: &BTreeMap<String, DesiredPerson>, now: DateTime<Utc>) -> AppPlan {
        self.plan_with(persons, now, &policy(), false)
    }

    /// What [`plan_app_unless_creating`](crate::reconcile::plan_app_unless_creating) gives
    /// for the same input as [`World::plan`].
    pub fn plan_unless_creating(
        &self,
        persons: &BTreeMap<String, DesiredPerson>,
        now: DateTime<Utc>,
    ) -> Option<AppPlan> {
        let policy = policy();
        self.with_input(persons, now, &policy, false, |input| {
            crate::reconcile::plan_app_unless_creating(input)
        })
    }

    /// Plans with a policy; `remote` reads the app's accounts (resync).
    pub fn plan_with(
        &self,
        persons: &BTreeMap<String, DesiredPerson>,
        now: DateTime<Utc>,
        policy: &AppPolicy,
        remote: bool,
    ) -> AppPlan {
        self.with_input(persons, now, policy, remote, plan_app)
    }

    /// Runs `f` on the planner's input for this world; `remote` reads the app's accounts.
    fn with_input<T>(
        &self,
        persons: &BTreeMap<String, DesiredPerson>,
        now: DateTime<Utc>,
        policy: &AppPolicy,
        remote: bool,
        f: impl FnOnce(&AppInput<'_>) -> T,
    ) -> T {
        let groups = BTreeMap::new();
        let remote_users = self.remote();
        f(&AppInput {
            policy,
            persons,
            links: &self.links,
            remote: remote.then_some(&remote_users),
            groups: &groups,
            manages_groups: false,
            now,
            forms: None,
            settled: None,
        })
    }

    /// The app's accounts as the planner reads them.
    pub fn remote(&self) -> BTreeMap<String, RemoteUser> {
        self.accounts
            .iter()
            .map(|(id, a)| {
                let mut attrs = a.attrs.clone();
                match &a.external_id {
                    Some(e) => attrs.insert("externalId".into(), Value::String(e.clone())),
                    None => attrs.remove("externalId"),
                };
                (
                    id.clone(),
                    RemoteUser {
                        id: id.clone(),
                        user_name: a.user_name.clone(),
                        external_id: a.external_id.clone(),
                        active: a.active,
                        attrs,
                    },
                )
            })
            .collect()
    }

    /// Executes a plan as the engine does.
    pub fn apply(&mut self, plan: &AppPlan, now: DateTime<Utc>) {
        let mut second_pass = Vec::new();
        for op in &plan.operations {
            let prev = self.links.get(&op.key).cloned();
            let remote_id = match op.op {
                OpKind::Create => {
                    if let Some(id) = &op.remote_id {
                        // Relink: push the planned changes onto the existing account.
                        let acct = self.accounts.get_mut(id).expect("relinked account exists");
                        for c in &op.changes {
                            match &c.new {
                                Some(v) => acct.attrs.insert(c.path.clone(), v.clone()),
                                None => acct.attrs.remove(&c.path),
                            };
                        }
                        acct.active = op.active.unwrap_or(true);
                        acct.external_id = Some(op.key.clone());
                        id.clone()
                    } else {
                        let found = self
                            .accounts
                            .iter()
                            .find(|(_, a)| {
                                a.external_id.as_deref() == Some(op.key.as_str())
                                    || Some(a.user_name.to_lowercase())
                                        == op.user_name.as_ref().map(|u| u.to_lowercase())
                            })
                            .map(|(id, _)| id.clone());
                        let id = found.unwrap_or_else(|| {
                            self.next_id += 1;
                            *self.creates.entry(op.key.clone()).or_default() += 1;
                            format!("id{}", self.next_id)
                        });
                        self.accounts.insert(
                            id.clone(),
                            Account {
                                external_id: Some(op.key.clone()),
                                user_name: op.user_name.clone().unwrap_or_default(),
                                active: op.active.unwrap_or(true),
                                attrs: op.desired.to_map(),
                            },
                        );
                        id
                    }
                }
                OpKind::Update | OpKind::Reactivate => {
                    let id = op.remote_id.clone().expect("linked");
                    let Some(acct) = self.accounts.get_mut(&id) else {
                        // Gone from the app: the engine records the link as deleted.
                        if let Some(l) = self.links.get_mut(&op.key) {
                            l.lifecycle = LinkLifecycle::Deleted;
                        }
                        continue;
                    };
                    for c in &op.changes {
                        match &c.new {
                            Some(v) => acct.attrs.insert(c.path.clone(), v.clone()),
                            None => acct.attrs.remove(&c.path),
                        };
                    }
                    acct.active = op.active.unwrap_or(acct.active);
                    id
                }
                OpKind::Rebase => op.remote_id.clone().expect("linked"),
                OpKind::Deactivate => {
                    let id = op.remote_id.clone().expect("linked");
                    if let Some(a) = self.accounts.get_mut(&id) {
                        a.active = false;
                    }
                    self.deactivated.push(op.key.clone());
                    id
                }
                OpKind::Delete => {
                    let id = op.remote_id.clone().expect("linked");
                    self.accounts.remove(&id);
                    self.deleted.push(op.key.clone());
                    id
                }
                _ => continue,
            };
            if let Some(l) = link_after(op, prev.as_ref(), &remote_id, now) {
                self.links.insert(op.key.clone(), l);
            }
            if !op.pending_refs.is_empty() {
                second_pass.push(op.clone());
            }
        }
        for op in second_pass {
            let links = self.links.clone();
            let resolved = resolve_pending(&op, &|k| links.get(k).cloned());
            if resolved.is_empty() {
                continue;
            }
            if let Some(l) = self.links.get(&op.key).cloned() {
                if let Some(a) = self.accounts.get_mut(&l.remote_id) {
                    for (p, v) in &resolved {
                        a.attrs.insert(p.clone(), v.clone());
                    }
                }
                self.links
                    .insert(op.key.clone(), with_resolved(l, &resolved));
            }
        }
    }
}
