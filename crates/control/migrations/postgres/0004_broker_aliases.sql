-- Target brokers shown to clients under another name: as migrations/sqlite/0004_broker_aliases.sql.
ALTER TABLE migration_brokers ADD COLUMN alias TEXT;
