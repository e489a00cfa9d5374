-- 0002_kept_forms: the form an app stores a value in. After a successful write, per
-- (app, person, attribute path), the value hrsync sent and the value the app returned for
-- it, when they differ (the app lowercased, reformatted or rewrote it). An app value equal
-- to the kept form of the current desired value is in step.

CREATE TABLE kept_forms (
    app        TEXT NOT NULL,
    person_key TEXT NOT NULL,
    path       TEXT NOT NULL,
    sent       TEXT NOT NULL,
    got        TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (app, person_key, path)
);
