-- The brokers a migration's checks must hear from, per side: as
-- migrations/sqlite/0003_migration_brokers.sql.
CREATE TABLE migration_brokers (
    migration_id     BIGINT      NOT NULL REFERENCES migrations (id),
    side             TEXT        COLLATE "C" NOT NULL,
    name             TEXT        COLLATE "C" NOT NULL,
    -- The master's address when last seen registered.
    addr             TEXT,
    first_seen       TEXT        NOT NULL,
    last_seen        TEXT        NOT NULL,
    forgotten_at     TEXT       ,
    forgotten_by     TEXT,
    forgotten_reason TEXT,
    PRIMARY KEY (migration_id, side, name)
);
