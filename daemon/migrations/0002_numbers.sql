-- Business numbers and their Coexistence lifecycle (issue 4). Portable SQL for
-- SQLite and PostgreSQL: times as unix milliseconds (BIGINT), flags as 0/1.

-- One row per business number. `state` is the engine's NumberState as JSON and
-- is the truth; the other columns copy what the list queries filter on.
-- `version` grows by one on every update: replicas update with
-- `WHERE version = <read>` and retry when another one got there first.
CREATE TABLE numbers (
    number           TEXT   NOT NULL PRIMARY KEY,
    waba             TEXT   NOT NULL,
    coexistence      BIGINT NOT NULL,
    onboarded_at_ms  BIGINT NOT NULL,
    -- The latest app activity, or the onboarding when there was none since.
    last_activity_ms BIGINT NOT NULL,
    contacts_sync_ms BIGINT,
    history_sync_ms  BIGINT,
    offboarded_at_ms BIGINT,
    state            TEXT   NOT NULL,
    version          BIGINT NOT NULL,
    updated_ms       BIGINT NOT NULL
);
CREATE INDEX numbers_by_activity ON numbers (coexistence, last_activity_ms);
CREATE INDEX numbers_by_onboarding ON numbers (coexistence, onboarded_at_ms);

-- The throughput budget of each number when several replicas share the
-- database: the GCRA's theoretical arrival time, in microseconds of the
-- database server's clock.
CREATE TABLE number_throughput (
    number TEXT   NOT NULL PRIMARY KEY,
    tat_us BIGINT NOT NULL
);
