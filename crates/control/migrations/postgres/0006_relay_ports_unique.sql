-- One broker per relay port: as migrations/sqlite/0006_relay_ports_unique.sql.
DELETE FROM relay_assignments a
USING relay_assignments b
WHERE a.port = b.port AND (a.side, a.backend) > (b.side, b.backend);
CREATE UNIQUE INDEX relay_assignments_port ON relay_assignments (port);
