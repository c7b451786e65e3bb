-- A second pair of staging tables (see 0004), so the rows of one pair can be
-- moved into the indexed tables a few WABAs per commit while small groups
-- append to the other. Moving a whole pair in one commit made that commit
-- several times slower than the rest, and the requests it carried waited.
-- Same columns as `events` and `ledger`. Unused (always empty) on PostgreSQL.
CREATE TABLE events_recent_b (
    waba        TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    at_ms       BIGINT NOT NULL,
    source      TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    result      TEXT   NOT NULL,
    entry_seq   BIGINT NOT NULL,
    received_ms BIGINT NOT NULL
);

CREATE TABLE ledger_recent_b (
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
