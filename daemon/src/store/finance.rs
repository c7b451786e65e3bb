//! Finance tables: imported rate cards and market maps, re-rating jobs, and
//! the daily usage summary the committer keeps beside the ledger.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::{AssertSqlSafe, Row};

use super::{EntryRow, Store, CHUNK};

/// An imported rate card, as stored.
#[derive(Debug, Clone)]
pub struct StoredCard {
    pub id: String,
    pub currency: String,
    pub effective_from: String,
    pub effective_to: Option<String>,
    pub csv: String,
    pub source: String,
    pub markets: i64,
    pub imported_ms: i64,
}

/// The key of a daily usage row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageKey {
    pub waba: String,
    /// `YYYY-MM-DD` in the WABA's time zone.
    pub day: String,
    pub market: String,
    pub category: String,
    pub pricing_type: String,
    pub currency: String,
}

impl UsageKey {
    /// Binds the key's six columns, in table order.
    fn bind(
        &self,
        q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        q.bind(self.waba.clone())
            .bind(self.day.clone())
            .bind(self.market.clone())
            .bind(self.category.clone())
            .bind(self.pricing_type.clone())
            .bind(self.currency.clone())
    }
}

/// What a day's row adds up to (or, in a commit, changes by).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub volume: i64,
    pub amount: Decimal,
    pub unpriced: i64,
}

/// The summary rows after `changes`: each added to its `current` row, if any.
pub(super) fn merge_usage(
    changes: BTreeMap<UsageKey, Usage>,
    current: &BTreeMap<UsageKey, Usage>,
) -> BTreeMap<UsageKey, Usage> {
    changes
        .into_iter()
        .map(|(k, d)| {
            let c = current.get(&k).copied().unwrap_or_default();
            let u =
                Usage { volume: c.volume + d.volume, amount: c.amount + d.amount, unpriced: c.unpriced + d.unpriced };
            (k, u)
        })
        .collect()
}

/// Folds ledger entries into daily usage changes; `tz` gives each WABA's time zone.
pub fn usage_of(entries: &[EntryRow], tz: impl Fn(&str) -> Tz) -> BTreeMap<UsageKey, Usage> {
    // A commit's thousands of entries fall on a few rows: sum under borrowed
    // keys, and build each row's owned key once.
    let mut sums: BTreeMap<(&str, NaiveDate, &str, &str, &str, &str), Usage> = BTreeMap::new();
    let mut zones: BTreeMap<&str, Tz> = BTreeMap::new();
    for e in entries {
        let zone = *zones.entry(&e.waba).or_insert_with(|| tz(&e.waba));
        let day = zone.timestamp_millis_opt(e.at_ms).single().map(|t| t.date_naive()).unwrap_or_default();
        let key = (&*e.waba, day, &*e.market, &*e.category, &*e.pricing_type, &*e.currency);
        let sign = if e.kind == "reversal" { -1 } else { 1 };
        let u = sums.entry(key).or_default();
        u.volume += sign;
        match e.amount.as_deref().and_then(|a| a.parse::<Decimal>().ok()) {
            Some(a) => u.amount += a,
            None => u.unpriced += sign,
        }
    }
    sums.into_iter()
        .map(|((waba, day, market, category, pricing_type, currency), u)| {
            let key = UsageKey {
                waba: waba.to_owned(),
                day: day.to_string(),
                market: market.to_owned(),
                category: category.to_owned(),
                pricing_type: pricing_type.to_owned(),
                currency: currency.to_owned(),
            };
            (key, u)
        })
        .collect()
}

/// A daily usage row read back.
#[derive(Debug, Clone)]
pub struct DailyRow {
    pub day: NaiveDate,
    pub market: String,
    pub category: String,
    pub pricing_type: String,
    pub currency: String,
    pub usage: Usage,
}

