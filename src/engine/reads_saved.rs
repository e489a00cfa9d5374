//! What a writing cycle records of the sources' reads (snapshots for absence counting,
//! watermarks, rejected records), prepared from each read before its persons move into the
//! merged view, and saved once the cycle goes ahead.

use std::collections::BTreeMap;

use hrsync_state::{RejectedRecord, SnapshotRecord, Store};

use super::error::EngineError;
use super::read::{self, StoredSnapshot};

/// One source's read as the state records it.
pub struct ReadToSave {
    /// Source name.
    name: String,
    /// Each person's snapshot form, by key.
    records: Vec<(String, SnapshotRecord)>,
    /// Keys whose records were set aside: in the source, seen, never absent.
    frozen: Vec<String>,
    /// Whether the read counts missing persons one more cycle absent.
    counts_absence: bool,
    /// The watermark to pass back next time.
    watermark: Option<String>,
    /// The records set aside, for the quarantine table.
    rejected: Vec<RejectedRecord>,
}

/// Prepares each read for the state; the reads' persons can then be moved elsewhere.
pub fn prepare(
    results: &[read::SourceResult],
    snapshots: &BTreeMap<String, StoredSnapshot>,
) -> Result<Vec<ReadToSave>, EngineError> {
    let none = StoredSnapshot::new();
    results
        .iter()
        .map(|r| prepare_one(r, snapshots.get(&r.name).unwrap_or(&none)))
        .collect()
}

fn prepare_one(r: &read::SourceResult, stored: &StoredSnapshot) -> Result<ReadToSave, EngineError> {
    use rayon::prelude::*;
    // A record whose stored hash is its own keeps no text: saving leaves its row as it is.
    // Only when each key comes once (sources hand over their persons in key order): of two
    // versions of one key, the later one changes the row and the earlier would need its text.
    let persons = &r.read.persons;
    let once = persons.windows(2).all(|w| w[0].key < w[1].key);
    // Records are independent: every core prepares a share, in the read's order.
    let records = persons
        .par_iter()
        .with_min_len(1024)
        .map(|p| {
            let hash = match once {
                true => stored.get(&p.key).and_then(|(s, _)| s.hash.as_ref()),
                false => None,
            };
            Ok((p.key.clone(), SnapshotRecord::unless_stored(p, hash)?))
        })
        .collect::<Result<_, EngineError>>()?;
    let rejected = r
        .read
        .rejected
        .iter()
        .map(|q| RejectedRecord {
            key: q.key.clone(),
            position: q.position.to_string(),
            field: q.field.clone(),
            reason: q.reason.clone(),
        })
        .collect();
    Ok(ReadToSave {
        name: r.name.clone(),
        records,
        frozen: read::frozen_keys(r).into_keys().collect(),
        // A held read (records without a readable key) counts nobody one more cycle absent.
        counts_absence: r.read.complete && read::absence_held(r).is_none(),
        watermark: r.read.watermark.clone(),
        rejected,
    })
}

/// Records what the sources said: snapshots (absence counting), watermarks, quarantine.
pub async fn save(s: &Store, cycle_id: i64, reads: Vec<ReadToSave>) -> Result<(), EngineError> {
    for r in reads {
        s.save_read_records(&r.name, cycle_id, r.records, r.frozen, r.counts_absence)
            .await?;
        if let Some(w) = &r.watermark {
            s.set_watermark(&r.name, w).await?;
        }
        s.replace_record_quarantine(&r.name, r.rejected).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hrsync_connectors::source::{Person, SourceRead};
    use read::tests::person;
    use read::{SourceResult, StoredRecord};

    /// The stored snapshot of `persons`, hashes only, as a writing cycle loads it.
    fn stored(persons: &[Person]) -> BTreeMap<String, StoredSnapshot> {
        let rows = persons
            .iter()
            .map(|p| {
                let hash = SnapshotRecord::of(p).expect("record").hash_hex();
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(hash, &mut bytes).expect("hex");
                let row = StoredRecord {
                    text: None,
                    hash: Some(bytes),
                };
                (p.key.clone(), (row, 0))
            })
            .collect();
        [("hr".to_string(), rows)].into()
    }

    fn texts(persons: Vec<Person>, snapshots: &BTreeMap<String, StoredSnapshot>) -> Vec<bool> {
        let read = SourceResult {
            name: "hr".into(),
            priority: 0,
            read: SourceRead {
                persons,
                complete: true,
                ..SourceRead::default()
            },
        };
        let prepared = prepare(&[read], snapshots).expect("prepared");
        prepared[0]
            .records
            .iter()
            .map(|(_, r)| !r.text().is_empty())
            .collect()
    }

    #[test]
    fn only_records_that_changed_keep_their_text() {
        let before = [person("E1", "Rep"), person("E2", "Rep")];
        let snapshots = stored(&before);
        let now = vec![
            person("E1", "Rep"),
            person("E2", "Lead"),
            person("E3", "Rep"),
        ];
        assert_eq!(texts(now, &snapshots), [false, true, true]);
    }

    #[test]
    fn a_key_read_twice_keeps_every_text() {
        let snapshots = stored(&[person("E1", "Rep")]);
        let now = vec![person("E1", "Lead"), person("E1", "Rep")];
        assert_eq!(texts(now, &snapshots), [true, true]);
    }
}
