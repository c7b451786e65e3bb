//! SQLite commits on the committer's side, without a driver thread.
//!
//! sqlx runs each SQLite connection on a worker thread of its own: every
//! statement of a commit is a round trip to it, and a group's commit is
//! half a dozen statements or more (begin, the rows, the usage summary read
//! and written, commit), each waiting for two thread wake-ups. A commit
//! here runs on the calling thread from `BEGIN` to the durable `COMMIT`,
//! through statements prepared once per connection (rusqlite's cache).
//!
//! It writes exactly what [`Store::commit`](super::Store::commit) writes on
//! PostgreSQL, with the same SQL text where the statement is the same (its
//! `$n` parameters made `?n`).

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::checkpointer::{Checkpointer, WRITER_CHECKPOINT_PAGES};
use super::finance::{merge_usage, Usage, UsageKey};
use super::staging::{Move, StagingPair};
use super::write::{
    Changes, EVENT_COLUMNS, INSERT_CONFLICT, INSERT_PLUGIN_SET, INSERT_RERATE_JOB, UPDATE_EVENT, UPSERT_STATUS,
};
use super::{EntryRow, ENTRY_COLUMNS};

/// The committer's own SQLite connection.
pub(crate) struct DirectWriter {
    conn: Connection,
    /// Checkpoints the WAL beside the commits.
    _checkpoints: Checkpointer,
}

/// Statements a commit prepares once and reuses: a dozen distinct ones.
const STATEMENT_CACHE: usize = 32;

impl DirectWriter {
    /// Opens the (migrated) ledger file with the pool's settings.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        // The pool's settings (see `Store::open`), with half its page cache:
        // 8 MiB took the same commits as 16 (BENCHMARKS.md), and kept the
        // daemon under its memory target.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -8192)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn, _checkpoints: Checkpointer::start(path)? })
    }

    /// Writes a group in one transaction; returns once it is durable. It
    /// reads the rows in place (see `Store::commit`).
    pub fn commit(&mut self, changes: &Changes, now_ms: i64) -> anyhow::Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
        move_staged(&tx, moves)?;
        let (events_table, ledger_table) = (*staged).map_or(("events", "ledger"), StagingPair::tables);
        for (key, plugins) in plugin_sets {
            tx.prepare_cached(&numbered(INSERT_PLUGIN_SET))?.execute(params![key, plugins])?;
        }
        if !new_events.is_empty() {
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO {events_table} ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?;
            for e in new_events {
                insert.execute(params![
                    e.waba,
                    e.id,
                    e.at_ms,
                    e.source,
                    e.body,
                    e.stored_result(),
                    e.entry_seq,
                    now_ms
                ])?;
            }
        }
        if !updated_events.is_empty() {
            let mut update = tx.prepare_cached(&numbered(UPDATE_EVENT))?;
            for u in updated_events {
                update.execute(params![u.waba, u.id, u.at_ms, u.source, u.body, u.stored_result(), u.entry_seq])?;
            }
        }
        if !entries.is_empty() {
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO {ledger_table} ({ENTRY_COLUMNS}) VALUES ({})",
                (1..=21).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
            ))?;
            for e in entries {
                insert_entry(&mut insert, e)?;
            }
        }
        if !statuses.is_empty() {
            let mut upsert = tx.prepare_cached(&numbered(UPSERT_STATUS))?;
            for (waba, s) in statuses {
                upsert.execute(params![
                    waba,
                    s.id,
                    s.business_number,
                    s.recipient,
                    s.recipient_id,
                    s.status,
                    s.status_at_ms,
                    s.first_at_ms,
                    s.pricing,
                    s.pricing_rank,
                    now_ms
                ])?;
            }
        }
        if !conflicts.is_empty() {
            let mut insert = tx.prepare_cached(&numbered(INSERT_CONFLICT))?;
            for c in conflicts {
                insert.execute(params![c.waba, c.id, now_ms, c.stored_body, c.offered_body])?;
            }
        }
        apply_usage(&tx, usage.clone())?;
        if let Some((job_id, request, report)) = rerate_job {
            tx.prepare_cached(&numbered(INSERT_RERATE_JOB))?.execute(params![job_id, request, report, now_ms])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Moves staged rows into the indexed tables, in one transaction.
    pub fn move_staged(&mut self, moves: &[Move]) -> anyhow::Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        move_staged(&tx, moves)?;
        tx.commit()?;
        Ok(())
    }
}

