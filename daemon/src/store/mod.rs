//! The durable store: SQLite (default) or PostgreSQL through sqlx's `Any`
//! driver, with one set of migrations and one text per query for both.
//!
//! Only the committer writes (see [`crate::ledger`]); HTTP handlers read.

mod checkpointer;
pub(crate) mod compact_result;
pub(crate) mod direct;
mod direct_read;
mod finance;
mod numbers;
mod rows;
mod staging;
mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::AnyConnection;
use sqlx::{AnyPool, AssertSqlSafe, ConnectOptions, Connection, Executor, Row};

pub use direct_read::KeyedRows;
pub use finance::{usage_of, StoredCard, Usage, UsageKey};
pub use numbers::{NumberFilter, NumberRow, NUMBERS_CHANNEL};
pub use rows::*;
pub use staging::{Move, StagingPair, Wabas};
pub use write::{Changes, ConflictRow, EventRow};

/// Which server is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Rows per multi-row statement or `IN (...)` list: far below both servers'
/// parameter limits (32,766 for SQLite, 65,535 for PostgreSQL).
pub const CHUNK: usize = 400;

/// A pool on the ledger database, migrated.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The committer's own connection, for its reads and writes. On
    /// PostgreSQL it holds the schema's writer lock. On a SQLite file the
    /// commits of rated groups go through `direct` instead, and this one
    /// keeps the reads and the finance writes (imports, rebuilds).
    writer: Arc<tokio::sync::Mutex<AnyConnection>>,
    /// The committer's rusqlite connection on a SQLite file (see [`direct`]).
    direct: Option<Arc<tokio::sync::Mutex<direct::DirectWriter>>>,
    /// The committer's rusqlite connection for its key lookups on a SQLite
    /// file (see [`direct_read`]).
    reader: Option<Arc<std::sync::Mutex<direct_read::DirectReader>>>,
}

/// How long the first connection may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens one connection and closes it again, or says why it cannot.
async fn first_connection(options: &AnyConnectOptions) -> anyhow::Result<()> {
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))??;
    connection.close().await?;
    Ok(())
}

/// The connection a read goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The committer's own: it waits for a commit in progress, and sees it.
    Writer,
    /// Another: it does not wait for a commit in progress, and sees only
    /// what is committed.
    Pool,
}

