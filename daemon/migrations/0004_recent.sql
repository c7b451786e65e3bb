-- Append-only staging for small groups on SQLite. A group of single-event
-- requests touches a different WABA per event, so writing it straight into
-- the per-WABA indexes dirties one page per event in each of them. Such
-- groups append here instead (no index: one page at the end per commit); the
-- committer moves these rows into `events` and `ledger` in bulk, and before
-- anything reads the indexed tables for more than a key it keeps in memory.
-- Same columns as `events` and `ledger`. Unused (always empty) on PostgreSQL.
CREATE TABLE events_recent (
    waba        TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    at_ms       BIGINT NOT NULL,
    source      TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    result      TEXT   NOT NULL,
    entry_seq   BIGINT NOT NULL,
    received_ms BIGINT NOT NULL
);

CREATE TABLE ledger_recent (
    waba            TEXT   NOT NULL,
    seq             BIGINT NOT NULL,
    id              TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    reverses        BIGINT,
    cause           TEXT   NOT NULL,
    at_ms           BIGINT NOT NULL,
    recorded_ms     BIGINT NOT NULL,
    business_number TEXT   NOT NULL,
    billable        BIGINT NOT NULL,
    category        TEXT   NOT NULL,
    pricing_type    TEXT   NOT NULL,
    market          TEXT   NOT NULL,
    country         TEXT   NOT NULL,
    currency        TEXT   NOT NULL,
    amount          TEXT,
    regime          TEXT   NOT NULL,
    rate_card       TEXT,
    tier            TEXT,
    plugin_set      TEXT   NOT NULL,
    meta_pricing    TEXT
);
