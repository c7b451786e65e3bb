//! The committer's one transaction per group of requests.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

use std::collections::BTreeMap;
use std::sync::Arc;

use super::finance::{Usage, UsageKey};
use super::staging::{Move, StagingPair};
use super::{EntryRow, RowText, StatusRow, Store, CHUNK, ENTRY_COLUMNS};

/// The columns of `events` and `events_recent`, in insert order.
pub(super) const EVENT_COLUMNS: &str = "waba, id, at_ms, source, body, result, entry_seq, received_ms";

/// The statements a commit runs the same way on every backend (`$n`
/// parameters: SQLite takes them too, by position).
pub(super) const INSERT_PLUGIN_SET: &str =
    "INSERT INTO plugin_sets (plugin_set, plugins) VALUES ($1, $2) ON CONFLICT (plugin_set) DO NOTHING";
pub(super) const UPDATE_EVENT: &str =
    "UPDATE events SET at_ms = $3, source = $4, body = $5, result = $6, entry_seq = $7 WHERE waba = $1 AND id = $2";
pub(super) const UPSERT_STATUS: &str =
    "INSERT INTO statuses (waba, id, business_number, recipient, recipient_id, status, status_at_ms, first_at_ms, \
     pricing, pricing_rank, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (waba, id) DO UPDATE SET business_number = $3, recipient = $4, recipient_id = $5, status = $6, \
     status_at_ms = $7, first_at_ms = $8, pricing = $9, pricing_rank = $10, updated_ms = $11";
pub(super) const INSERT_CONFLICT: &str =
    "INSERT INTO conflicts (waba, id, received_ms, stored_body, offered_body) VALUES ($1, $2, $3, $4, $5)";
pub(super) const INSERT_RERATE_JOB: &str =
    "INSERT INTO rerate_jobs (job_id, request, report, created_ms) VALUES ($1, $2, $3, $4)";

/// An event row to insert, or to update: a stored message whose live entry
/// (and, for a replaced stand-in, content) moved.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub waba: String,
    pub id: String,
    pub at_ms: i64,
    pub source: RowText,
    pub body: String,
    /// Shared with the answer that carries it.
    pub result: Arc<str>,
    /// What `events.result` holds instead of `result`: the part that the
    /// message's charge does not (a new message only; see `compact_result`).
    pub compact: Option<RowText>,
    pub entry_seq: i64,
}

impl EventRow {
    /// The text stored in `events.result`.
    pub fn stored_result(&self) -> &str {
        self.compact.as_deref().unwrap_or(&self.result)
    }
}

/// A recorded conflict.
#[derive(Debug, Clone)]
pub struct ConflictRow {
    pub waba: String,
    pub id: String,
    pub stored_body: String,
    pub offered_body: String,
}

/// Everything one group writes, atomically.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub new_events: Vec<EventRow>,
    pub updated_events: Vec<EventRow>,
    pub entries: Vec<EntryRow>,
    pub statuses: Vec<(String, StatusRow)>,
    pub conflicts: Vec<ConflictRow>,
    pub plugin_sets: Vec<(String, String)>,
    /// What the entries add to the daily usage summary.
    pub usage: BTreeMap<UsageKey, Usage>,
    /// A re-rating job that ran: (job id, request JSON, report JSON).
    pub rerate_job: Option<(String, String, String)>,
    /// Append the new events and entries to this pair of unindexed staging
    /// tables (see [`Store::stages_small_groups`]) instead of the indexed ones.
    pub staged: Option<StagingPair>,
    /// Staged rows to move into the indexed tables first, in the same
    /// transaction (before updating events, which may still be staged).
    pub moves: Vec<Move>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.new_events.is_empty()
            && self.updated_events.is_empty()
            && self.entries.is_empty()
            && self.statuses.is_empty()
            && self.conflicts.is_empty()
            && self.plugin_sets.is_empty()
            && self.rerate_job.is_none()
            && self.moves.is_empty()
    }

    /// Appends a later group's rows, to write both in one transaction. The
    /// later group's usage adds to this one's; neither may be staged yet.
    pub fn absorb(&mut self, later: Changes) {
        debug_assert!(self.staged.is_none() && later.staged.is_none());
        debug_assert!(self.rerate_job.is_none() || later.rerate_job.is_none());
        self.new_events.extend(later.new_events);
        self.updated_events.extend(later.updated_events);
        self.entries.extend(later.entries);
        self.statuses.extend(later.statuses);
        self.conflicts.extend(later.conflicts);
        for set in later.plugin_sets {
            if !self.plugin_sets.contains(&set) {
                self.plugin_sets.push(set);
            }
        }
        for (key, u) in later.usage {
            let sum = self.usage.entry(key).or_default();
            sum.volume += u.volume;
            sum.amount += u.amount;
            sum.unpriced += u.unpriced;
        }
        self.rerate_job = self.rerate_job.take().or(later.rerate_job);
        self.moves.extend(later.moves);
    }
}