impl Store {
    /// Connects (creating a SQLite file if needed) and runs the migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_as(url, true).await
    }

    /// Like [`Store::open`], for a `--replica`: on PostgreSQL it takes no
    /// writer lock, so it must never write the ledger.
    pub async fn open_replica(url: &str) -> anyhow::Result<Self> {
        Self::open_as(url, false).await
    }

    async fn open_as(url: &str, writer: bool) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("--database-url must start with sqlite:// or postgres://, not `{url}`");
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .with_context(|| format!("parsing database url {}", redact(&url)))?
            .disable_statement_logging();
        // The pool retries a failing connection until its acquire timeout
        // and then says only that it timed out; one connection first names
        // the cause (refused, unknown host, bad password, no such file).
        first_connection(&options).await.with_context(|| format!("connecting to {}", redact(&url)))?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; FULL makes each
                        // commit durable before the daemon acknowledges it.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA cache_size = -16384",
                            // A multi-row insert keeps a statement journal;
                            // in memory it is no file write per commit.
                            "PRAGMA temp_store = MEMORY",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to {}", redact(&url)))?;
        MIGRATOR.run(&pool).await.context("running migrations")?;
        let writer_conn = match backend {
            Backend::Postgres if writer => writer_lock(&pool).await?,
            Backend::Postgres => pool.acquire().await?.detach(),
            Backend::Sqlite => pool.acquire().await?.detach(),
        };
        let (direct, reader) = match backend {
            Backend::Sqlite if writer => direct_connections(&url)?.unzip(),
            _ => (None, None),
        };
        let mut writer_conn = writer_conn;
        if direct.is_some() {
            // Commits no longer go through it: a small page cache does,
            // and leaves the memory to the one they go through.
            writer_conn.execute("PRAGMA cache_size = -4096").await?;
        }
        let writer = Arc::new(tokio::sync::Mutex::new(writer_conn));
        let store = Self { pool, backend, writer, direct, reader };
        // Rows a previous run staged are indexed before anything reads.
        store.recover_staged().await.context("indexing the rows staged by the previous run")?;
        Ok(store)
    }

    /// Whether small groups are staged in the unindexed `*_recent` tables
    /// (SQLite), to be indexed in bulk later; on PostgreSQL every row goes
    /// straight into the indexed tables.
    pub fn stages_small_groups(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// Moves staged rows into the indexed tables, in one transaction.
    pub async fn move_staged(&self, moves: Vec<Move>) -> anyhow::Result<()> {
        if !self.stages_small_groups() || moves.is_empty() {
            return Ok(());
        }
        if let Some(direct) = &self.direct {
            return direct.lock().await.move_staged(&moves);
        }
        let mut writer = self.writer_conn().await;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        write::move_staged(&mut tx, &moves).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Indexes every row a previous run left staged, in one transaction.
    async fn recover_staged(&self) -> anyhow::Result<()> {
        if !self.stages_small_groups() {
            return Ok(());
        }
        let mut writer = self.writer_conn().await;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        write::recover_staged(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection commits go through on a SQLite file: holding it holds
    /// them.
    #[cfg(test)]
    pub(crate) fn direct_writer(&self) -> Option<&tokio::sync::Mutex<direct::DirectWriter>> {
        self.direct.as_deref()
    }

    /// The committer's sqlx connection, once a direct commit under way is
    /// durable: what it reads includes every commit begun before.
    async fn writer_conn(&self) -> tokio::sync::MutexGuard<'_, AnyConnection> {
        if let Some(direct) = &self.direct {
            drop(direct.lock().await);
        }
        self.writer.lock().await
    }

    /// `count` bind parameters numbered from `first`: `$n` for PostgreSQL,
    /// anonymous `?` for SQLite, whose cost to bind a named parameter grows
    /// with the statement's parameter count (quadratic for big batches).
    /// A statement uses one form throughout.
    pub fn params(&self, first: usize, count: usize) -> String {
        match self.backend {
            Backend::Postgres => placeholders(first, count),
            Backend::Sqlite => vec!["?"; count].join(", "),
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut conn) => conn.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    /// The stored events of a WABA among `ids`.
    pub async fn events_by_id(&self, waba: &str, ids: &[&str]) -> anyhow::Result<Vec<StoredEvent>> {
        let ids = ids.iter().map(|id| (*id).to_owned()).collect();
        self.rows_in(STORED_EVENT_COLUMNS, STORED_EVENTS, "id", waba, ids, StoredEvent::from_row).await
    }

    /// Rows of one WABA whose `column` is among `values`, in chunks.
    async fn rows_in<T, V>(
        &self,
        columns: &str,
        table: &str,
        column: &str,
        waba: &str,
        values: Vec<V>,
        from_row: fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> anyhow::Result<Vec<T>>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        let mut out = Vec::new();
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let chunk: Vec<V> = values.by_ref().take(CHUNK).collect();
            let sql = format!(
                "SELECT {columns} FROM {table} WHERE waba = {} AND {column} IN ({})",
                self.params(1, 1),
                self.params(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(waba.to_owned());
            for v in chunk {
                q = q.bind(v);
            }
            for row in q.fetch_all(&mut *self.writer_conn().await).await? {
                out.push(from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// The stored events among (WABA, id) pairs, as (WABA, event).
    pub async fn events_by_key(&self, keys: &[(&str, &str)]) -> anyhow::Result<Vec<(String, StoredEvent)>> {
        self.events_by_key_via(keys, Via::Writer).await
    }

    /// The stored events and status rows among (WABA, id) pairs, read on
    /// the connection `via` names. On a SQLite file the committer reads
    /// them on its own connection, on the calling thread (the committer's),
    /// both tables as of one commit.
    pub async fn keyed_rows(&self, keys: &[(&str, &str)], via: Via) -> anyhow::Result<KeyedRows> {
        if let Some(reader) = &self.reader {
            if let (Via::Writer, Some(direct)) = (via, &self.direct) {
                // As on the committer's own connection: after the commit under way.
                drop(direct.lock().await);
            }
            let mut reader = reader.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            return Ok(reader.by_key(keys)?);
        }
        let events = self.events_by_key_via(keys, via).await?;
        let statuses = self.statuses_by_key(keys, via).await?;
        Ok((events, statuses))
    }

    /// [`Store::events_by_key`], read on the connection `via` names.
    pub async fn events_by_key_via(
        &self,
        keys: &[(&str, &str)],
        via: Via,
    ) -> anyhow::Result<Vec<(String, StoredEvent)>> {
        self.rows_by_key(STORED_EVENT_COLUMNS, STORED_EVENTS, keys, StoredEvent::from_row, via).await
    }

    /// The status rows among (WABA, id) pairs, as (WABA, row).
    pub async fn statuses_by_key(&self, keys: &[(&str, &str)], via: Via) -> anyhow::Result<Vec<(String, StatusRow)>> {
        self.rows_by_key(STATUS_COLUMNS, "statuses", keys, StatusRow::from_row, via).await
    }

    /// Rows of a table keyed by (waba, id), for the given keys, in chunks.
    async fn rows_by_key<T>(
        &self,
        columns: &str,
        table: &str,
        keys: &[(&str, &str)],
        from_row: fn(&AnyRow) -> Result<T, sqlx::Error>,
        via: Via,
    ) -> anyhow::Result<Vec<(String, T)>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(CHUNK / 2) {
            // A join on the exact keys: one index probe each.
            let sql = format!(
                "WITH k (k_waba, k_id) AS ({}) SELECT waba, {columns} FROM k JOIN {table} ON waba = k_waba AND id = k_id",
                self.multi_row_insert("VALUES ", 2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (waba, id) in chunk {
                q = q.bind((*waba).to_owned()).bind((*id).to_owned());
            }
            let rows = match via {
                Via::Writer => q.fetch_all(&mut *self.writer_conn().await).await?,
                Via::Pool => q.fetch_all(&self.pool).await?,
            };
            for row in rows {
                let waba: String = row.try_get("waba")?;
                out.push((waba, from_row(&row)?));
            }
        }
        Ok(out)
    }

    /// The stored events of a WABA at or after `from_ms`, in (timestamp, id) order.
    pub async fn events_since(&self, waba: &str, from_ms: i64) -> anyhow::Result<Vec<StoredEvent>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {STORED_EVENT_COLUMNS} FROM {STORED_EVENTS} WHERE waba = $1 AND at_ms >= $2"
        )))
        .bind(waba.to_owned())
        .bind(from_ms)
        .fetch_all(&mut *self.writer_conn().await)
        .await?;
        let mut out = rows.iter().map(StoredEvent::from_row).collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        Ok(out)
    }

    /// The status rows of a WABA among `ids`.
    pub async fn statuses_by_id(&self, waba: &str, ids: &[&str]) -> anyhow::Result<Vec<StatusRow>> {
        let ids = ids.iter().map(|id| (*id).to_owned()).collect();
        self.rows_in(STATUS_COLUMNS, "statuses", "id", waba, ids, StatusRow::from_row).await
    }

    /// Ledger entries of a WABA by sequence number.
    pub async fn entries_by_seq(&self, waba: &str, seqs: &[i64]) -> anyhow::Result<Vec<EntryRow>> {
        self.rows_in(ENTRY_COLUMNS, "ledger", "seq", waba, seqs.to_vec(), EntryRow::from_row).await
    }

    /// Where a WABA's ledger stands: the next sequence number and the latest
    /// stored event as (timestamp, id).
    pub async fn waba_cursor(&self, waba: &str) -> anyhow::Result<(i64, Option<(i64, String)>)> {
        let next: Option<i64> = sqlx::query("SELECT MAX(seq) FROM ledger WHERE waba = $1")
            .bind(waba.to_owned())
            .fetch_one(&mut *self.writer_conn().await)
            .await?
            .try_get(0)?;
        let latest: Option<i64> = sqlx::query("SELECT MAX(at_ms) FROM events WHERE waba = $1")
            .bind(waba.to_owned())
            .fetch_one(&mut *self.writer_conn().await)
            .await?
            .try_get(0)?;
        let high_water = match latest {
            Some(at) => {
                let ids = sqlx::query("SELECT id FROM events WHERE waba = $1 AND at_ms = $2")
                    .bind(waba.to_owned())
                    .bind(at)
                    .fetch_all(&mut *self.writer_conn().await)
                    .await?;
                let mut max: Option<String> = None;
                for row in &ids {
                    let id: String = row.try_get(0)?;
                    if max.as_ref().is_none_or(|m| id > *m) {
                        max = Some(id);
                    }
                }
                max.map(|id| (at, id))
            }
            None => None,
        };
        Ok((next.map_or(1, |n| n + 1), high_water))
    }

    /// Ledger entries in (WABA, seq) order after `after`, for paging.
    pub async fn ledger_page(&self, filter: &LedgerFilter, limit: i64) -> anyhow::Result<Vec<EntryRow>> {
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM ledger WHERE at_ms >= $1 AND at_ms < $2");
        let mut n = 3;
        if filter.waba.is_some() {
            sql.push_str(&format!(" AND waba = ${n}"));
            n += 1;
        }
        if filter.after.is_some() {
            sql.push_str(&format!(" AND (waba > ${n} OR (waba = ${n} AND seq > ${}))", n + 1));
            n += 2;
        }
        let line = [("market", &filter.market), ("category", &filter.category), ("pricing_type", &filter.pricing_type)];
        for (column, value) in line {
            if value.is_some() {
                sql.push_str(&format!(" AND {column} = ${n}"));
                n += 1;
            }
        }
        sql.push_str(&format!(" ORDER BY waba, seq LIMIT ${n}"));
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(filter.from_ms).bind(filter.to_ms);
        if let Some(w) = &filter.waba {
            q = q.bind(w.clone());
        }
        if let Some((w, seq)) = &filter.after {
            q = q.bind(w.clone()).bind(*seq);
        }
        for value in line.iter().filter_map(|(_, v)| v.as_ref()) {
            q = q.bind(value.clone());
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(EntryRow::from_row).collect::<Result<Vec<_>, _>>()?)
    }

    /// Streams every entry in the window through `f`, so an aggregate over
    /// millions of entries holds only its groups in memory.
    pub async fn for_each_entry(
        &self,
        waba: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        mut f: impl FnMut(EntryRow),
    ) -> anyhow::Result<()> {
        use futures_util::TryStreamExt;
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM ledger WHERE at_ms >= $1 AND at_ms < $2");
        if waba.is_some() {
            sql.push_str(" AND waba = $3");
        }
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms);
        if let Some(w) = waba {
            q = q.bind(w.to_owned());
        }
        let mut rows = q.fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            f(EntryRow::from_row(&row)?);
        }
        Ok(())
    }

    /// Live entries (each message's current charge) joined with Meta's pricing,
    /// for messages in the window that have a status with pricing.
    pub async fn priced_live_entries(
        &self,
        waba: Option<&str>,
        from_ms: i64,
        to_ms: i64,
    ) -> anyhow::Result<Vec<(EntryRow, String)>> {
        let cols = ENTRY_COLUMNS.split(", ").map(|c| format!("l.{c}")).collect::<Vec<_>>().join(", ");
        let base = format!(
            "SELECT {cols}, s.pricing FROM events e \
             JOIN ledger l ON l.waba = e.waba AND l.seq = e.entry_seq \
             JOIN statuses s ON s.waba = e.waba AND s.id = e.id \
             WHERE s.pricing IS NOT NULL AND e.at_ms >= $1 AND e.at_ms < $2"
        );
        let rows = match waba {
            Some(w) => {
                sqlx::query(AssertSqlSafe(format!("{base} AND e.waba = $3 ORDER BY l.waba, l.seq")))
                    .bind(from_ms)
                    .bind(to_ms)
                    .bind(w.to_owned())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("{base} ORDER BY l.waba, l.seq")))
                    .bind(from_ms)
                    .bind(to_ms)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                let pricing: String = r.try_get("pricing")?;
                Ok((EntryRow::from_row(r)?, pricing))
            })
            .collect()
    }

    /// The plugins of each plugin set.
    pub async fn plugin_sets(&self) -> anyhow::Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT plugin_set, plugins FROM plugin_sets").fetch_all(&self.pool).await?;
        rows.iter().map(|r: &AnyRow| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Recorded conflicts, newest first: (waba, id, received_ms, stored, offered).
    pub async fn conflicts(&self, waba: Option<&str>, limit: i64) -> anyhow::Result<Vec<ConflictRecord>> {
        let rows = match waba {
            Some(w) => {
                sqlx::query(
                    "SELECT waba, id, received_ms, stored_body, offered_body FROM conflicts WHERE waba = $1 \
                     ORDER BY received_ms DESC LIMIT $2",
                )
                .bind(w.to_owned())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT waba, id, received_ms, stored_body, offered_body FROM conflicts ORDER BY received_ms DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(ConflictRecord {
                    waba: r.try_get(0)?,
                    id: r.try_get(1)?,
                    received_ms: r.try_get(2)?,
                    stored: r.try_get(3)?,
                    offered: r.try_get(4)?,
                })
            })
            .collect()
    }
}

/// A recorded conflict.
#[derive(Debug, Clone)]
pub struct ConflictRecord {
    pub waba: String,
    pub id: String,
    pub received_ms: i64,
    pub stored: String,
    pub offered: String,
}

/// The committer's own rusqlite connection on a SQLite ledger file; none
/// for an in-memory database, which another connection could not open.
/// The committer's rusqlite connections (commits, key lookups) on a SQLite
/// file; none for an in-memory database, which they could not share.
type DirectConnections =
    (Arc<tokio::sync::Mutex<direct::DirectWriter>>, Arc<std::sync::Mutex<direct_read::DirectReader>>);

fn direct_connections(url: &str) -> anyhow::Result<Option<DirectConnections>> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let path = options.get_filename();
    let writer =
        direct::DirectWriter::open(path).with_context(|| format!("opening {} for the committer", path.display()))?;
    let reader = direct_read::DirectReader::open(path)
        .with_context(|| format!("opening {} for the committer's reads", path.display()))?;
    Ok(Some((Arc::new(tokio::sync::Mutex::new(writer)), Arc::new(std::sync::Mutex::new(reader)))))
}

/// Takes the schema's writer lock (a session-level advisory lock) on a
/// connection of its own: the committer assumes it is the only writer.
async fn writer_lock(pool: &AnyPool) -> anyhow::Result<AnyConnection> {
    let mut conn = pool.acquire().await?.detach();
    let row = sqlx::query(
        "SELECT pg_try_advisory_lock(hashtext('coexist-ledger:' || current_schema())), current_schema()::text",
    )
    .fetch_one(&mut conn)
    .await?;
    let locked: bool = row.try_get(0)?;
    let schema: String = row.try_get(1)?;
    anyhow::ensure!(
        locked,
        "another coexist daemon is writing to this ledger (schema `{schema}`); run one daemon per ledger database or schema"
    );
    Ok(conn)
}

/// What `GET /v1/ledger` selects.
#[derive(Debug, Clone)]
pub struct LedgerFilter {
    pub waba: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Entries strictly after this (WABA, seq).
    pub after: Option<(String, i64)>,
    /// Only entries of this market, category and pricing type (an invoice line).
    pub market: Option<String>,
    pub category: Option<String>,
    pub pricing_type: Option<String>,
}

/// `$first, $first+1, ...` for `count` parameters.
pub fn placeholders(first: usize, count: usize) -> String {
    let mut s = String::with_capacity(count * 5);
    for i in 0..count {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('$');
        s.push_str(&(first + i).to_string());
    }
    s
}

/// A database URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_redaction() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://coexist.db"), "sqlite://coexist.db");
    }
}
