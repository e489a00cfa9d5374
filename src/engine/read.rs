//! Reading HR: fetch every source concurrently, apply the source guards, and merge the
//! persons of all sources (per-attribute precedence by `priority`) with the snapshot, so
//! that a person missing from a read is counted absent, never taken for terminated.

use std::collections::{BTreeMap, BTreeSet};

use hrsync_connectors::source::{
    FetchContext, Person, Position, Rejected, SourceError, SourceRead,
};

pub use super::remembered::{Remembered, Snapshot, StoredRecord, StoredSnapshot};
use crate::config::{GuardSettings, Settings, SourceSettings};
use crate::reconcile::{QuarantinedRecord, SourceSummary};

/// One source's read, as the engine keeps it.
#[derive(Debug, Clone)]
pub struct SourceResult {
    /// Source name.
    pub name: String,
    /// Its priority.
    pub priority: i64,
    /// The read.
    pub read: SourceRead,
}

/// What the apps of one mapping class share of their desired persons: the map, and
/// whether every person mapped (a failure names its own app's config key, so such a map
/// is not shared).
pub type SharedDesired = crate::mapping::SharedByClass<(
    std::sync::Arc<BTreeMap<String, crate::reconcile::DesiredPerson>>,
    bool,
)>;

/// The population after merging all sources with the snapshot.
#[derive(Debug, Clone, Default)]
pub struct HrView {
    /// Persons present in at least one current read, merged.
    pub present: BTreeMap<String, Person>,
    /// Persons only in the snapshot: last known record and consecutive absent reads.
    pub absent: BTreeMap<String, (Person, u32)>,
    /// Per-source facts for reports.
    pub sources: Vec<SourceSummary>,
    /// Records set aside at the sources.
    pub quarantined: Vec<QuarantinedRecord>,
    /// Keys whose records were set aside this cycle (and read valid nowhere else in the
    /// same source), with why: present but frozen, never counted absent.
    pub frozen: BTreeMap<String, String>,
    /// The apps' mappings of these persons, shared by apps with the same mapping config.
    pub mapped: crate::mapping::SharedMapped,
    /// The apps' desired persons, shared by apps with the same mapping config.
    pub desired: SharedDesired,
    /// The creates the apps' profiles refuse, shared by apps with the same mapping config.
    pub refusals: super::refusals::SharedRefusals,
    /// Each present person's record digest (what settled persons are checked against).
    pub digests: BTreeMap<String, [u8; 32]>,
}

/// The keys of the snapshot records [`source_population`] reads for this read: those
/// missing from a complete read and the frozen keys; every record for an incremental read.
pub fn records_needed<'s, S>(
    r: &SourceResult,
    snapshot: &'s BTreeMap<String, (S, u32)>,
) -> Vec<&'s String> {
    if !r.read.complete {
        return snapshot.keys().collect();
    }
    let read: BTreeSet<&str> = r.read.persons.iter().map(|p| p.key.as_str()).collect();
    let frozen = frozen_keys(r);
    snapshot
        .keys()
        .filter(|k| !read.contains(k.as_str()) || frozen.contains_key(*k))
        .collect()
}

/// Why a cycle must stop before any write (exit 3).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SourceGuard(pub String);

/// Why one source could not be read: the cycle aborts before any write (exit 3) and the
/// next cycle tries again.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The source failed (outage, refused credentials, malformed answer); its variant says
    /// whether a person must act.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The read's task panicked or was cancelled: an internal error, reported like a failed
    /// source so nothing is written on a partial read.
    #[error("source task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One source's name and the outcome of reading it.
pub type Fetched = (String, Result<SourceResult, FetchError>);

/// Fetches every configured source concurrently, in config order.
pub async fn fetch_all(
    settings: &Settings,
    watermarks: &BTreeMap<String, Option<String>>,
    force_full: bool,
) -> Vec<Fetched> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, src) in settings.sources.iter().enumerate() {
        let ctx = FetchContext {
            watermark: watermarks.get(src.name()).cloned().flatten(),
            force_full,
        };
        let span = tracing::info_span!("source", source = %src.name());
        let src = src.clone();
        tasks.spawn(tracing::Instrument::instrument(
            async move {
                let result = read_source(&src, ctx).await;
                (i, src.name().to_string(), result)
            },
            span,
        ));
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        out.push(joined.unwrap_or_else(|e| (usize::MAX, "?".into(), Err(e.into()))));
    }
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, n, r)| (n, r)).collect()
}

