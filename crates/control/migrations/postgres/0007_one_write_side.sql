-- A strict-order FIFO topic is written on one side at a time (decided at its first step).
ALTER TABLE migration_topics ADD COLUMN one_write_side BOOLEAN NOT NULL DEFAULT FALSE;
