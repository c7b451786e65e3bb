//! The number registry's tables (`migrations/0002_numbers.sql`). Handlers go
//! through the pool, never the committer's connection: the registry is not
//! part of the ledger's transactions.

use anyhow::Context;
use coexist_engine::lifecycle::{Admission, Gcra, NumberState};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store};

/// A stored number: its state and the version it was read at.
#[derive(Debug, Clone)]
pub struct NumberRow {
    pub number: String,
    pub state: NumberState,
    pub version: i64,
}

/// Which numbers a list asks for, as cut-off times computed by the engine.
#[derive(Debug, Clone, Copy)]
pub enum NumberFilter {
    /// Coexistence numbers (not offboarded) whose last activity is before `.0`.
    ActivityBefore(i64),
    /// Coexistence numbers whose last activity is in `[.0, .1)`.
    ActivityBetween(i64, i64),
    /// Coexistence numbers onboarded before `.0` with a sync not requested.
    SyncMissed(i64),
    All,
}

const COLUMNS: &str = "number, state, version";

fn from_row(row: &AnyRow) -> anyhow::Result<NumberRow> {
    let number: String = row.try_get(0)?;
    let state: String = row.try_get(1)?;
    let state = serde_json::from_str(&state).with_context(|| format!("stored state of {number}"))?;
    Ok(NumberRow { number, state, version: row.try_get(2)? })
}

fn last_activity(state: &NumberState) -> i64 {
    state.last_app_activity_ms.map_or(state.onboarded_at_ms, |a| a.max(state.onboarded_at_ms))
}

/// The PostgreSQL channel a written number's E.164 is announced on.
pub const NUMBERS_CHANNEL: &str = "coexist_numbers";

