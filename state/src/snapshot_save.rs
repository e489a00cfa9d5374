//! Saving one read of a source into the snapshot: the source's stored keys, hashes and
//! absent counts loaded in one pass, compared in memory, and only the rows that changed
//! written. A present person whose record is unchanged costs no write at all, which is
//! what keeps a cycle over an unchanged population cheap.

use std::collections::BTreeMap;

use rusqlite::types::{ToSql, ToSqlOutput};
use rusqlite::{params, CachedStatement, Transaction};
use serde_json::Value;

use crate::error::{Ctx, StateError};
use crate::names::Names;
use crate::packed::pack_text;
use crate::snapshot::{SnapshotRecord, SnapshotSaved};
use crate::snapshot_stored::stored_hash;
use crate::store::Store;
use crate::unpack::unpack_text;

impl Store {
    /// Saves one read of a source in one transaction, writing only what changed: new persons
    /// inserted, changed records replaced, persons back from absence reset to
    /// `absent_cycles` 0; an unchanged present person is not written. After a `complete`
    /// read, persons missing from it get `absent_cycles += 1` (once per cycle) and are
    /// kept; an incremental read counts nobody absent.
    pub async fn save_snapshot(
        &self,
        source: &str,
        cycle_id: i64,
        records: Vec<(String, Value)>,
        complete: bool,
    ) -> Result<SnapshotSaved, StateError> {
        self.save_read(source, cycle_id, records, Vec::new(), complete)
            .await
    }

    /// [`Store::save_snapshot`], plus `frozen`: keys the read held only as records set
    /// aside (duplicated, malformed). They are in the source, so they count as seen —
    /// `absent_cycles` goes back to 0 — but their last good record is kept as it is.
    pub async fn save_read(
        &self,
        source: &str,
        cycle_id: i64,
        records: Vec<(String, Value)>,
        frozen: Vec<String>,
        complete: bool,
    ) -> Result<SnapshotSaved, StateError> {
        let records = records
            .into_iter()
            .map(|(key, record)| Ok((key, SnapshotRecord::of_value(&record)?)))
            .collect::<Result<Vec<_>, StateError>>()?;
        self.save_read_records(source, cycle_id, records, frozen, complete)
            .await
    }

    /// [`Store::save_read`] for records already turned into [`SnapshotRecord`]s.
    pub async fn save_read_records(
        &self,
        source: &str,
        cycle_id: i64,
        records: Vec<(String, SnapshotRecord)>,
        frozen: Vec<String>,
        complete: bool,
    ) -> Result<SnapshotSaved, StateError> {
        let source = source.to_owned();
        self.write("save the snapshot", move |tx| {
            save_logged(tx, &source, cycle_id, &records, &frozen, complete)
        })
        .await
    }
}

/// Saves one read ([`save`]) and logs what it found.
fn save_logged(
    tx: &Transaction<'_>,
    source: &str,
    cycle_id: i64,
    records: &[(String, SnapshotRecord)],
    frozen: &[String],
    complete: bool,
) -> Result<SnapshotSaved, StateError> {
    let saved = save(tx, source, cycle_id, records, frozen, complete)?;
    tracing::debug!(source = %source, cycle_id, added = saved.added,
        changed = saved.changed, unchanged = saved.unchanged, absent = saved.absent,
        complete, "Saved snapshot.");
    Ok(saved)
}

/// One person as the snapshot holds them before this read.
struct Stored {
    key: String,
    /// `None` when the stored hash is not one this crate wrote: never equal, so rewritten.
    hash: Option<[u8; 32]>,
    absent_cycles: u32,
    /// In this read (present or frozen): not counted absent.
    seen: bool,
}

