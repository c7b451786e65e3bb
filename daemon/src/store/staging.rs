//! The staging tables on SQLite, and the statements that move their rows
//! into the indexed tables.
//!
//! Small groups append their new events and entries to one of two pairs of
//! unindexed tables (`events_recent`/`ledger_recent`, and the `_b` pair).
//! Once the pair they fill holds enough rows, the committer turns to the
//! other pair and moves the full one into the indexed tables a few WABAs per
//! commit: each WABA's rows go in as one run per index, and no commit
//! carries the whole move. A pair is emptied by the move that takes its
//! last WABAs.

use super::write::EVENT_COLUMNS;
use super::ENTRY_COLUMNS;

/// One of the two pairs of staging tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StagingPair {
    #[default]
    A,
    B,
}

impl StagingPair {
    pub const BOTH: [StagingPair; 2] = [StagingPair::A, StagingPair::B];

    /// Its (events, ledger) tables.
    pub fn tables(self) -> (&'static str, &'static str) {
        match self {
            StagingPair::A => ("events_recent", "ledger_recent"),
            StagingPair::B => ("events_recent_b", "ledger_recent_b"),
        }
    }

    pub fn other(self) -> Self {
        match self {
            StagingPair::A => StagingPair::B,
            StagingPair::B => StagingPair::A,
        }
    }

    /// 0 or 1, to index per-pair state.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which WABAs' rows a move takes from a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wabas {
    /// These WABAs' rows; the pair keeps its other rows.
    Only(Vec<String>),
    /// Every row but these WABAs' (moved by earlier moves); the pair is
    /// emptied afterwards.
    AllBut(Vec<String>),
}

/// Rows to move from a pair of staging tables into the indexed tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub pair: StagingPair,
    pub wabas: Wabas,
}

impl Move {
    /// Every row of `pair` that earlier moves did not take.
    pub fn rest(pair: StagingPair, moved: Vec<String>) -> Self {
        Self { pair, wabas: Wabas::AllBut(moved) }
    }
}

/// The statements of a move: two inserts that bind the JSON array of WABA
/// names `wabas` as `$1`, then, for a move that empties its pair, two
/// deletes without a `WHERE` (SQLite truncates those tables page by page
/// instead of deleting row by row). Rows go in grouped by WABA, so each
/// index takes them as runs.
pub(super) struct MoveSql {
    pub inserts: [String; 2],
    pub empties: Option<[String; 2]>,
    pub wabas: String,
}

impl Move {
    pub(super) fn sql(&self) -> MoveSql {
        let (events, ledger) = self.pair.tables();
        let (op, wabas) = match &self.wabas {
            Wabas::Only(w) => ("IN", w),
            Wabas::AllBut(w) => ("NOT IN", w),
        };
        let filter = format!("WHERE waba {op} (SELECT value FROM json_each($1))");
        MoveSql {
            inserts: [
                format!(
                    "INSERT INTO events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM {events} {filter} ORDER BY waba, id"
                ),
                format!(
                    "INSERT INTO ledger ({ENTRY_COLUMNS}) SELECT {ENTRY_COLUMNS} FROM {ledger} {filter} ORDER BY waba, seq"
                ),
            ],
            empties: matches!(self.wabas, Wabas::AllBut(_))
                .then(|| [format!("DELETE FROM {events}"), format!("DELETE FROM {ledger}")]),
            wabas: serde_json::to_string(wabas).unwrap_or_else(|_| "[]".to_owned()),
        }
    }
}

/// What indexes the rows a previous run left staged, when the store is
/// opened: every row of both pairs. A pair that run was moving holds rows it
/// had already moved (the indexed copy is the same row, or newer where an
/// event was updated since), so those are skipped, not inserted twice.
pub(super) fn recovery_statements() -> Vec<String> {
    StagingPair::BOTH
        .into_iter()
        .flat_map(|pair| {
            let (events, ledger) = pair.tables();
            [
                format!("INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM {events} ORDER BY waba, id"),
                format!("DELETE FROM {events}"),
                format!(
                    "INSERT OR IGNORE INTO ledger ({ENTRY_COLUMNS}) SELECT {ENTRY_COLUMNS} FROM {ledger} ORDER BY waba, seq"
                ),
                format!("DELETE FROM {ledger}"),
            ]
        })
        .collect()
}
