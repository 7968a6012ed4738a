-- The instances of a fleet and the step lease: as migrations/sqlite/0005_fleet.sql.
CREATE TABLE fleet_instances (
    name         TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    namesrv      TEXT   NOT NULL,
    api          TEXT   NOT NULL,
    started_ms   BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    view         TEXT   NOT NULL
);

CREATE TABLE step_lease (
    id         BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    holder     TEXT   NOT NULL,
    expires_ms BIGINT NOT NULL
);
INSERT INTO step_lease (id, holder, expires_ms) VALUES (1, '', 0);