/// Saves one read in the caller's transaction; see `Store::save_read`.
pub(crate) fn save(
    tx: &Transaction<'_>,
    source: &str,
    cycle_id: i64,
    records: &[(String, SnapshotRecord)],
    frozen: &[String],
    complete: bool,
) -> Result<SnapshotSaved, StateError> {
    let mut stored = load(tx, source)?;
    let mut writes = Writes::prepare(tx, source, cycle_id)?;
    let mut saved = SnapshotSaved::default();
    // Persons this read added, so that a key read twice is compared, not inserted twice.
    let mut added: BTreeMap<&str, [u8; 32]> = BTreeMap::new();
    for (key, record) in records {
        let ctx = || format!("save the snapshot of {key} in {source}");
        match find(&stored, key) {
            Some(i) => writes.present(&mut stored[i], record, &mut saved, ctx)?,
            None => match added.get_mut(key.as_str()) {
                Some(hash) if *hash == record.hash => saved.unchanged += 1,
                Some(hash) => {
                    writes.update(key, record, ctx)?;
                    *hash = record.hash;
                    saved.changed += 1;
                }
                None => {
                    writes.insert(key, record, ctx)?;
                    added.insert(key, record.hash);
                    saved.added += 1;
                }
            },
        }
    }
    for key in frozen {
        // No row yet (a new person whose only record was set aside): nothing to keep.
        writes
            .seen(key)
            .with_ctx(|| format!("keep the snapshot of {key} in {source}"))?;
        if let Some(i) = find(&stored, key) {
            stored[i].seen = true;
            stored[i].absent_cycles = 0;
        }
    }
    if complete {
        for row in stored.iter().filter(|r| !r.seen) {
            saved.absent += writes
                .absent(&row.key)
                .with_ctx(|| format!("count {} absent in {source}", row.key))?
                as u64;
        }
    }
    Ok(saved)
}

/// A record as the `record` column holds it: packed, or its text when packing would not
/// give back the very same text (text `serde_json` did not write, a float that does not
/// read back exactly, not JSON at all).
pub(crate) enum StoredRecord<'r> {
    Packed(Vec<u8>),
    Text(&'r str),
}

impl ToSql for StoredRecord<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            StoredRecord::Packed(bytes) => ToSqlOutput::from(bytes.as_slice()),
            StoredRecord::Text(text) => ToSqlOutput::from(*text),
        })
    }
}

/// How `text`, the record of `key` in `source`, is stored.
pub(crate) fn stored_record<'r>(
    names: &mut Names<'_>,
    text: &'r str,
    key: &str,
    source: &str,
) -> Result<StoredRecord<'r>, StateError> {
    let seeds = [key, source];
    let what = || format!("the snapshot record of {key} in {source}");
    let Some(packed) = pack_text(text, &seeds, names).map_err(|e| e.packing(what))? else {
        return Ok(StoredRecord::Text(text));
    };
    match unpack_text(&packed, &seeds, names) {
        Ok(back) if back == text => Ok(StoredRecord::Packed(packed)),
        _ => Ok(StoredRecord::Text(text)),
    }
}

/// The text a record is written with. A record prepared without its text (its stored hash
/// was its own) is never written: were the row to differ now, the save fails rather than
/// store an empty record.
fn written_text(record: &SnapshotRecord) -> rusqlite::Result<&str> {
    if record.text.is_empty() {
        let why = "a snapshot record prepared as unchanged differs from the stored row";
        return Err(rusqlite::Error::ToSqlConversionFailure(why.into()));
    }
    Ok(&record.text)
}

/// The stored keys, hashes and absent counts of a source, sorted by key, in one pass.
fn load(tx: &Transaction<'_>, source: &str) -> Result<Vec<Stored>, StateError> {
    let ctx = || format!("read the snapshot of {source}");
    let mut st = tx
        .prepare_cached("SELECT person_key, hash, absent_cycles FROM snapshot WHERE source = ?1")
        .with_ctx(ctx)?;
    let mut rows = st.query([source]).with_ctx(ctx)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().with_ctx(ctx)? {
        out.push(Stored {
            key: row.get(0).with_ctx(ctx)?,
            hash: stored_hash(row.get_ref(1).with_ctx(ctx)?),
            absent_cycles: row.get(2).with_ctx(ctx)?,
            seen: false,
        });
    }
    // Sorted here rather than trusting the index's collation, so that search finds every key.
    out.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

fn find(stored: &[Stored], key: &str) -> Option<usize> {
    stored.binary_search_by(|r| r.key.as_str().cmp(key)).ok()
}

/// The statements one read is saved with, prepared once per transaction.
///
/// `last_seen_cycle` is the cycle the row was last written as seen or changed: a person
/// present with the same record is not rewritten, so it can be older than the last read
/// that included them. Absence is decided from "not in this read", never from it.
struct Writes<'t> {
    source: &'t str,
    cycle_id: i64,
    names: Names<'t>,
    insert: CachedStatement<'t>,
    update: CachedStatement<'t>,
    seen: CachedStatement<'t>,
    absent: CachedStatement<'t>,
}

