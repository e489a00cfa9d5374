//! The `names` table: every object key and SCIM path that packed JSON names ([`crate::packed`])
//! kept once, so that rows hold a small id instead. The names are the same few dozen in every
//! row (an app's attribute paths, a source's field names, an audit detail's keys).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Ctx, StateError};
use crate::packed::Intern;
use crate::unpack::NameOf;

/// The whole table, id → name, read once per query that unpacks rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NameTable(BTreeMap<u64, String>);

impl NameTable {
    /// Reads the table.
    pub(crate) fn load(conn: &Connection) -> Result<NameTable, StateError> {
        let mut st = conn
            .prepare_cached("SELECT id, name FROM names")
            .ctx("read the names table")?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .ctx("read the names table")?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (id, name) = row.ctx("read the names table")?;
            // A negative id is never written (ids start at 1); such a row names nothing.
            if let Ok(id) = u64::try_from(id) {
                out.insert(id, name);
            }
        }
        Ok(NameTable(out))
    }
}

impl NameOf for NameTable {
    fn name_of(&self, id: u64) -> Option<&str> {
        self.0.get(&id).map(String::as_str)
    }
}

/// Names looked up (and added) while writing, each at most once per writer.
pub(crate) struct Names<'c> {
    conn: &'c Connection,
    ids: BTreeMap<String, u64>,
    by_id: BTreeMap<u64, String>,
}

impl<'c> Names<'c> {
    /// A writer's names, looked up as they are met.
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Names {
            conn,
            ids: BTreeMap::new(),
            by_id: BTreeMap::new(),
        }
    }

    fn lookup_or_add(&self, name: &str) -> Result<u64, StateError> {
        let ctx = || format!("record the name {name:?}");
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM names WHERE name = ?1")
            .and_then(|mut st| st.query_row([name], |r| r.get(0)).optional())
            .with_ctx(ctx)?;
        let id = match found {
            Some(id) => id,
            None => {
                self.conn
                    .prepare_cached("INSERT INTO names (name) VALUES (?1)")
                    .and_then(|mut st| st.execute([name]))
                    .with_ctx(ctx)?;
                self.conn.last_insert_rowid()
            }
        };
        // Ids start at 1 and 0 ends an object, so an id below 1 cannot be used.
        u64::try_from(id)
            .ok()
            .filter(|&id| id >= 1)
            .ok_or_else(|| StateError::Packed {
                what: "a JSON value".to_owned(),
                why: format!("the names table gives {name:?} the unusable id {id}"),
            })
    }
}

impl Intern for Names<'_> {
    fn id(&mut self, name: &str) -> Result<u64, StateError> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        let id = self.lookup_or_add(name)?;
        self.ids.insert(name.to_owned(), id);
        self.by_id.insert(id, name.to_owned());
        Ok(id)
    }
}

/// The names this writer met: enough to unpack what it packed.
impl NameOf for Names<'_> {
    fn name_of(&self, id: u64) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }
}
