//! What the committer stages, and which staged rows each commit moves into
//! the indexed tables (SQLite; see `store::staging`).
//!
//! Small groups append to the pair of staging tables being filled. Once it
//! holds [`PAIR_ROWS`] rows, groups turn to the other (empty) pair, and the
//! full one moves into the indexed tables a few WABAs per commit, in the
//! commits of the groups that follow: at least [`MOVE_ROWS`] rows each, and
//! at least twice what the group stages, so the move ends well before the
//! other pair fills. A commit that updates stored events (which may be
//! staged), and any reader that needs more than the keys kept here, move
//! everything first.
//!
//! The state changes only once a commit has landed ([`Staging::landed`]):
//! a commit that fails leaves its rows where they were, and the next group
//! plans the same move again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::overlay::Overlay;
use crate::store::{Changes, Move, StagingPair, StatusRow, StoredEvent, Wabas};

/// A pair starts moving once it holds this many rows (events and entries:
/// about 512 single events). Each move dirties about one page per index per
/// WABA, so the more rows per WABA the fewer pages per row; 512 events was
/// the best trade when a pair moved in one commit (BENCHMARKS.md).
const PAIR_ROWS: usize = 1024;

/// Rows a commit moves from the moving pair, at least (whole WABAs): with
/// [`PAIR_ROWS`], a pair moves in about eight commits.
const MOVE_ROWS: usize = 128;

/// A group with at least this many new events per WABA on average is
/// written straight into the indexed tables: it fills their pages in runs.
const STAGE_BELOW_PER_WABA: usize = 16;

/// The staged rows, and the move under way.
#[derive(Default)]
pub(super) struct Staging {
    /// The pair small groups append to; the other one is empty or moving.
    filling: StagingPair,
    /// What each pair holds, by [`StagingPair::index`].
    pairs: [Staged; 2],
    /// While the other pair moves: its WABAs moved so far.
    moved: Option<BTreeSet<String>>,
}

#[derive(Default)]
struct Staged {
    /// Its events by key, for the repeat checks.
    overlay: Overlay,
    /// How many rows (events and entries) it holds, by WABA.
    rows: BTreeMap<String, usize>,
}

impl Staged {
    fn total(&self) -> usize {
        self.rows.values().sum()
    }
}

/// What a commit does to the staging tables, for [`Staging::landed`].
#[derive(Debug, Default)]
pub(super) struct StagingPlan {
    /// Every staged row moves first.
    all: bool,
    /// WABAs of the moving pair that move, and whether that ends its move.
    slice: Option<(Vec<String>, bool)>,
    /// Where the group's own rows go.
    into: Option<Appended>,
}

/// The rows a group appends to a staging pair.
#[derive(Debug)]
struct Appended {
    pair: StagingPair,
    /// Its rows (events and entries) by WABA.
    rows: BTreeMap<String, usize>,
    /// The events it updates instead (those are in the indexed tables).
    updated: Vec<(String, String)>,
}

