-- Ferry instances sharing this store (a fleet): each writes a heartbeat and what it serves (its
-- view: the stage of each topic as its proxy applies it, the route holders and clients its NameServer
-- front and relays saw) at each beat, so that any instance's checks count the whole fleet.
CREATE TABLE fleet_instances (
    name         TEXT    NOT NULL PRIMARY KEY,
    -- The NameServer address clients reach it at, and its HTTP API.
    namesrv      TEXT    NOT NULL,
    api          TEXT    NOT NULL,
    started_ms   INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    view         TEXT    NOT NULL
);

-- Who may take a step: one row, held by one instance until expires_ms (a dead holder's lease
-- runs out). holder = '' when free.
CREATE TABLE step_lease (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    holder     TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL
);
INSERT INTO step_lease (id, holder, expires_ms) VALUES (1, '', 0);
