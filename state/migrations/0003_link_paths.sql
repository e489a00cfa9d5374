-- 0003_link_paths: what a link last pushed, stored compactly. An app's links all push the
-- same few SCIM paths (long ones, like the enterprise extension's), so each path is kept
-- once in link_paths and links.last_pushed holds a JSON array of [path id, value] pairs
-- instead of an object keyed by path. Readers still accept the object form ('{}' is the
-- column's default).
CREATE TABLE link_paths (
    id   INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);

INSERT OR IGNORE INTO link_paths (path)
    SELECT DISTINCT j.key FROM links, json_each(links.last_pushed) AS j
    WHERE json_type(links.last_pushed) = 'object';

-- json_each gives true/false/null as SQL values; they are written back as JSON literals so
-- that a boolean stays a boolean. Objects and arrays come back as JSON.
UPDATE links SET last_pushed = (
    SELECT json_group_array(json_array(p.id, CASE j.type
        WHEN 'true' THEN json('true')
        WHEN 'false' THEN json('false')
        WHEN 'null' THEN json('null')
        ELSE j.value END))
    FROM json_each(links.last_pushed) AS j JOIN link_paths AS p ON p.path = j.key
)
WHERE json_type(last_pushed) = 'object';
