-- Target brokers shown to clients under another name because a source broker has the same one
-- (clients key queues, offsets and locks by broker name). Chosen once per migration and kept:
-- the name becomes client state.
ALTER TABLE migration_brokers ADD COLUMN alias TEXT;
