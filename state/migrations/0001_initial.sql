-- 0001_initial: the first schema of the hrsync state database.
-- Migrations are append-only: never edit a released file, add the next number instead.
-- Enumerated text columns carry no CHECK so that later versions can add values without
-- rebuilding tables; the Rust side validates every value it reads.
-- Timestamps are RFC 3339 UTC text with milliseconds ("2026-01-31T09:15:00.123Z"), so
-- text order is time order.

CREATE TABLE cycles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,
    summary     TEXT,
    error       TEXT
);
CREATE INDEX cycles_status ON cycles (status);

CREATE TABLE links (
    app            TEXT NOT NULL,
    person_key     TEXT NOT NULL,
    remote_id      TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    last_pushed    TEXT NOT NULL DEFAULT '{}',
    hash           TEXT NOT NULL DEFAULT '',
    lifecycle      TEXT NOT NULL,
    ownership      TEXT NOT NULL,
    deactivated_at TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (app, person_key)
);
-- One live link per account: a deleted account's id stays on its link for the record,
-- but must not block an app that hands the same id out again.
CREATE UNIQUE INDEX links_remote_id ON links (app, remote_id) WHERE lifecycle <> 'deleted';

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    cycle_id   INTEGER REFERENCES cycles (id) ON DELETE SET NULL,
    app        TEXT NOT NULL,
    person_key TEXT NOT NULL,
    op         TEXT NOT NULL,
    remote_id  TEXT,
    result     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT 'null',
    error      TEXT
);
CREATE INDEX audit_app_at ON audit (app, at);
CREATE INDEX audit_person_at ON audit (person_key, at);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE snapshot (
    source            TEXT NOT NULL,
    person_key        TEXT NOT NULL,
    record            TEXT NOT NULL,
    hash              TEXT NOT NULL,
    first_seen_cycle  INTEGER NOT NULL,
    last_seen_cycle   INTEGER NOT NULL,
    absent_cycles     INTEGER NOT NULL DEFAULT 0,
    -- The cycle whose complete read last counted this person absent, so that saving the
    -- same cycle twice does not count twice.
    last_absent_cycle INTEGER,
    PRIMARY KEY (source, person_key)
);
CREATE INDEX snapshot_last_seen ON snapshot (source, last_seen_cycle);

CREATE TABLE quarantine_records (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    person_key TEXT,
    position   TEXT NOT NULL,
    field      TEXT,
    reason     TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL
);
CREATE INDEX quarantine_records_source ON quarantine_records (source);

CREATE TABLE op_quarantine (
    app             TEXT NOT NULL,
    person_key      TEXT NOT NULL,
    op              TEXT NOT NULL,
    failures        INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    first_failed_at TEXT NOT NULL,
    last_failed_at  TEXT NOT NULL,
    PRIMARY KEY (app, person_key)
);

CREATE TABLE held (
    app        TEXT NOT NULL,
    person_key TEXT NOT NULL,
    op         TEXT NOT NULL,
    reason     TEXT NOT NULL,
    cycle_id   INTEGER REFERENCES cycles (id) ON DELETE SET NULL,
    held_at    TEXT NOT NULL,
    PRIMARY KEY (app, person_key, op)
);

CREATE TABLE watermarks (
    source     TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE groups (
    app        TEXT NOT NULL,
    group_name TEXT NOT NULL,
    remote_id  TEXT,
    managed    INTEGER NOT NULL,
    members    TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (app, group_name)
);

CREATE TABLE app_health (
    app                  TEXT PRIMARY KEY,
    circuit              TEXT NOT NULL,
    last_error           TEXT,
    last_success_at      TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    opened_at            TEXT,
    updated_at           TEXT NOT NULL
);

CREATE TABLE meta (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
