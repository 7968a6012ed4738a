-- Seamless migrations: the task, its topics and their stages, and every transition with who and
-- when. Cluster endpoints are JSON (NameServer list, cluster name, access key, secret key): the
-- secret is needed again after a restart, so the store file is private to its owner (0600).
CREATE TABLE migrations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    source       TEXT NOT NULL,
    target       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    completed_at TEXT
);

CREATE TABLE migration_topics (
    migration_id   INTEGER NOT NULL REFERENCES migrations (id),
    topic          TEXT NOT NULL,
    groups         TEXT NOT NULL,
    stage          TEXT NOT NULL,
    strict_order   INTEGER NOT NULL,
    -- Strict order: the side held write-only and the offsets the other side must be read up to.
    hold           TEXT,
    last_check     TEXT,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (migration_id, topic)
);

CREATE TABLE migration_transitions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    migration_id INTEGER NOT NULL REFERENCES migrations (id),
    topic        TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_stage   TEXT,
    to_stage     TEXT,
    actor        TEXT NOT NULL,
    reason       TEXT,
    ignored      TEXT NOT NULL,
    at           TEXT NOT NULL
);

CREATE INDEX migration_transitions_by_topic ON migration_transitions (migration_id, topic, id);

-- Relay ports handed to clients: re-opened on the same ports after a restart.
CREATE TABLE relay_assignments (
    side    TEXT NOT NULL,
    backend TEXT NOT NULL,
    port    INTEGER NOT NULL,
    PRIMARY KEY (side, backend)
);

-- Small settings Ferry keeps for itself (the generated API token).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
