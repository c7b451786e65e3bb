-- Finance: imported rate cards and market maps, re-rating jobs, and a daily
-- usage summary kept in the same transaction as the ledger entries, so an
-- invoice or a forecast baseline reads a few hundred rows, not millions.

-- Rate cards imported at run time (CLI or POST /v1/ratecards), in Meta's CSV
-- as given. They join the policy files' cards; ranges of a currency never overlap.
CREATE TABLE ratecards (
    id             TEXT   NOT NULL PRIMARY KEY,
    currency       TEXT   NOT NULL,
    effective_from TEXT   NOT NULL,
    effective_to   TEXT,
    csv            TEXT   NOT NULL,
    source         TEXT   NOT NULL,
    markets        BIGINT NOT NULL,
    imported_ms    BIGINT NOT NULL
);

-- Imported market maps; the latest replaces the policy files' map.
CREATE TABLE market_maps (
    version     BIGINT NOT NULL PRIMARY KEY,
    csv         TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    imported_ms BIGINT NOT NULL
);

-- Re-rating jobs that ran for real, by the caller's job id: a repeat answers
-- the stored report and writes nothing.
CREATE TABLE rerate_jobs (
    job_id     TEXT   NOT NULL PRIMARY KEY,
    request    TEXT   NOT NULL,
    report     TEXT   NOT NULL,
    created_ms BIGINT NOT NULL
);

-- Volume and exact cost per WABA, local day (the WABA's time zone), market,
-- category, pricing type and currency: the ledger entries summed (reversals
-- negative). `unpriced` counts entries without an amount.
CREATE TABLE daily_usage (
    waba         TEXT   NOT NULL,
    day          TEXT   NOT NULL,
    market       TEXT   NOT NULL,
    category     TEXT   NOT NULL,
    pricing_type TEXT   NOT NULL,
    currency     TEXT   NOT NULL,
    volume       BIGINT NOT NULL,
    amount       TEXT   NOT NULL,
    unpriced     BIGINT NOT NULL,
    PRIMARY KEY (waba, day, market, category, pricing_type, currency)
);
