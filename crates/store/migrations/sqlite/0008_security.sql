-- Failed password checks (logins, SMPP binds, OAuth client secrets), one row per failure, so
-- every node sharing the database counts the same failures. `subject` is the SHA-256 of what
-- was limited (`user:NAME`, `client:ID`, `addr:IP`): no typed username or address is kept.
-- Rows older than the limit's hour are deleted by the maintenance loop.
CREATE TABLE login_failures (
    subject   TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures(subject, failed_at);
CREATE INDEX login_failures_at ON login_failures(failed_at);

-- Whether a batch (one send) belongs to an account, without a scan of its messages.
CREATE INDEX messages_batch ON messages(account_id, batch_id);
