-- The ledger schema. One text for SQLite and PostgreSQL: portable types only
-- (TEXT, BIGINT), times as unix milliseconds, money as exact decimal text.

-- Every message the daemon has accepted, in its canonical normalized form.
-- `result` and `entry_seq` point at the message's live ledger entry; they move
-- when a late event re-rates the message (the ledger itself is append-only).
CREATE TABLE events (
    waba        TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    at_ms       BIGINT NOT NULL,
    source      TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    result      TEXT   NOT NULL,
    entry_seq   BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (waba, id)
);
CREATE INDEX events_by_time ON events (waba, at_ms);

-- Append-only: a charge per rating, and a reversal (negative amount) that
-- cancels an earlier charge when a late event or a status changes the verdict.
CREATE TABLE ledger (
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
    meta_pricing    TEXT,
    PRIMARY KEY (waba, seq)
);
CREATE INDEX ledger_by_time ON ledger (waba, at_ms);

-- The plugins (name, version, digest) behind ledger entries, by set key.
CREATE TABLE plugin_sets (
    plugin_set TEXT NOT NULL PRIMARY KEY,
    plugins    TEXT NOT NULL
);

-- Meta's word on each message: the furthest delivery state and its pricing.
CREATE TABLE statuses (
    waba            TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    business_number TEXT   NOT NULL,
    recipient       TEXT   NOT NULL,
    recipient_id    TEXT,
    status          TEXT   NOT NULL,
    status_at_ms    BIGINT NOT NULL,
    first_at_ms     BIGINT NOT NULL,
    pricing         TEXT,
    pricing_rank    BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    PRIMARY KEY (waba, id)
);

-- Deliveries that reused a message id with different content.
CREATE TABLE conflicts (
    waba         TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    received_ms  BIGINT NOT NULL,
    stored_body  TEXT   NOT NULL,
    offered_body TEXT   NOT NULL
);
CREATE INDEX conflicts_by_message ON conflicts (waba, id);
