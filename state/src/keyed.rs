//! Reading the rows of some persons out of a table keyed by (group, `person_key`): looked
//! up one by one when they are few, found in one pass over the group when they are many
//! (then cheaper than as many lookups), the other rows skipped before they are read.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, Row};

/// Up to this many wanted rows are looked up one by one.
const LOOKUPS_AT_MOST: usize = 4096;

/// The rows of `select` (a query ending in `WHERE <group column> = ?1`) for `group` whose
/// `person_key` (column `key_col`) is in `keys`, in key order, each mapped by `f`.
pub(crate) fn rows_of_keys<T>(
    conn: &Connection,
    select: &str,
    group: &str,
    keys: &BTreeSet<String>,
    key_col: usize,
    mut f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut out = Vec::new();
    if keys.len() <= LOOKUPS_AT_MOST {
        let mut st = conn.prepare_cached(&format!("{select} AND person_key = ?2"))?;
        for key in keys {
            let mut rows = st.query(params![group, key])?;
            if let Some(row) = rows.next()? {
                out.push(f(row)?);
            }
        }
        return Ok(out);
    }
    let mut st = conn.prepare_cached(&format!("{select} ORDER BY person_key"))?;
    let mut rows = st.query([group])?;
    while let Some(row) = rows.next()? {
        let key = row.get_ref(key_col)?;
        if key.as_str().is_ok_and(|k| keys.contains(k)) {
            out.push(f(row)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of two groups of 5 000 persons each, their value their number.
    fn table() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (grp TEXT, person_key TEXT, v INTEGER)")
            .expect("create");
        for grp in ["a", "b"] {
            for i in 0..5_000 {
                conn.execute(
                    "INSERT INTO t VALUES (?1, ?2, ?3)",
                    params![grp, format!("E{i:05}"), i],
                )
                .expect("insert");
            }
        }
        conn
    }

    fn values(conn: &Connection, keys: &BTreeSet<String>) -> Vec<i64> {
        let select = "SELECT person_key, v FROM t WHERE grp = ?1";
        rows_of_keys(conn, select, "a", keys, 0, |r| r.get(1)).expect("read")
    }

    #[test]
    fn a_few_keys_and_many_give_exactly_their_rows_in_key_order() {
        let conn = table();
        let few: BTreeSet<String> = ["E00007", "E04999", "E00003", "X"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(values(&conn, &few), [3, 7, 4999]);
        // Above the lookup limit: one pass over the group, every other row skipped.
        let many: BTreeSet<String> = (0..5_000)
            .filter(|i| i % 7 != 0)
            .map(|i| format!("E{i:05}"))
            .collect();
        let expected: Vec<i64> = (0..5_000).filter(|i| i % 7 != 0).collect();
        assert!(many.len() > LOOKUPS_AT_MOST);
        assert_eq!(values(&conn, &many), expected);
    }
}
