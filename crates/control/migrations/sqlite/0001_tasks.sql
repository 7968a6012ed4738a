-- Tasks (import tasks for now) and the result of each of their items.
-- Enumerations are stored as lower-case tokens; timestamps as RFC 3339 text in UTC.

CREATE TABLE tasks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL,
    target_namesrv TEXT    NOT NULL,
    target_cluster TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    mode           TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    finished_at    TEXT,
    status         TEXT    NOT NULL
        CHECK (status IN ('running', 'succeeded', 'some_failed', 'all_failed'))
);

CREATE TABLE task_items (
    task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('topic', 'group', 'account')),
    target_name TEXT    NOT NULL,
    source_name TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('created', 'updated', 'unchanged', 'failed')),
    cause       TEXT,
    -- A JSON array of strings.
    warnings    TEXT    NOT NULL DEFAULT '[]',
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (task_id, kind, target_name)
);
