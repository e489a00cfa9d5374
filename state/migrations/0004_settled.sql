-- 0004_settled: persons whose last full plan in an app asked for nothing. While what that
-- plan was computed from is the same (the fingerprint: the HR record, the app's config,
-- the person's link, the links their references point to, their group memberships) and no
-- date-driven change is due, a cycle leaves them out of mapping and planning.
--   user_name: the lowercase userName the person holds in the app (NULL: none), so that a
--              planned person mapping to the same one brings them back into the plan;
--   refs:      JSON array of the HR keys their references point to;
--   due:       the first day (UTC) on which their target may change (NULL: none known):
--              the index of date-driven changes, so that no person's dates are looked
--              at again before that day.
CREATE TABLE settled (
    app         TEXT NOT NULL,
    person_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    user_name   TEXT,
    refs        TEXT NOT NULL DEFAULT '[]',
    due         TEXT,
    PRIMARY KEY (app, person_key)
) WITHOUT ROWID;

-- The form an app kept for a value decides what is in step: a change re-plans the person.
CREATE TRIGGER kept_forms_unsettle_insert AFTER INSERT ON kept_forms BEGIN
    DELETE FROM settled WHERE app = NEW.app AND person_key = NEW.person_key;
END;
CREATE TRIGGER kept_forms_unsettle_update AFTER UPDATE ON kept_forms BEGIN
    DELETE FROM settled WHERE app = NEW.app AND person_key = NEW.person_key;
END;
CREATE TRIGGER kept_forms_unsettle_delete AFTER DELETE ON kept_forms BEGIN
    DELETE FROM settled WHERE app = OLD.app AND person_key = OLD.person_key;
END;
-- A link written or removed re-plans its person (the fingerprint holds the link too; this
-- keeps the table from holding persons whose standing is gone).
CREATE TRIGGER links_unsettle_insert AFTER INSERT ON links BEGIN
    DELETE FROM settled WHERE app = NEW.app AND person_key = NEW.person_key;
END;
CREATE TRIGGER links_unsettle_update AFTER UPDATE ON links BEGIN
    DELETE FROM settled WHERE app = NEW.app AND person_key = NEW.person_key;
END;
CREATE TRIGGER links_unsettle_delete AFTER DELETE ON links BEGIN
    DELETE FROM settled WHERE app = OLD.app AND person_key = OLD.person_key;
END;

-- Absence is now decided from what a read holds, not by comparing each row's
-- last_seen_cycle with the cycle's: that index only slowed the snapshot's writes.
DROP INDEX IF EXISTS snapshot_last_seen;
