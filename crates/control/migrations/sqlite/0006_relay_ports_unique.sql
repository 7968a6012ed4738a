-- A port relays one broker, whichever instance of a fleet assigned it: two instances that gave
-- one port to two brokers at the same moment keep the first row (by side and broker), and the
-- other instance's relay for its broker moves to another port at its next start.
DELETE FROM relay_assignments
WHERE EXISTS (
    SELECT 1 FROM relay_assignments b
    WHERE b.port = relay_assignments.port
      AND (b.side < relay_assignments.side
           OR (b.side = relay_assignments.side AND b.backend < relay_assignments.backend))
);
CREATE UNIQUE INDEX relay_assignments_port ON relay_assignments (port);