impl Store {
    /// Writes a group in one transaction; returns once it is durable.
    ///
    /// It reads the rows in place. The committer shares them with the
    /// commit thread while the commit is under way (`Arc<Changes>`), for its
    /// next group's repeat checks, and frees them on its own thread, which
    /// allocated them: freed here, each string is a cross-thread free, which
    /// the allocator settles later, at more cost.
    pub async fn commit(&self, changes: &Changes, now_ms: i64) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        if let Some(direct) = &self.direct {
            // On the caller's thread, to the end of the transaction: the
            // committer's threads call this, never the HTTP runtime's.
            return direct.lock().await.commit(changes, now_ms);
        }
        // Through the pool, each row is bound by value: a copy, which is
        // little beside a round trip per statement.
        self.commit_pooled(changes.clone(), now_ms).await
    }

    /// A commit through the pool (PostgreSQL).
    async fn commit_pooled(&self, changes: Changes, now_ms: i64) -> anyhow::Result<()> {
        let mut writer = self.writer_conn().await;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        let Changes {
            new_events,
            updated_events,
            entries,
            statuses,
            conflicts,
            plugin_sets,
            usage,
            rerate_job,
            staged,
            moves,
        } = changes;
        let staged = staged.filter(|_| self.stages_small_groups());
        if self.stages_small_groups() {
            move_staged(&mut tx, &moves).await?;
        }
        let (events_table, ledger_table) = staged.map_or(("events", "ledger"), StagingPair::tables);
        for (key, plugins) in plugin_sets {
            sqlx::query(INSERT_PLUGIN_SET).bind(key).bind(plugins).execute(&mut *tx).await?;
        }
        let mut new_events = new_events.into_iter().peekable();
        while new_events.peek().is_some() {
            let chunk: Vec<EventRow> = new_events.by_ref().take(CHUNK).collect();
            let sql =
                self.multi_row_insert(&format!("INSERT INTO {events_table} ({EVENT_COLUMNS}) VALUES "), 8, chunk.len());
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                let result = e.stored_result().to_owned();
                q = q
                    .bind(e.waba)
                    .bind(e.id)
                    .bind(e.at_ms)
                    .bind(e.source.into_owned())
                    .bind(e.body)
                    .bind(result)
                    .bind(e.entry_seq)
                    .bind(now_ms);
            }
            q.execute(&mut *tx).await?;
        }
        for u in updated_events {
            let result = u.stored_result().to_owned();
            sqlx::query(UPDATE_EVENT)
                .bind(u.waba)
                .bind(u.id)
                .bind(u.at_ms)
                .bind(u.source.into_owned())
                .bind(u.body)
                .bind(result)
                .bind(u.entry_seq)
                .execute(&mut *tx)
                .await?;
        }
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let chunk: Vec<EntryRow> = entries.by_ref().take(CHUNK).collect();
            let sql = self.multi_row_insert(
                &format!("INSERT INTO {ledger_table} ({ENTRY_COLUMNS}) VALUES "),
                21,
                chunk.len(),
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                q = bind_entry(q, e);
            }
            q.execute(&mut *tx).await?;
        }
        for (waba, s) in statuses {
            sqlx::query(UPSERT_STATUS)
                .bind(waba)
                .bind(s.id)
                .bind(s.business_number)
                .bind(s.recipient)
                .bind(s.recipient_id)
                .bind(s.status)
                .bind(s.status_at_ms)
                .bind(s.first_at_ms)
                .bind(s.pricing)
                .bind(s.pricing_rank)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        for c in conflicts {
            sqlx::query(INSERT_CONFLICT)
                .bind(c.waba)
                .bind(c.id)
                .bind(now_ms)
                .bind(c.stored_body)
                .bind(c.offered_body)
                .execute(&mut *tx)
                .await?;
        }
        self.apply_usage(&mut tx, usage).await?;
        if let Some((job_id, request, report)) = rerate_job {
            sqlx::query(INSERT_RERATE_JOB)
                .bind(job_id)
                .bind(request)
                .bind(report)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Moves staged rows into the indexed tables (see [`Move`]).
pub(super) async fn move_staged(tx: &mut sqlx::Transaction<'_, Any>, moves: &[Move]) -> sqlx::Result<()> {
    for m in moves {
        let sql = m.sql();
        for insert in sql.inserts {
            sqlx::query(AssertSqlSafe(insert)).bind(sql.wabas.clone()).execute(&mut **tx).await?;
        }
        for delete in sql.empties.into_iter().flatten() {
            sqlx::query(AssertSqlSafe(delete)).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Indexes every row a previous run left staged (see
/// [`super::staging::recovery_statements`]).
pub(super) async fn recover_staged(tx: &mut sqlx::Transaction<'_, Any>) -> sqlx::Result<()> {
    for sql in super::staging::recovery_statements() {
        sqlx::query(AssertSqlSafe(sql)).execute(&mut **tx).await?;
    }
    Ok(())
}

fn bind_entry(q: Query<'static, Any, AnyArguments>, e: EntryRow) -> Query<'static, Any, AnyArguments> {
    q.bind(e.waba)
        .bind(e.seq)
        .bind(e.id)
        .bind(e.kind.into_owned())
        .bind(e.reverses)
        .bind(e.cause.into_owned())
        .bind(e.at_ms)
        .bind(e.recorded_ms)
        .bind(e.business_number)
        .bind(e.billable)
        .bind(e.category.into_owned())
        .bind(e.pricing_type.into_owned())
        .bind(e.market.into_owned())
        .bind(e.country.into_owned())
        .bind(e.currency)
        .bind(e.amount)
        .bind(e.regime.into_owned())
        .bind(e.rate_card.map(RowText::into_owned))
        .bind(e.tier.map(RowText::into_owned))
        .bind(e.plugin_set.to_string())
        .bind(e.meta_pricing)
}

impl Store {
    /// `head` followed by `rows` groups of `columns` bind parameters.
    pub(super) fn multi_row_insert(&self, head: &str, columns: usize, rows: usize) -> String {
        let mut sql = String::with_capacity(head.len() + rows * columns * 6);
        sql.push_str(head);
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&self.params(1 + r * columns, columns));
            sql.push(')');
        }
        sql
    }
}
