//! Who still lacks the access HR gives them after a cycle, and why: the facts behind an
//! apply's exit code (defined here) and its result line.

use std::collections::BTreeMap;

use super::cycle::CycleReport;
use super::execute::OpFailure;

/// How a deferred operation's skip begins (see `SkipReason::Deferred`).
const DEFERRED: &str = "quarantined after repeated failures";

impl CycleReport {
    /// The persons who, after this cycle, still lack access HR says they should have and
    /// why, per app: their operation failed, waits in quarantine after repeated failures,
    /// is one the app is known to refuse, or was not sent because the circuit is open.
    pub fn lacking_access(&self) -> BTreeMap<String, BTreeMap<String, &'static str>> {
        let mut out: BTreeMap<String, BTreeMap<String, &'static str>> = BTreeMap::new();
        for app in &self.plan.apps {
            let persons = out.entry(app.name.clone()).or_default();
            for r in &app.refused {
                persons.insert(r.key.clone(), "refused by the app");
            }
        }
        for o in &self.outcomes {
            let persons = out.entry(o.app.clone()).or_default();
            let person_ops =
                |f: &&OpFailure| !f.op.starts_with("group") && !f.op.starts_with("membership");
            for f in o.failed.iter().filter(person_ops) {
                persons.entry(f.key.clone()).or_insert("failed");
            }
            for s in o.skipped.iter().filter(person_ops) {
                if s.error.starts_with(DEFERRED) {
                    persons
                        .entry(s.key.clone())
                        .or_insert("quarantined after repeated failures");
                } else if o.circuit_open.is_some() && s.error.starts_with("circuit open") {
                    persons.entry(s.key.clone()).or_insert("circuit open");
                }
            }
        }
        out.retain(|_, p| !p.is_empty());
        out
    }

    /// Exit code of an executing cycle: 1 on failures or when a person still lacks the
    /// access HR gives them, else 3 when guards held, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.failures() > 0 || !self.lacking_access().is_empty() {
            1
        } else if self.held() > 0 {
            3
        } else {
            0
        }
    }
}
