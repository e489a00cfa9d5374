-- 0005_compact: the state file at about half its size. The three large tables are rebuilt
-- in a compact form, and every row is converted by the Rust step of this migration
-- (state/src/migrate_v5.rs), which runs at the `-- @convert` line below, in the same
-- transaction: a row it cannot convert rolls the whole migration back.
--
-- How values are stored from now on (state/src/stored.rs, packed.rs):
--   * timestamps of links and audit: INTEGER milliseconds since the epoch (what the RFC 3339
--     text held);
--   * account ids (links.remote_id, audit.remote_id): a canonical UUID (lowercase,
--     hyphenated) as its 16 bytes, any other id as its TEXT;
--   * hashes (links.hash, settled.fingerprint): lowercase hex as its bytes, any other text
--     as TEXT; snapshot.hash: the 32 bytes of the record's SHA-256;
--   * JSON (links.last_pushed, snapshot.record, audit.detail): packed, object keys as ids of
--     `names` (which takes over from link_paths). A snapshot record whose packed form
--     would not give back the very same text stays TEXT;
--   * codes, never renumbered: links.lifecycle 0 active, 1 inactive, 2 deleted;
--     links.ownership 0 created, 1 adopted; audit.result 0 ok, 1 failed; audit.op 0 create,
--     1 adopt, 2 update, 3 deactivate, 4 reactivate, 5 delete, 6 relink, 7 rebase,
--     8 group_create, 9 group_delete, 10 membership_add, 11 membership_remove, 12 unlink.
-- links and snapshot are WITHOUT ROWID: keyed by their primary key, with no second copy of
-- it in an index. The audit trail's indexes by app and by person hold no time: ids follow
-- recording order (AUTOINCREMENT), so an index on (app) already lists an app's rows in the
-- order they were recorded.

-- The old tables stay until their rows are converted; their indexes and triggers go now,
-- so that the names are free and converting fires nothing.
DROP TRIGGER links_unsettle_insert;
DROP TRIGGER links_unsettle_update;
DROP TRIGGER links_unsettle_delete;
DROP INDEX links_remote_id;
DROP INDEX audit_app_at;
DROP INDEX audit_person_at;
DROP INDEX audit_at;
ALTER TABLE links RENAME TO links_v4;
ALTER TABLE snapshot RENAME TO snapshot_v4;
ALTER TABLE audit RENAME TO audit_v4;

CREATE TABLE names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE links (
    app            TEXT NOT NULL,
    person_key     TEXT NOT NULL,
    remote_id      BLOB NOT NULL,
    user_name      TEXT NOT NULL,
    last_pushed    BLOB NOT NULL,
    hash           BLOB NOT NULL,
    lifecycle      INTEGER NOT NULL,
    ownership      INTEGER NOT NULL,
    deactivated_at INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (app, person_key)
) WITHOUT ROWID;

CREATE TABLE snapshot (
    source            TEXT NOT NULL,
    person_key        TEXT NOT NULL,
    record            BLOB NOT NULL,
    hash              BLOB NOT NULL,
    first_seen_cycle  INTEGER NOT NULL,
    last_seen_cycle   INTEGER NOT NULL,
    absent_cycles     INTEGER NOT NULL DEFAULT 0,
    -- The cycle whose complete read last counted this person absent, so that saving the
    -- same cycle twice does not count twice.
    last_absent_cycle INTEGER,
    PRIMARY KEY (source, person_key)
) WITHOUT ROWID;

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    cycle_id   INTEGER REFERENCES cycles (id) ON DELETE SET NULL,
    app        TEXT NOT NULL,
    person_key TEXT NOT NULL,
    op         INTEGER NOT NULL,
    remote_id  BLOB,
    result     INTEGER NOT NULL,
    detail     BLOB NOT NULL,
    error      TEXT
);

-- @convert

-- The trail's ids are never handed out twice: the new table continues the old sequence.
DELETE FROM sqlite_sequence WHERE name = 'audit';
UPDATE sqlite_sequence SET name = 'audit' WHERE name = 'audit_v4';

DROP TABLE links_v4;
DROP TABLE snapshot_v4;
DROP TABLE audit_v4;
DROP TABLE link_paths;

-- One live link per account: a deleted account's id stays on its link for the record,
-- but must not block an app that hands the same id out again (2 = deleted).
CREATE UNIQUE INDEX links_remote_id ON links (app, remote_id) WHERE lifecycle <> 2;
CREATE INDEX audit_app ON audit (app);
CREATE INDEX audit_person ON audit (person_key);
CREATE INDEX audit_at ON audit (at);

-- As in 0004_settled: a link written or removed re-plans its person.
CREATE TRIGGER links_unsettle_insert AFTER INSERT ON links BEGIN
    DELETE FROM settled WHERE app = NEW.app AND person_key = NEW.person_key;
END;
CREATE TRIGGER links_unsettle_update AFTER UPDATE ON links BEGIN
    DELETE FROM settled WHERE app = NEW.app AND person_key = NEW.person_key;
END;
CREATE TRIGGER links_unsettle_delete AFTER DELETE ON links BEGIN
    DELETE FROM settled WHERE app = OLD.app AND person_key = OLD.person_key;
END;
