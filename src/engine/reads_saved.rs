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
    // Records are independent: every core prepares a share, in the read's order. A record
    // whose stored hash is its own keeps no text: saving leaves its row as it is.
    let records = r
        .read
        .persons
        .par_iter()
        .with_min_len(1024)
        .map(|p| {
            let hash = stored.get(&p.key).and_then(|(s, _)| s.hash.as_ref());
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