impl Store {
    pub async fn number(&self, number: &str) -> anyhow::Result<Option<NumberRow>> {
        let sql = format!("SELECT {COLUMNS} FROM numbers WHERE number = {}", self.params(1, 1));
        let row = sqlx::query(AssertSqlSafe(sql)).bind(number.to_owned()).fetch_optional(&self.pool).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Writes `state`: inserts when `version` is `None`, else updates only if
    /// the row is still at `version`. `false` means someone else wrote first.
    pub async fn put_number(
        &self,
        number: &str,
        state: &NumberState,
        version: Option<i64>,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let json = serde_json::to_string(state)?;
        let p = |first, count| self.params(first, count);
        let values = (
            state.waba.clone(),
            i64::from(state.coexistence),
            state.onboarded_at_ms,
            last_activity(state),
            state.contacts_sync_requested_ms,
            state.history_sync_requested_ms,
            state.offboarded_at_ms,
            json,
        );
        let written = match version {
            None => {
                let sql = format!(
                    "INSERT INTO numbers (number, waba, coexistence, onboarded_at_ms, last_activity_ms, \
                     contacts_sync_ms, history_sync_ms, offboarded_at_ms, state, version, updated_ms) \
                     VALUES ({}) ON CONFLICT (number) DO NOTHING",
                    p(1, 11)
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(number.to_owned())
                    .bind(values.0)
                    .bind(values.1)
                    .bind(values.2)
                    .bind(values.3)
                    .bind(values.4)
                    .bind(values.5)
                    .bind(values.6)
                    .bind(values.7)
                    .bind(1_i64)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?
            }
            Some(v) => {
                let sql = match self.backend {
                    Backend::Postgres => "UPDATE numbers SET waba = $1, coexistence = $2, onboarded_at_ms = $3, \
                         last_activity_ms = $4, contacts_sync_ms = $5, history_sync_ms = $6, offboarded_at_ms = $7, \
                         state = $8, version = version + 1, updated_ms = $9 WHERE number = $10 AND version = $11"
                        .to_owned(),
                    Backend::Sqlite => "UPDATE numbers SET waba = ?, coexistence = ?, onboarded_at_ms = ?, \
                         last_activity_ms = ?, contacts_sync_ms = ?, history_sync_ms = ?, offboarded_at_ms = ?, \
                         state = ?, version = version + 1, updated_ms = ? WHERE number = ? AND version = ?"
                        .to_owned(),
                };
                sqlx::query(AssertSqlSafe(sql))
                    .bind(values.0)
                    .bind(values.1)
                    .bind(values.2)
                    .bind(values.3)
                    .bind(values.4)
                    .bind(values.5)
                    .bind(values.6)
                    .bind(values.7)
                    .bind(now_ms)
                    .bind(number.to_owned())
                    .bind(v)
                    .execute(&self.pool)
                    .await?
            }
        };
        let written = written.rows_affected() == 1;
        if written && self.backend == Backend::Postgres {
            // Every daemon on this database hears of it (see `lifecycle::follow`).
            // The write stands without it; the others' caches expire.
            let notified = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NUMBERS_CHANNEL)
                .bind(number.to_owned())
                .execute(&self.pool)
                .await;
            if let Err(e) = notified {
                tracing::warn!(number, error = %e, "could not announce a number's change to the other daemons");
            }
        }
        Ok(written)
    }

    /// Numbers matching `filter`, by number, at most `limit`, after `after`.
    /// A page of numbers after `after` (in number order), optionally of one WABA.
    pub async fn numbers(
        &self,
        filter: NumberFilter,
        waba: Option<&str>,
        after: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<NumberRow>> {
        let live = "coexistence = 1 AND offboarded_at_ms IS NULL";
        let (cond, binds): (String, Vec<i64>) = match filter {
            NumberFilter::ActivityBefore(t) => {
                (format!("{live} AND last_activity_ms < {}", self.params(1, 1)), vec![t])
            }
            NumberFilter::ActivityBetween(a, b) => (
                format!(
                    "{live} AND last_activity_ms >= {} AND last_activity_ms < {}",
                    self.params(1, 1),
                    self.params(2, 1)
                ),
                vec![a, b],
            ),
            NumberFilter::SyncMissed(t) => (
                format!(
                    "{live} AND onboarded_at_ms < {} AND (contacts_sync_ms IS NULL OR history_sync_ms IS NULL)",
                    self.params(1, 1)
                ),
                vec![t],
            ),
            NumberFilter::All => ("1 = 1".to_owned(), vec![]),
        };
        let n = binds.len();
        let (cond, n) = match waba {
            Some(_) => (format!("{cond} AND waba = {}", self.params(n + 1, 1)), n + 1),
            None => (cond, n),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM numbers WHERE {cond} AND number > {} ORDER BY number LIMIT {}",
            self.params(n + 1, 1),
            self.params(n + 2, 1)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        if let Some(waba) = waba {
            q = q.bind(waba.to_owned());
        }
        let rows = q.bind(after.to_owned()).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// How many live Coexistence numbers had no app activity since `before`.
    pub async fn count_stale(&self, before: i64) -> anyhow::Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM numbers WHERE coexistence = 1 AND offboarded_at_ms IS NULL AND last_activity_ms < {}",
            self.params(1, 1)
        );
        Ok(sqlx::query(AssertSqlSafe(sql)).bind(before).fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// Starts a number's shared throughput budget afresh (PostgreSQL only).
    pub async fn reset_throughput(&self, number: &str) -> anyhow::Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO number_throughput (number, tat_us) VALUES ($1, 0) \
             ON CONFLICT (number) DO UPDATE SET tat_us = 0",
        )
        .bind(number.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A number's shared TAT and the database's clock, in microseconds.
    pub async fn shared_tat(&self, number: &str) -> anyhow::Result<Option<(i64, i64)>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT t.tat_us, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT \
             FROM number_throughput t WHERE t.number = $1",
        )
        .bind(number.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// GCRA on the shared row, atomically, against the database server's
    /// clock (so replicas' clocks need not agree): one `UPDATE ... RETURNING`
    /// when admitted; a second read for the retry time when refused.
    pub async fn admit_shared(&self, number: &str, gcra: Gcra, count: u32) -> anyhow::Result<Admission> {
        anyhow::ensure!(self.backend == Backend::Postgres, "the shared throughput budget needs PostgreSQL");
        let inc = i64::from(count) * gcra.interval_us();
        let row = sqlx::query(
            "WITH c AS (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT AS now_us) \
             UPDATE number_throughput t SET tat_us = GREATEST(t.tat_us, c.now_us) + $2 FROM c \
             WHERE t.number = $1 AND GREATEST(t.tat_us, c.now_us) + $2 - c.now_us <= $3 \
             RETURNING t.tat_us, c.now_us",
        )
        .bind(number.to_owned())
        .bind(inc)
        .bind(gcra.capacity_us())
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            let (tat, now): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            return Ok(gcra.answer(Some(tat), tat, now, count));
        }
        let Some((tat, now)) = self.shared_tat(number).await? else {
            // Registered before this table existed for it: start its budget, then decide.
            self.reset_throughput(number).await?;
            return Box::pin(self.admit_shared(number, gcra, count)).await;
        };
        Ok(gcra.answer(None, tat, now, count))
    }
}
