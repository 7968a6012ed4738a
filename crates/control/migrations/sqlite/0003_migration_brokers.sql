-- The brokers a migration's checks must hear from, per side: recorded when first seen in a
-- cluster's layout and kept when they disappear (a master that crashed is not listed by the
-- NameServer; what is not seen must not count as empty). Only an operator's recorded decision
-- forgets one; a forgotten broker that registers again is remembered again.
CREATE TABLE migration_brokers (
    migration_id     INTEGER NOT NULL REFERENCES migrations (id),
    side             TEXT NOT NULL,
    name             TEXT NOT NULL,
    -- The master's address when last seen registered.
    addr             TEXT,
    first_seen       TEXT NOT NULL,
    last_seen        TEXT NOT NULL,
    forgotten_at     TEXT,
    forgotten_by     TEXT,
    forgotten_reason TEXT,
    PRIMARY KEY (migration_id, side, name)
);