/// A statement written with PostgreSQL's `$n` parameters, for SQLite.
/// SQLite reads `$3` as a parameter *named* `$3`, numbered by where it first
/// appears (`SET at_ms = $3 ... WHERE id = $1` would bind `$3` first); `?3`
/// is the third parameter wherever it appears.
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

fn move_staged(tx: &Transaction<'_>, moves: &[Move]) -> rusqlite::Result<()> {
    for m in moves {
        let sql = m.sql();
        for insert in &sql.inserts {
            tx.prepare_cached(&numbered(insert))?.execute([&sql.wabas])?;
        }
        for delete in sql.empties.iter().flatten() {
            tx.prepare_cached(delete)?.execute([])?;
        }
    }
    Ok(())
}

fn insert_entry(insert: &mut rusqlite::CachedStatement<'_>, e: &EntryRow) -> rusqlite::Result<usize> {
    insert.execute(params![
        e.waba,
        e.seq,
        e.id,
        e.kind,
        e.reverses,
        e.cause,
        e.at_ms,
        e.recorded_ms,
        e.business_number,
        e.billable,
        e.category,
        e.pricing_type,
        e.market,
        e.country,
        e.currency,
        e.amount,
        e.regime,
        e.rate_card,
        e.tier,
        e.plugin_set,
        e.meta_pricing
    ])
}