impl Store {
    /// The imported rate cards, oldest import first.
    pub async fn ratecards(&self) -> anyhow::Result<Vec<StoredCard>> {
        let rows = sqlx::query(
            "SELECT id, currency, effective_from, effective_to, csv, source, markets, imported_ms FROM ratecards ORDER BY imported_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredCard {
                    id: r.try_get(0)?,
                    currency: r.try_get(1)?,
                    effective_from: r.try_get(2)?,
                    effective_to: r.try_get(3)?,
                    csv: r.try_get(4)?,
                    source: r.try_get(5)?,
                    markets: r.try_get(6)?,
                    imported_ms: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Stores an imported rate card (the caller checked it).
    pub async fn insert_ratecard(&self, c: &StoredCard) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO ratecards (id, currency, effective_from, effective_to, csv, source, markets, imported_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id.clone())
        .bind(c.currency.clone())
        .bind(c.effective_from.clone())
        .bind(c.effective_to.clone())
        .bind(c.csv.clone())
        .bind(c.source.clone())
        .bind(c.markets)
        .bind(c.imported_ms)
        .execute(&mut *self.writer_conn().await)
        .await?;
        Ok(())
    }

    /// The latest imported market map: (version, CSV, source).
    pub async fn market_map(&self) -> anyhow::Result<Option<(i64, String, String)>> {
        let row = sqlx::query("SELECT version, csv, source FROM market_maps ORDER BY version DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).transpose()
    }

    /// Stores an imported market map as the next version; returns it.
    pub async fn insert_market_map(&self, csv: &str, source: &str, now_ms: i64) -> anyhow::Result<i64> {
        let mut writer = self.writer_conn().await;
        let last: Option<i64> =
            sqlx::query("SELECT MAX(version) FROM market_maps").fetch_one(&mut *writer).await?.try_get(0)?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query("INSERT INTO market_maps (version, csv, source, imported_ms) VALUES ($1, $2, $3, $4)")
            .bind(version)
            .bind(csv.to_owned())
            .bind(source.to_owned())
            .bind(now_ms)
            .execute(&mut *writer)
            .await?;
        Ok(version)
    }

    /// A re-rating job that ran: (request, report) as JSON text.
    pub async fn rerate_job(&self, job_id: &str) -> anyhow::Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT request, report FROM rerate_jobs WHERE job_id = $1")
            .bind(job_id.to_owned())
            .fetch_optional(&mut *self.writer_conn().await)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// A WABA's daily usage for the local days `[from, to)`.
    pub async fn daily_usage(&self, waba: &str, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<DailyRow>> {
        let rows = sqlx::query(
            "SELECT day, market, category, pricing_type, currency, volume, amount, unpriced FROM daily_usage \
             WHERE waba = $1 AND day >= $2 AND day < $3",
        )
        .bind(waba.to_owned())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let day: String = r.try_get(0)?;
                let amount: String = r.try_get(6)?;
                Ok(DailyRow {
                    day: day.parse()?,
                    market: r.try_get(1)?,
                    category: r.try_get(2)?,
                    pricing_type: r.try_get(3)?,
                    currency: r.try_get(4)?,
                    usage: Usage { volume: r.try_get(5)?, amount: amount.parse()?, unpriced: r.try_get(7)? },
                })
            })
            .collect()
    }

    /// Whether the summary is empty while the ledger is not (a ledger from
    /// before the summary existed).
    pub async fn daily_usage_missing(&self) -> anyhow::Result<bool> {
        let summary = sqlx::query("SELECT 1 FROM daily_usage LIMIT 1").fetch_optional(&self.pool).await?;
        let ledger = sqlx::query("SELECT 1 FROM ledger LIMIT 1").fetch_optional(&self.pool).await?;
        Ok(summary.is_none() && ledger.is_some())
    }

    /// Rebuilds the summary from the whole ledger, in one transaction.
    pub async fn rebuild_daily_usage(&self, tz: impl Fn(&str) -> Tz) -> anyhow::Result<usize> {
        let mut all: BTreeMap<UsageKey, Usage> = BTreeMap::new();
        let mut batch: Vec<EntryRow> = Vec::with_capacity(10_000);
        let fold = |batch: &mut Vec<EntryRow>, all: &mut BTreeMap<UsageKey, Usage>| {
            for (k, u) in usage_of(batch, &tz) {
                let t = all.entry(k).or_default();
                t.volume += u.volume;
                t.amount += u.amount;
                t.unpriced += u.unpriced;
            }
            batch.clear();
        };
        self.for_each_entry(None, i64::MIN / 2, i64::MAX / 2, |e| {
            batch.push(e);
            if batch.len() == 10_000 {
                fold(&mut batch, &mut all);
            }
        })
        .await?;
        fold(&mut batch, &mut all);
        let n = all.len();
        let mut writer = self.writer_conn().await;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        sqlx::query("DELETE FROM daily_usage").execute(&mut *tx).await?;
        self.upsert_usage(&mut tx, all).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Adds usage changes to the summary inside a commit's transaction.
    pub(super) async fn apply_usage(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        changes: BTreeMap<UsageKey, Usage>,
    ) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        // Read the rows being changed, by their keys.
        let mut current: BTreeMap<UsageKey, Usage> = BTreeMap::new();
        let keys: Vec<&UsageKey> = changes.keys().collect();
        for chunk in keys.chunks(CHUNK / 6) {
            let rows = self.multi_row_insert("VALUES ", 6, chunk.len());
            // A join on the keys: SQLite scans the table for a row-value `IN`.
            let sql = format!(
                "WITH k (waba, day, market, category, pricing_type, currency) AS ({rows}) \
                 SELECT d.waba, d.day, d.market, d.category, d.pricing_type, d.currency, d.volume, d.amount, d.unpriced \
                 FROM k JOIN daily_usage d ON d.waba = k.waba AND d.day = k.day AND d.market = k.market \
                 AND d.category = k.category AND d.pricing_type = k.pricing_type AND d.currency = k.currency"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for k in chunk {
                q = k.bind(q);
            }
            for r in q.fetch_all(&mut **tx).await? {
                let amount: String = r.try_get(7)?;
                let key = UsageKey {
                    waba: r.try_get(0)?,
                    day: r.try_get(1)?,
                    market: r.try_get(2)?,
                    category: r.try_get(3)?,
                    pricing_type: r.try_get(4)?,
                    currency: r.try_get(5)?,
                };
                current.insert(key, Usage { volume: r.try_get(6)?, amount: amount.parse()?, unpriced: r.try_get(8)? });
            }
        }
        self.upsert_usage(tx, merge_usage(changes, &current)).await
    }

    async fn upsert_usage(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        rows: BTreeMap<UsageKey, Usage>,
    ) -> anyhow::Result<()> {
        let rows: Vec<(UsageKey, Usage)> = rows.into_iter().collect();
        for chunk in rows.chunks(CHUNK / 9) {
            let mut sql = self.multi_row_insert(
                "INSERT INTO daily_usage (waba, day, market, category, pricing_type, currency, volume, amount, unpriced) VALUES ",
                9,
                chunk.len(),
            );
            sql.push_str(
                " ON CONFLICT (waba, day, market, category, pricing_type, currency) DO UPDATE SET \
                 volume = excluded.volume, amount = excluded.amount, unpriced = excluded.unpriced",
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (k, u) in chunk {
                q = k.bind(q).bind(u.volume).bind(u.amount.normalize().to_string()).bind(u.unpriced);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}