impl Staging {
    /// How many events are staged.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pairs.iter().map(|p| p.overlay.len()).sum()
    }

    pub fn has_event(&self, waba: &str, id: &str) -> bool {
        self.pairs.iter().any(|p| p.overlay.has_event(waba, id))
    }

    /// Puts the staged events for `keys` over what the store returned.
    pub fn lay_over(
        &self,
        keys: &[(&str, &str)],
        stored: &mut HashMap<(String, String), StoredEvent>,
        statuses: &mut HashMap<(String, String), StatusRow>,
    ) {
        for pair in &self.pairs {
            pair.overlay.lay_over(keys, stored, statuses);
        }
    }

    /// Decides where a group's new rows go (`changes.staged`) and what
    /// staged rows its commit moves first (`changes.moves`).
    pub fn plan(&mut self, changes: &mut Changes, wabas: usize) -> StagingPlan {
        let new = changes.new_events.len();
        let stage = new > 0 && new < STAGE_BELOW_PER_WABA * wabas.max(1);
        let own_rows = if stage { new + changes.entries.len() } else { 0 };
        let mut plan = StagingPlan::default();
        if !changes.updated_events.is_empty() && self.holds_rows() {
            changes.moves = self.moves_for_all();
            plan.all = true;
        } else {
            let filling = &self.pairs[self.filling.index()];
            if stage && self.moved.is_none() && filling.total() >= PAIR_ROWS {
                self.filling = self.filling.other();
                self.moved = Some(BTreeSet::new());
            }
            if let Some((m, slice)) = self.next_slice(MOVE_ROWS.max(2 * own_rows)) {
                changes.moves.push(m);
                plan.slice = Some(slice);
            }
        }
        if stage {
            changes.staged = Some(self.filling);
            let mut rows = BTreeMap::new();
            for waba in changes.new_events.iter().map(|e| &e.waba).chain(changes.entries.iter().map(|e| &e.waba)) {
                *rows.entry(waba.clone()).or_insert(0) += 1;
            }
            let updated = changes.updated_events.iter().map(|e| (e.waba.clone(), e.id.clone())).collect();
            plan.into = Some(Appended { pair: self.filling, rows, updated });
        }
        plan
    }

    /// The next WABAs of the moving pair to move, about `rows` rows of them.
    fn next_slice(&self, rows: usize) -> Option<(Move, (Vec<String>, bool))> {
        let moved = self.moved.as_ref()?;
        let pair = self.filling.other();
        let mut left = self.pairs[pair.index()].rows.iter().filter(|(waba, _)| !moved.contains(*waba));
        let (mut take, mut taken) = (Vec::new(), 0);
        for (waba, n) in left.by_ref() {
            take.push(waba.clone());
            taken += n;
            if taken >= rows {
                break;
            }
        }
        if left.next().is_some() {
            Some((Move { pair, wabas: Wabas::Only(take.clone()) }, (take, false)))
        } else {
            // The last WABAs: what is left moves, and the pair is emptied.
            Some((Move::rest(pair, moved.iter().cloned().collect()), (take, true)))
        }
    }

    /// Whether any pair holds rows.
    fn holds_rows(&self) -> bool {
        self.pairs.iter().any(|p| !p.rows.is_empty())
    }

    /// Moves that take every staged row into the indexed tables.
    pub fn moves_for_all(&self) -> Vec<Move> {
        StagingPair::BOTH
            .into_iter()
            .filter(|pair| !self.pairs[pair.index()].rows.is_empty())
            .map(|pair| {
                let moved = self.moved.as_ref().filter(|_| pair != self.filling);
                Move::rest(pair, moved.map(|m| m.iter().cloned().collect()).unwrap_or_default())
            })
            .collect()
    }

    /// Records what a landed commit did; `overlay` is its rows.
    pub fn landed(&mut self, plan: StagingPlan, overlay: Overlay) {
        if plan.all {
            self.clear();
        }
        if let Some((wabas, last)) = plan.slice {
            if last {
                self.pairs[self.filling.other().index()] = Staged::default();
                self.moved = None;
            } else if let Some(moved) = &mut self.moved {
                moved.extend(wabas);
            }
        }
        if let Some(Appended { pair, rows, updated }) = plan.into {
            let staged = &mut self.pairs[pair.index()];
            staged.overlay.absorb(overlay.into_staged(&updated));
            for (waba, n) in rows {
                *staged.rows.entry(waba).or_insert(0) += n;
            }
        }
    }

    /// Records that every staged row was moved.
    pub fn clear(&mut self) {
        self.pairs = Default::default();
        self.moved = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EventRow;

    /// A group of one new event for each of `wabas` (no entries: the plan
    /// counts rows the same way for both).
    fn group(wabas: &[&str], n: usize) -> Changes {
        let new_events = wabas
            .iter()
            .map(|waba| EventRow {
                waba: (*waba).to_owned(),
                id: format!("{waba}-{n}"),
                at_ms: n as i64,
                source: "api".into(),
                body: "{}".into(),
                result: "{}".into(),
                compact: None,
                entry_seq: n as i64,
            })
            .collect();
        Changes { new_events, ..Changes::default() }
    }

    /// Plans `changes` and records it as landed.
    fn commit(staging: &mut Staging, mut changes: Changes, wabas: usize) -> Changes {
        let plan = staging.plan(&mut changes, wabas);
        let overlay = Overlay::of(&std::sync::Arc::new(changes.clone()));
        staging.landed(plan, overlay);
        changes
    }

    const WABAS: [&str; 4] = ["W1", "W2", "W3", "W4"];

    /// Fills pair A: it holds [`PAIR_ROWS`] rows.
    fn filled() -> Staging {
        let mut staging = Staging::default();
        for n in 0..PAIR_ROWS / WABAS.len() {
            let changes = commit(&mut staging, group(&WABAS, n), WABAS.len());
            assert_eq!(changes.staged, Some(StagingPair::A), "group {n}");
            assert!(changes.moves.is_empty(), "nothing moves before the pair is full");
        }
        assert_eq!(staging.len(), PAIR_ROWS);
        staging
    }

    #[test]
    fn a_full_pair_moves_a_slice_of_whole_wabas_per_commit_while_the_other_fills() {
        let mut staging = filled();
        // W1..W4 hold 256 rows each: each commit moves one WABA (>= 128
        // rows), the last one what is left, and empties the pair.
        let mut moved = Vec::new();
        for (n, waba) in WABAS.iter().enumerate() {
            let changes = commit(&mut staging, group(&WABAS, 1000 + n), WABAS.len());
            assert_eq!(changes.staged, Some(StagingPair::B), "new rows go to the other pair");
            let wabas =
                if n + 1 < WABAS.len() { Wabas::Only(vec![(*waba).to_owned()]) } else { Wabas::AllBut(moved.clone()) };
            assert_eq!(changes.moves, vec![Move { pair: StagingPair::A, wabas }], "commit {n}");
            moved.push((*waba).to_owned());
        }
        assert!(staging.pairs[StagingPair::A.index()].rows.is_empty(), "pair A is empty");
        assert_eq!(staging.len(), WABAS.len() * WABAS.len(), "pair B holds the four groups since");
        let changes = commit(&mut staging, group(&WABAS, 2000), WABAS.len());
        assert!(changes.moves.is_empty(), "nothing moves until pair B is full");
        assert_eq!(changes.staged, Some(StagingPair::B));
    }

    #[test]
    fn a_commit_that_does_not_land_leaves_its_move_to_the_next() {
        let mut staging = filled();
        let mut changes = group(&WABAS, 1000);
        let failed = staging.plan(&mut changes, WABAS.len());
        assert!(failed.slice.is_some());
        let first = changes.moves.clone();
        // Not landed: the next group plans the same move.
        let again = commit(&mut staging, group(&WABAS, 1001), WABAS.len());
        assert_eq!(again.moves, first);
        assert_eq!(again.staged, Some(StagingPair::B));
    }

    #[test]
    fn updating_stored_events_moves_everything_not_yet_moved_first() {
        let mut staging = filled();
        commit(&mut staging, group(&WABAS, 1000), WABAS.len()); // W1 moves
        let mut update = group(&["W2"], 1001);
        update.updated_events = group(&["W2"], 5).new_events;
        let changes = commit(&mut staging, update, 1);
        assert_eq!(
            changes.moves,
            vec![Move::rest(StagingPair::A, vec!["W1".into()]), Move::rest(StagingPair::B, vec![])],
            "pair A without what it moved, and all of pair B"
        );
        assert_eq!(staging.len(), 1, "only the group's own new event is staged after");
        assert!(staging.moved.is_none());
    }

    #[test]
    fn groups_with_many_events_per_waba_go_straight_to_the_indexed_tables() {
        let mut staging = Staging::default();
        let wabas = vec!["W1"; STAGE_BELOW_PER_WABA];
        let changes = commit(&mut staging, group(&wabas, 0), 1);
        assert_eq!(changes.staged, None);
        assert_eq!(staging.len(), 0);
    }
}