/// Adds usage changes to the daily summary: each changed row is read by
/// its primary key and written back with the sums.
fn apply_usage(tx: &Transaction<'_>, changes: BTreeMap<UsageKey, Usage>) -> anyhow::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut current: BTreeMap<UsageKey, Usage> = BTreeMap::new();
    {
        let mut read = tx.prepare_cached(
            "SELECT volume, amount, unpriced FROM daily_usage WHERE waba = ?1 AND day = ?2 AND market = ?3 \
             AND category = ?4 AND pricing_type = ?5 AND currency = ?6",
        )?;
        for k in changes.keys() {
            let row = read
                .query_row(params![k.waba, k.day, k.market, k.category, k.pricing_type, k.currency], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
                })
                .optional()?;
            if let Some((volume, amount, unpriced)) = row {
                current.insert(k.clone(), Usage { volume, amount: amount.parse()?, unpriced });
            }
        }
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO daily_usage (waba, day, market, category, pricing_type, currency, volume, amount, unpriced) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT (waba, day, market, category, pricing_type, currency) DO UPDATE SET \
         volume = excluded.volume, amount = excluded.amount, unpriced = excluded.unpriced",
    )?;
    for (k, u) in merge_usage(changes, &current) {
        upsert.execute(params![
            k.waba,
            k.day,
            k.market,
            k.category,
            k.pricing_type,
            k.currency,
            u.volume,
            u.amount.normalize().to_string(),
            u.unpriced
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use crate::store::{
        Changes, ConflictRow, EntryRow, EventRow, Move, StagingPair, StatusRow, Store, Usage, UsageKey, Via, Wabas,
    };

    fn event(id: &str, result: &str, entry_seq: i64) -> EventRow {
        EventRow {
            waba: "W1".into(),
            id: id.into(),
            at_ms: 1_000,
            source: "api".into(),
            body: format!("{{\"id\":\"{id}\"}}"),
            result: result.into(),
            compact: None,
            entry_seq,
        }
    }

    fn entry(seq: i64, id: &str, amount: Option<&str>) -> EntryRow {
        EntryRow {
            waba: "W1".into(),
            seq,
            id: id.into(),
            kind: "charge".into(),
            reverses: None,
            cause: "rated".into(),
            at_ms: 1_000 + seq,
            recorded_ms: 5,
            business_number: "+6221555000".into(),
            billable: i64::from(amount.is_some()),
            category: "marketing".into(),
            pricing_type: "regular".into(),
            market: "Indonesia".into(),
            country: "ID".into(),
            currency: "USD".into(),
            amount: amount.map(str::to_owned),
            regime: "per_message".into(),
            rate_card: Some("card".into()),
            tier: None,
            plugin_set: "set".into(),
            meta_pricing: None,
        }
    }

    fn usage(volume: i64, amount: &str) -> BTreeMap<UsageKey, Usage> {
        let key = UsageKey {
            waba: "W1".into(),
            day: "2026-03-01".into(),
            market: "Indonesia".into(),
            category: "marketing".into(),
            pricing_type: "regular".into(),
            currency: "USD".into(),
        };
        BTreeMap::from([(key, Usage { volume, amount: amount.parse().expect("decimal"), unpriced: 0 })])
    }

    /// Every kind of row a commit writes lands through the direct
    /// connection, and the pool's connections read it back: staged rows
    /// once indexed, usage added to what the summary held.
    #[test]
    fn a_direct_commit_writes_what_the_readers_find() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("tokio");
        let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
        let store = runtime.block_on(Store::open(&url)).expect("store");
        assert!(store.direct.is_some(), "a SQLite file commits through rusqlite");
        assert!(store.reader.is_some(), "and the committer reads through rusqlite");

        let staged = Changes {
            new_events: vec![event("m1", "{\"r\":1}", 1)],
            entries: vec![entry(1, "m1", Some("0.0411"))],
            usage: usage(1, "0.0411"),
            plugin_sets: vec![("set".into(), "[]".into())],
            staged: Some(StagingPair::A),
            ..Changes::default()
        };
        runtime.block_on(store.commit(&staged, 10)).expect("staged commit");
        let status = StatusRow {
            id: "m1".into(),
            business_number: "+6221555000".into(),
            recipient: "+6281234567890".into(),
            recipient_id: None,
            status: "delivered".into(),
            status_at_ms: 2_000,
            first_at_ms: 1_500,
            pricing: Some("{}".into()),
            pricing_rank: 2,
        };
        let indexed = Changes {
            new_events: vec![event("m2", "{\"r\":2}", 2)],
            updated_events: vec![event("m1", "{\"r\":3}", 3)],
            entries: vec![entry(2, "m2", Some("0.0589")), entry(3, "m1", None)],
            statuses: vec![("W1".into(), status.clone())],
            conflicts: vec![ConflictRow {
                waba: "W1".into(),
                id: "m2".into(),
                stored_body: "{}".into(),
                offered_body: "{\"x\":1}".into(),
            }],
            usage: usage(2, "0.0589"),
            rerate_job: Some(("job-1".into(), "{\"req\":1}".into(), "{\"rep\":1}".into())),
            moves: vec![Move::rest(StagingPair::A, vec![])],
            ..Changes::default()
        };
        runtime.block_on(store.commit(&indexed, 20)).expect("indexed commit");

        let events = runtime.block_on(store.events_by_key_via(&[("W1", "m1"), ("W1", "m2")], Via::Pool)).expect("read");
        let by_id: BTreeMap<&str, (&str, i64)> =
            events.iter().map(|(_, e)| (e.id.as_str(), (e.result.as_str(), e.entry_seq))).collect();
        assert_eq!(by_id, BTreeMap::from([("m1", ("{\"r\":3}", 3)), ("m2", ("{\"r\":2}", 2))]));
        let entries = runtime.block_on(store.entries_by_seq("W1", &[1, 2, 3])).expect("entries");
        assert_eq!(entries.len(), 3, "the staged entry was indexed: {entries:?}");
        assert_eq!(entries.iter().find(|e| e.seq == 3).map(|e| e.amount.clone()), Some(None));
        let statuses = runtime.block_on(store.statuses_by_key(&[("W1", "m1")], Via::Pool)).expect("statuses");
        assert_eq!(statuses, vec![("W1".to_owned(), status)]);
        // The committer's own reads (rusqlite) see the same rows as sqlx's.
        let keys = [("W1", "m1"), ("W1", "m2"), ("W1", "absent"), ("W2", "m1")];
        for via in [Via::Writer, Via::Pool] {
            let (direct_events, direct_statuses) = runtime.block_on(store.keyed_rows(&keys, via)).expect("keyed");
            let mut through_sqlx = runtime.block_on(store.events_by_key_via(&keys, via)).expect("events");
            through_sqlx.sort_by(|a, b| a.1.id.cmp(&b.1.id));
            assert_eq!(direct_events, through_sqlx);
            assert_eq!(direct_statuses, statuses);
        }
        assert_eq!(runtime.block_on(store.conflicts(Some("W1"), 10)).expect("conflicts").len(), 1);
        assert_eq!(
            runtime.block_on(store.rerate_job("job-1")).expect("job"),
            Some(("{\"req\":1}".to_owned(), "{\"rep\":1}".to_owned()))
        );
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let rows = runtime.block_on(store.daily_usage("W1", day, day.succ_opt().expect("next"))).expect("usage");
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].usage.volume, rows[0].usage.amount), (3, "0.1000".parse::<Decimal>().expect("decimal")));
    }

    /// Rows left in the staging tables, read straight from the file.
    fn staged_rows(path: &std::path::Path) -> i64 {
        let conn = rusqlite::Connection::open(path).expect("open");
        let tables = ["events_recent", "ledger_recent", "events_recent_b", "ledger_recent_b"];
        let sql = tables.map(|t| format!("(SELECT COUNT(*) FROM {t})")).join(" + ");
        conn.query_row(&format!("SELECT {sql}"), [], |row| row.get(0)).expect("count")
    }

    /// A pair moves a slice of WABAs at a time and keeps its rows until the
    /// move that empties it. A run that stops part way leaves rows both
    /// staged and indexed: opening the store again indexes the rest and
    /// keeps the indexed copies, which may be newer.
    #[test]
    fn a_pair_moves_in_slices_and_a_reopen_finishes_a_move_cut_short() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("tokio");
        let path = dir.path().join("ledger.db");
        let url = format!("sqlite://{}", path.display());
        let store = runtime.block_on(Store::open(&url)).expect("store");
        let on = |waba: &str, mut e: EventRow| {
            e.waba = waba.into();
            e
        };
        let entry_on = |waba: &str, mut e: EntryRow| {
            e.waba = waba.into();
            e
        };
        let staged = Changes {
            new_events: vec![on("W1", event("a", "{\"r\":1}", 1)), on("W2", event("b", "{\"r\":1}", 1))],
            entries: vec![entry_on("W1", entry(1, "a", Some("0.01"))), entry_on("W2", entry(1, "b", Some("0.02")))],
            staged: Some(StagingPair::A),
            ..Changes::default()
        };
        runtime.block_on(store.commit(&staged, 10)).expect("staged commit");
        let slice = Changes {
            moves: vec![Move { pair: StagingPair::A, wabas: Wabas::Only(vec!["W1".into()]) }],
            ..Changes::default()
        };
        runtime.block_on(store.commit(&slice, 11)).expect("first slice");
        let keys = [("W1", "a"), ("W2", "b")];
        let indexed = runtime.block_on(store.events_by_key(&keys)).expect("read");
        assert_eq!(indexed.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(), ["W1"], "only W1 moved");
        assert_eq!(staged_rows(&path), 4, "the pair keeps every row until it is emptied");
        let update = Changes {
            updated_events: vec![on("W1", event("a", "{\"r\":2}", 2))],
            entries: vec![entry_on("W1", entry(2, "a", None))],
            ..Changes::default()
        };
        runtime.block_on(store.commit(&update, 12)).expect("update");
        drop(store);

        let store = runtime.block_on(Store::open(&url)).expect("reopen");
        assert_eq!(staged_rows(&path), 0, "the reopen emptied the staging tables");
        let events = runtime.block_on(store.events_by_key(&keys)).expect("read");
        let by_key: BTreeMap<(&str, &str), (&str, i64)> =
            events.iter().map(|(w, e)| ((w.as_str(), e.id.as_str()), (e.result.as_str(), e.entry_seq))).collect();
        assert_eq!(
            by_key,
            BTreeMap::from([(("W1", "a"), ("{\"r\":2}", 2)), (("W2", "b"), ("{\"r\":1}", 1))]),
            "W1 keeps its update, W2 is indexed"
        );
        assert_eq!(runtime.block_on(store.entries_by_seq("W1", &[1, 2])).expect("entries").len(), 2);
        assert_eq!(runtime.block_on(store.entries_by_seq("W2", &[1])).expect("entries").len(), 1);

        // The other pair, moved whole at run time.
        let staged = Changes {
            new_events: vec![on("W3", event("c", "{}", 1))],
            entries: vec![entry_on("W3", entry(1, "c", Some("0.03")))],
            staged: Some(StagingPair::B),
            ..Changes::default()
        };
        runtime.block_on(store.commit(&staged, 13)).expect("staged in B");
        assert_eq!(staged_rows(&path), 2);
        runtime.block_on(store.move_staged(vec![Move::rest(StagingPair::B, vec![])])).expect("move");
        assert_eq!(staged_rows(&path), 0);
        assert_eq!(runtime.block_on(store.events_by_key(&[("W3", "c")])).expect("read").len(), 1);
        assert_eq!(runtime.block_on(store.entries_by_seq("W3", &[1])).expect("entries").len(), 1);
    }
}