impl<'t> Writes<'t> {
    fn prepare(
        tx: &'t Transaction<'_>,
        source: &'t str,
        cycle_id: i64,
    ) -> Result<Self, StateError> {
        let ctx = || format!("save the snapshot of {source}");
        let st = |sql: &str| tx.prepare_cached(sql).with_ctx(ctx);
        Ok(Writes {
            source,
            cycle_id,
            names: Names::new(tx),
            insert: st("INSERT INTO snapshot (source, person_key, record, hash, \
                 first_seen_cycle, last_seen_cycle, absent_cycles) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0)")?,
            update: st(
                "UPDATE snapshot SET record = ?3, hash = ?4, last_seen_cycle = ?5, \
                 absent_cycles = 0, last_absent_cycle = NULL \
                 WHERE source = ?1 AND person_key = ?2",
            )?,
            seen: st(
                "UPDATE snapshot SET last_seen_cycle = ?3, absent_cycles = 0, \
                 last_absent_cycle = NULL WHERE source = ?1 AND person_key = ?2",
            )?,
            // Once per cycle: saving the same cycle's read twice does not count twice.
            absent: st("UPDATE snapshot SET absent_cycles = absent_cycles + 1, \
                 last_absent_cycle = ?3 WHERE source = ?1 AND person_key = ?2 \
                 AND (last_absent_cycle IS NULL OR last_absent_cycle < ?3)")?,
        })
    }

    /// A present person the snapshot holds: their record rewritten if it changed, their
    /// absence reset if they were missing, nothing written otherwise.
    fn present(
        &mut self,
        row: &mut Stored,
        record: &SnapshotRecord,
        saved: &mut SnapshotSaved,
        ctx: impl Fn() -> String,
    ) -> Result<(), StateError> {
        if row.hash == Some(record.hash) {
            if row.absent_cycles > 0 {
                self.seen(&row.key).with_ctx(ctx)?;
            }
            saved.unchanged += 1;
        } else {
            self.update(&row.key, record, ctx)?;
            row.hash = Some(record.hash);
            saved.changed += 1;
        }
        row.absent_cycles = 0;
        row.seen = true;
        Ok(())
    }

    fn insert(
        &mut self,
        key: &str,
        record: &SnapshotRecord,
        ctx: impl Fn() -> String,
    ) -> Result<usize, StateError> {
        let (source, cycle) = (self.source, self.cycle_id);
        let text = written_text(record).with_ctx(&ctx)?;
        let stored = stored_record(&mut self.names, text, key, source)?;
        let hash = record.hash.as_slice();
        self.insert
            .execute(params![source, key, stored, hash, cycle])
            .with_ctx(ctx)
    }

    fn update(
        &mut self,
        key: &str,
        record: &SnapshotRecord,
        ctx: impl Fn() -> String,
    ) -> Result<usize, StateError> {
        let (source, cycle) = (self.source, self.cycle_id);
        let text = written_text(record).with_ctx(&ctx)?;
        let stored = stored_record(&mut self.names, text, key, source)?;
        let hash = record.hash.as_slice();
        self.update
            .execute(params![source, key, stored, hash, cycle])
            .with_ctx(ctx)
    }

    /// Stamps a person as seen in this cycle without touching their record.
    fn seen(&mut self, key: &str) -> rusqlite::Result<usize> {
        self.seen.execute(params![self.source, key, self.cycle_id])
    }

    fn absent(&mut self, key: &str) -> rusqlite::Result<usize> {
        self.absent
            .execute(params![self.source, key, self.cycle_id])
    }
}
