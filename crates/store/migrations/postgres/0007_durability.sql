-- One row the writer rewrites while the database refuses writes (a full disk, a read-only
-- database): its commit is how the node learns that writes get through again.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL
);

-- Submitted messages by the end of their validity, for the sweep that gives up on receipts
-- that never came.
CREATE INDEX messages_submitted ON messages(valid_until) WHERE status = 'submitted';