/// Reads one source; an incremental read that reports someone deleted is done again in
/// full, since only a complete read can count absence safely.
async fn read_source(src: &SourceSettings, ctx: FetchContext) -> Result<SourceResult, FetchError> {
    let mut result = src.reader.fetch(&ctx).await;
    if matches!(&result, Ok(r) if !r.complete && !r.deleted_keys.is_empty()) {
        let full = FetchContext {
            force_full: true,
            ..ctx
        };
        result = src.reader.fetch(&full).await;
    }
    match result {
        Ok(read) => Ok(SourceResult {
            name: src.name().to_string(),
            priority: src.priority(),
            read,
        }),
        Err(e) => {
            if matches!(e, SourceError::Unauthorized { .. }) {
                // Not an outage the next cycle may outlive: every cycle aborts until someone
                // fixes the credentials, so alert.
                tracing::error!(source = %src.name(), "{e}");
            }
            Err(e.into())
        }
    }
}

/// Applies the source guards: any failing source, too few records, or a drop against the
/// snapshot beyond the limit stops the cycle.
pub fn check_guards<S>(
    results: &[Fetched],
    snapshots: &BTreeMap<String, BTreeMap<String, (S, u32)>>,
    guards: &GuardSettings,
) -> Result<(), SourceGuard> {
    let mut problems = Vec::new();
    for (name, r) in results {
        match r {
            Err(e) => problems.push(format!("source {name} failed: {e}")),
            Ok(s) if s.read.complete => {
                let n = s.read.persons.len();
                // Persons whose records were set aside are still in the source.
                let present = n + frozen_keys(s).len();
                if n < guards.min_source_records {
                    problems.push(format!(
                        "source {name} returned {n} valid records, fewer than min_source_records = {}",
                        guards.min_source_records
                    ));
                    continue;
                }
                let before = snapshots
                    .get(name)
                    .map(|s| s.values().filter(|(_, absent)| *absent == 0).count())
                    .unwrap_or(0);
                if before > 0 && present < before {
                    let drop = (before - present) as f64 * 100.0 / before as f64;
                    if drop > guards.max_source_drop_percent {
                        problems.push(format!(
                            "source {name} dropped from {before} to {present} records ({drop:.1}%), more than max_source_drop_percent = {}",
                            guards.max_source_drop_percent
                        ));
                    }
                }
            }
            Ok(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SourceGuard(format!(
            "cycle aborted before any write: {}",
            problems.join("; ")
        )))
    }
}

/// Keys of a read whose records were all set aside (a duplicated key, a malformed row),
/// with why. Such a person is in the source, just not readable this cycle: present but
/// frozen, never absent.
pub fn frozen_keys(r: &SourceResult) -> BTreeMap<String, String> {
    if r.read.rejected.is_empty() {
        return BTreeMap::new();
    }
    let valid: BTreeSet<&str> = r.read.persons.iter().map(|p| p.key.as_str()).collect();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for q in &r.read.rejected {
        let Some(key) = q.key.as_deref().filter(|k| !k.is_empty()) else {
            continue;
        };
        if valid.contains(key) {
            continue;
        }
        let why = format!("{}: {}", q.position, q.reason);
        // The source is named once, before its first reason.
        let why = if out.contains_key(key) {
            why
        } else {
            format!("{} {why}", r.name)
        };
        add_reason(&mut out, key, why);
    }
    out
}

/// Records why `key` is frozen, after any reason already known for it.
fn add_reason(reasons: &mut BTreeMap<String, String>, key: &str, why: String) {
    match reasons.get_mut(key) {
        Some(w) => {
            w.push_str("; ");
            w.push_str(&why);
        }
        None => {
            reasons.insert(key.to_string(), why);
        }
    }
}

/// Why no person of this read may advance toward absence this cycle, if so: records were
/// set aside whose key could not be read (invalid UTF-8, a garbage row), and any of them
/// may be a person missing from the read. `None` when every rejection names its person.
pub fn absence_held(r: &SourceResult) -> Option<String> {
    let keyless: Vec<&Rejected> = r
        .read
        .rejected
        .iter()
        .filter(|q| q.key.as_deref().is_none_or(str::is_empty))
        .collect();
    let first = keyless.first()?;
    let more = match keyless.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    Some(format!(
        "{} record(s) set aside without a readable key ({}{more}); any of them may be a person missing from the read, so nobody of source {} is counted absent this cycle",
        keyless.len(),
        first.position,
        r.name
    ))
}

/// The population one source contributes this cycle: a complete read as is; an incremental
/// read applied onto its snapshot. Returns (present persons by key, absent keys with
/// counts). A frozen key (see [`frozen_keys`]) keeps its snapshot record and counts as
/// present. `persons` are the read's persons, taken by value so they are moved, not copied.
pub fn source_population<S: Remembered>(
    r: &SourceResult,
    persons: Vec<Person>,
    frozen: &BTreeMap<String, String>,
    snapshot: Option<&BTreeMap<String, (S, u32)>>,
) -> (BTreeMap<String, Person>, Snapshot) {
    let empty = BTreeMap::new();
    let snap = snapshot.unwrap_or(&empty);
    let remembered = |k: &String, s: &S| s.person(&r.name, k);
    // A held read counts nobody one more cycle absent; those already absent stay so.
    let step = u32::from(absence_held(r).is_none());
    let mut present: BTreeMap<String, Person> = BTreeMap::new();
    let mut absent = Snapshot::new();
    if r.read.complete {
        // Built from the whole list at once (sources hand persons over in key order), the
        // map's nodes are full; inserted one by one, half of each stays empty.
        present = persons.into_iter().map(|p| (p.key.clone(), p)).collect();
        for (k, (s, n)) in snap {
            if present.contains_key(k) {
                continue;
            }
            if let Some(p) = remembered(k, s) {
                absent.insert(k.clone(), (p, n + step));
            }
        }
    } else {
        let deleted: BTreeSet<&String> = r.read.deleted_keys.iter().collect();
        for (k, (s, n)) in snap {
            let Some(p) = remembered(k, s) else {
                continue;
            };
            if deleted.contains(k) {
                absent.insert(k.clone(), (p, n + step));
            } else if *n == 0 {
                present.insert(k.clone(), p);
            } else {
                absent.insert(k.clone(), (p, *n));
            }
        }
        for p in persons {
            absent.remove(&p.key);
            present.insert(p.key.clone(), p);
        }
    }
    for key in frozen.keys() {
        if let Some(p) = snap.get(key).and_then(|(s, _)| remembered(key, s)) {
            absent.remove(key);
            present.entry(key.clone()).or_insert(p);
        }
    }
    (present, absent)
}

/// Merges all sources into one view, moving the reads' persons into it.
pub fn merge_owned<S: Remembered>(
    results: Vec<SourceResult>,
    snapshots: &BTreeMap<String, BTreeMap<String, (S, u32)>>,
) -> HrView {
    let single = results.len() == 1;
    let mut view = HrView::default();
    let mut m = Merging::default();
    for mut r in results {
        let frozen = frozen_keys(&r);
        let persons = std::mem::take(&mut r.read.persons);
        let records = persons.len();
        let (present, absent) = source_population(&r, persons, &frozen, snapshots.get(&r.name));
        let absence_held = absence_held(&r);
        if let Some(why) = &absence_held {
            tracing::warn!(source = %r.name, "Absence held: {why}.");
            for k in absent.keys() {
                add_reason(&mut m.held, k, format!("{}: {why}", r.name));
            }
        }
        view.sources
            .push(source_summary(&mut r, records, absence_held));
        view.quarantined
            .extend(r.read.rejected.iter().map(quarantined_record));
        for (k, why) in frozen {
            add_reason(&mut view.frozen, &k, why);
        }
        if single {
            // One source: its population is the merged view as it is.
            view.present = present;
        } else {
            for (k, p) in present {
                m.by_key.entry(k).or_default().push((r.priority, p));
            }
        }
        m.note_absent(absent);
    }
    m.finish(view)
}

/// What the merge gathers across sources before it settles each person.
#[derive(Default)]
struct Merging {
    /// Each key's versions by source priority (several sources only).
    by_key: BTreeMap<String, Vec<(i64, Person)>>,
    /// Persons absent from every source that knew them, with their absent cycles.
    absent: BTreeMap<String, (Person, u32)>,
    /// Keys missing from a read whose absence is held, with why.
    held: BTreeMap<String, String>,
}

impl Merging {
    /// Records one source's absent persons; known absent from several sources, the most
    /// recent sighting counts.
    fn note_absent(&mut self, absent: BTreeMap<String, (Person, u32)>) {
        for (k, (p, n)) in absent {
            let e = self.absent.entry(k).or_insert((p, n));
            if n < e.1 {
                e.1 = n;
            }
        }
    }

    /// Overlays each person's versions, drops from the absent whoever some source still has,
    /// and freezes the absent whose absence is held.
    fn finish(mut self, mut view: HrView) -> HrView {
        for k in view.present.keys() {
            self.absent.remove(k);
        }
        for (k, mut versions) in self.by_key {
            self.absent.remove(&k);
            versions.sort_by_key(|(prio, _)| *prio);
            view.present.insert(k, merge_person(versions));
        }
        // Nothing is planned for a person missing from a held read: not even a deprovision
        // their earlier absences had already earned.
        for (k, why) in self.held {
            if self.absent.contains_key(&k) {
                add_reason(&mut view.frozen, &k, why);
            }
        }
        view.absent = self.absent;
        view
    }
}

/// What one source gave, for the cycle's summary.
fn source_summary(
    r: &mut SourceResult,
    records: usize,
    absence_held: Option<String>,
) -> SourceSummary {
    SourceSummary {
        name: r.name.clone(),
        records,
        quarantined: r.read.rejected.len(),
        // An incremental read carries only changed persons: a field none of them has says
        // nothing about the mapping.
        warnings: if r.read.complete {
            std::mem::take(&mut r.read.warnings)
        } else {
            Vec::new()
        },
        absence_held,
    }
}

/// Overlays versions of one person from lowest to highest priority.
fn merge_person(versions: Vec<(i64, Person)>) -> Person {
    let mut iter = versions.into_iter();
    let Some((_, mut merged)) = iter.next() else {
        return Person {
            key: String::new(),
            source: String::new(),
            status: hrsync_connectors::source::Lifecycle::Active,
            start_date: None,
            end_date: None,
            manager_id: None,
            fields: Default::default(),
            position: Position::Unknown,
        };
    };
    for (_, p) in iter {
        merged.fields.overlay(&p.fields);
        merged.status = p.status;
        merged.start_date = p.start_date.or(merged.start_date);
        merged.end_date = p.end_date.or(merged.end_date);
        merged.manager_id = p.manager_id.or(merged.manager_id);
        merged.source = p.source;
        merged.position = p.position;
    }
    merged
}

/// A rejected record as reports show it.
pub fn quarantined_record(r: &Rejected) -> QuarantinedRecord {
    let (line, position) = match &r.position {
        Position::Line(l) => (Some(*l), None),
        Position::Index(_) => (None, Some(r.position.to_string())),
        Position::Unknown => (None, None),
    };
    QuarantinedRecord {
        source: r.source.clone(),
        key: r.key.clone(),
        line,
        position,
        field: r.field.clone(),
        reason: r.reason.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hrsync_connectors::source::Lifecycle;

    /// An active person of source `hr` with a title, for the engine's unit tests.
    pub(crate) fn person(key: &str, title: &str) -> Person {
        Person {
            key: key.into(),
            source: "hr".into(),
            status: Lifecycle::Active,
            start_date: None,
            end_date: None,
            manager_id: None,
            fields: [("title", serde_json::Value::String(title.into()))]
                .into_iter()
                .collect(),
            position: Position::Line(2),
        }
    }

    fn read(persons: Vec<Person>, complete: bool, deleted: &[&str]) -> SourceResult {
        SourceResult {
            name: "hr".into(),
            priority: 0,
            read: SourceRead {
                persons,
                complete,
                deleted_keys: deleted.iter().map(|k| k.to_string()).collect(),
                ..SourceRead::default()
            },
        }
    }

    /// E1 present, E2 absent once, E3 present, and an unreadable row (ignored either way).
    fn snapshot() -> Snapshot {
        [("E1", 0), ("E2", 1), ("E3", 0)]
            .into_iter()
            .map(|(k, n)| (k.to_string(), (person(k, "old"), n)))
            .collect()
    }

    fn stored(snap: &Snapshot) -> StoredSnapshot {
        let mut out: StoredSnapshot = snap
            .iter()
            .map(|(k, (p, n))| {
                (
                    k.clone(),
                    (
                        StoredRecord {
                            text: Some(serde_json::to_string(p).expect("a person serialises")),
                            hash: None,
                        },
                        *n,
                    ),
                )
            })
            .collect();
        let unreadable = StoredRecord {
            text: Some("{not json".into()),
            hash: None,
        };
        out.insert("E9".into(), (unreadable, 0));
        out
    }

    #[test]
    fn stored_snapshots_merge_as_parsed_ones_do() {
        let reads = [
            read(vec![person("E1", "new"), person("E4", "new")], true, &[]),
            read(vec![person("E4", "new")], false, &["E3"]),
        ];
        for r in reads {
            let parsed: BTreeMap<String, Snapshot> = [("hr".to_string(), snapshot())].into();
            let texts: BTreeMap<String, StoredSnapshot> =
                [("hr".to_string(), stored(&snapshot()))].into();
            let a = merge_owned(vec![r.clone()], &parsed);
            let b = merge_owned(vec![r.clone()], &texts);
            assert_eq!(a.present, b.present);
            assert_eq!(a.absent, b.absent);
            assert_eq!(a.frozen, b.frozen);
            assert!(!b.present.contains_key("E9") && !b.absent.contains_key("E9"));
            // Only the records merging needs loaded: the same view.
            let mut some = stored(&snapshot());
            let needed: BTreeSet<String> = records_needed(&r, &some).into_iter().cloned().collect();
            some.iter_mut()
                .filter(|(k, _)| !needed.contains(*k))
                .for_each(|(_, (stored, _))| stored.text = None);
            let c = merge_owned(vec![r.clone()], &[("hr".to_string(), some)].into());
            assert_eq!(b.present, c.present);
            assert_eq!(b.absent, c.absent);
        }
    }
}
