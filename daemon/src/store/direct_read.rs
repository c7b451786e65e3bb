//! The committer's key lookups on a SQLite file, without a driver thread.
//!
//! Before it rates a group, the committer reads what the ledger holds about
//! every (WABA, id) in it: the stored events and the status rows. Through
//! sqlx each read is a round trip to the connection's worker thread, and a
//! statement text per key count. Here the committer reads on the calling
//! thread, on a connection of its own, through two statements prepared once,
//! in one read transaction: both tables as of one commit.
//!
//! Like the pool's connections, it sees only what is committed: it never
//! waits for a commit under way (the caller lays that commit's rows over
//! what it reads, or waits for it first).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row};

use super::compact_result::{full_result, ChargeColumns};
use super::{StatusRow, StoredEvent, STATUS_COLUMNS, STORED_EVENTS, STORED_EVENT_COLUMNS};

/// The committer's own SQLite connection for reads.
pub(crate) struct DirectReader {
    conn: Connection,
}

/// What the ledger holds about a set of keys, as (WABA, row).
pub type KeyedRows = (Vec<(String, StoredEvent)>, Vec<(String, StatusRow)>);

impl DirectReader {
    /// Opens the (migrated) ledger file for reads only.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.pragma_update(None, "cache_size", -8192)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Self { conn })
    }

    /// The stored events and status rows among (WABA, id) pairs.
    pub fn by_key(&mut self, keys: &[(&str, &str)]) -> rusqlite::Result<KeyedRows> {
        let tx = self.conn.transaction()?;
        let events = rows_by_key(&tx, STORED_EVENT_COLUMNS, STORED_EVENTS, keys, event)?;
        // A WABA whose webhooks are not forwarded has no status rows: one
        // probe tells, instead of one per message.
        let mut with_statuses = Vec::with_capacity(keys.len());
        let mut any = tx.prepare_cached("SELECT 1 FROM statuses WHERE waba = ?1 LIMIT 1")?;
        for run in keys.chunk_by(|a, b| a.0 == b.0) {
            if any.exists([run[0].0])? {
                with_statuses.extend_from_slice(run);
            }
        }
        drop(any);
        let statuses = rows_by_key(&tx, STATUS_COLUMNS, "statuses", &with_statuses, status)?;
        tx.commit()?;
        Ok((events, statuses))
    }
}

/// One primary-key probe per key.
fn rows_by_key<T>(
    conn: &Connection,
    columns: &str,
    table: &str,
    keys: &[(&str, &str)],
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<(String, T)>> {
    let mut select = conn.prepare_cached(&format!("SELECT {columns} FROM {table} WHERE waba = ?1 AND id = ?2"))?;
    let mut out = Vec::new();
    for &(waba, id) in keys {
        if let Some(row) = select.query_row([waba, id], from_row).optional()? {
            out.push((waba.to_owned(), row));
        }
    }
    Ok(out)
}

fn event(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let id: String = r.get("id")?;
    let charge = ChargeColumns {
        billable: r.get("c_billable")?,
        category: r.get("c_category")?,
        pricing_type: r.get("c_pricing_type")?,
        market: r.get("c_market")?,
        country: r.get("c_country")?,
        currency: r.get("c_currency")?,
        amount: r.get("c_amount")?,
        regime: r.get("c_regime")?,
        rate_card: r.get("c_rate_card")?,
        tier: r.get("c_tier")?,
        plugins: r.get("c_plugins")?,
    };
    let result = full_result(&id, r.get("result")?, &charge)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into()))?;
    Ok(StoredEvent {
        at_ms: r.get("at_ms")?,
        source: r.get("source")?,
        body: r.get("body")?,
        result,
        entry_seq: r.get("entry_seq")?,
        id,
    })
}

fn status(r: &Row<'_>) -> rusqlite::Result<StatusRow> {
    Ok(StatusRow {
        id: r.get("id")?,
        business_number: r.get("business_number")?,
        recipient: r.get("recipient")?,
        recipient_id: r.get("recipient_id")?,
        status: r.get("status")?,
        status_at_ms: r.get("status_at_ms")?,
        first_at_ms: r.get("first_at_ms")?,
        pricing: r.get("pricing")?,
        pricing_rank: r.get("pricing_rank")?,
    })
}
