-- Per-second budgets shared by the nodes of one database (a connector's messages per second
-- hold across nodes): the second the budget is for, what was taken of it, and what the last
-- request was granted. A single SQLite node keeps its budgets in memory and leaves this empty.
CREATE TABLE rate_budgets (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL,
    granted      BIGINT NOT NULL
);
