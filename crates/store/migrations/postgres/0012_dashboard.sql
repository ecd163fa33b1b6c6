-- Dashboard sign-ins, one row per signed-in browser, so a session works on every node sharing
-- the database. `lookup` is the SHA-256 of the session cookie's token: the token itself is
-- never stored. A session ends when signed out or when unused for the idle limit; expired
-- rows are deleted by the maintenance loop.
CREATE TABLE dashboard_sessions (
    lookup       TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_account ON dashboard_sessions(account_id);
CREATE INDEX dashboard_sessions_seen ON dashboard_sessions(last_seen_at);

-- API keys issued from the dashboard (or the API) carry the name their owner gave them.
ALTER TABLE credentials ADD COLUMN name TEXT;
