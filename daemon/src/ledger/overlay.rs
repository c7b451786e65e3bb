//! What the committer holds of rows the indexed tables may not show yet:
//! a commit's while it is in flight (see [`super::inflight`]), and the
//! staged ones (see [`super::staging`]), found by (WABA, id) for the next
//! groups' repeat checks.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use hashbrown::hash_table::{Entry, HashTable};

use crate::store::{Changes, EventRow, StatusRow, StoredEvent};

/// Rows the indexed tables may not show yet, by (WABA, id): those of a
/// commit in flight, or those staged in the unindexed tables.
///
/// It holds the groups' own rows (shared with the commit thread while a
/// commit is under way) and, by key, where in them each row is: a row is
/// copied only when a later group asks for its key. The index keeps no key
/// of its own: it finds each by the one its row holds.
#[derive(Default)]
pub(super) struct Overlay {
    /// The groups whose rows it holds.
    groups: Vec<Arc<Changes>>,
    /// Each key's newest event: (group, index in its new then updated events).
    events: HashTable<At>,
    /// Each key's newest status row: (group, index in its statuses).
    statuses: HashTable<At>,
    hasher: RandomState,
}

/// Where a row is: (group, index).
type At = (usize, usize);

/// The (WABA, id) of the row at an [`At`].
type KeyOf = for<'a> fn(&'a [Arc<Changes>], At) -> (&'a str, &'a str);

fn event_at(groups: &[Arc<Changes>], (g, i): At) -> &EventRow {
    let changes = &groups[g];
    let new = changes.new_events.len();
    if i < new {
        &changes.new_events[i]
    } else {
        &changes.updated_events[i - new]
    }
}

fn event_key(groups: &[Arc<Changes>], at: At) -> (&str, &str) {
    let e = event_at(groups, at);
    (&e.waba, &e.id)
}

fn status_key(groups: &[Arc<Changes>], (g, i): At) -> (&str, &str) {
    let (waba, s) = &groups[g].statuses[i];
    (waba, &s.id)
}

/// Points the row's key at `at`, in place of an older row under it.
fn index(table: &mut HashTable<At>, hasher: &RandomState, groups: &[Arc<Changes>], key_of: KeyOf, at: At) {
    let key = key_of(groups, at);
    let hash = |&other: &At| hasher.hash_one(key_of(groups, other));
    match table.entry(hasher.hash_one(key), |&other| key_of(groups, other) == key, hash) {
        Entry::Occupied(mut older) => *older.get_mut() = at,
        Entry::Vacant(slot) => {
            slot.insert(at);
        }
    }
}

/// Where `key`'s row is; `hash` is the overlay's hash of `key`.
fn find(table: &HashTable<At>, groups: &[Arc<Changes>], key_of: KeyOf, key: (&str, &str), hash: u64) -> Option<At> {
    table.find(hash, |&at| key_of(groups, at) == key).copied()
}

impl Overlay {
    pub(super) fn of(changes: &Arc<Changes>) -> Self {
        let mut overlay = Self { groups: vec![Arc::clone(changes)], ..Self::default() };
        overlay.index_group(0);
        overlay
    }

    /// Indexes group `g`'s rows, over those of earlier groups.
    fn index_group(&mut self, g: usize) {
        let Self { groups, events, statuses, hasher } = self;
        let changes = &groups[g];
        for i in 0..changes.new_events.len() + changes.updated_events.len() {
            index(events, hasher, groups, event_key, (g, i));
        }
        for i in 0..changes.statuses.len() {
            index(statuses, hasher, groups, status_key, (g, i));
        }
    }

    /// What of a staged commit's rows went to the staging tables: its new
    /// events, not the events it `updated` nor its statuses (those went to
    /// the indexed tables).
    pub(super) fn into_staged(mut self, updated: &[(String, String)]) -> Self {
        self.statuses.clear();
        for (waba, id) in updated {
            let key = (waba.as_str(), id.as_str());
            let groups = &self.groups;
            if let Ok(row) = self.events.find_entry(self.hasher.hash_one(key), |&at| event_key(groups, at) == key) {
                row.remove();
            }
        }
        self
    }

    /// How many events it holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether it holds an event under `key`.
    pub fn has_event(&self, waba: &str, id: &str) -> bool {
        let key = (waba, id);
        find(&self.events, &self.groups, event_key, key, self.hasher.hash_one(key)).is_some()
    }

    /// Takes in `newer`'s rows, which replace its own under the same key.
    pub fn absorb(&mut self, newer: Overlay) {
        let base = self.groups.len();
        self.groups.extend(newer.groups);
        let Self { groups, events, statuses, hasher } = self;
        for &(g, i) in &newer.events {
            index(events, hasher, groups, event_key, (base + g, i));
        }
        for &(g, i) in &newer.statuses {
            index(statuses, hasher, groups, status_key, (base + g, i));
        }
    }

    /// Puts what it holds for `keys` over what the store returned.
    pub fn lay_over(
        &self,
        keys: &[(&str, &str)],
        stored: &mut HashMap<(String, String), StoredEvent>,
        statuses: &mut HashMap<(String, String), StatusRow>,
    ) {
        if self.events.is_empty() && self.statuses.is_empty() {
            return;
        }
        for &key in keys {
            // One hash for both tables: the same hasher.
            let hash = self.hasher.hash_one(key);
            if let Some(at) = find(&self.events, &self.groups, event_key, key, hash) {
                let e = event_at(&self.groups, at);
                let event = StoredEvent {
                    id: e.id.clone(),
                    at_ms: e.at_ms,
                    source: e.source.to_string(),
                    body: e.body.clone(),
                    result: e.result.to_string(),
                    entry_seq: e.entry_seq,
                };
                stored.insert((key.0.to_owned(), key.1.to_owned()), event);
            }
            if let Some((g, i)) = find(&self.statuses, &self.groups, status_key, key, hash) {
                statuses.insert((key.0.to_owned(), key.1.to_owned()), self.groups[g].statuses[i].1.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(waba: &str, id: &str, result: &str) -> EventRow {
        EventRow {
            waba: waba.into(),
            id: id.into(),
            at_ms: 1,
            source: "api".into(),
            body: "{}".into(),
            result: result.into(),
            compact: None,
            entry_seq: 1,
        }
    }

    fn status(id: &str, status: &str) -> StatusRow {
        StatusRow {
            id: id.into(),
            business_number: "+1".into(),
            recipient: "+2".into(),
            recipient_id: None,
            status: status.into(),
            status_at_ms: 1,
            first_at_ms: 1,
            pricing: None,
            pricing_rank: -1,
        }
    }

    /// What the overlay lays over an empty read, as (WABA, id, result).
    fn laid(overlay: &Overlay, keys: &[(&str, &str)]) -> Vec<(String, String, String)> {
        let (mut stored, mut statuses) = (HashMap::new(), HashMap::new());
        overlay.lay_over(keys, &mut stored, &mut statuses);
        let mut out: Vec<_> = stored.into_iter().map(|((w, i), e)| (w, i, e.result)).collect();
        out.extend(statuses.into_iter().map(|((w, i), s)| (w, i, s.status)));
        out.sort();
        out
    }

    fn strings(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        rows.iter().map(|&(w, i, r)| (w.into(), i.into(), r.into())).collect()
    }

    #[test]
    fn the_newest_row_under_a_key_wins_and_nothing_else_is_laid() {
        let first = Changes {
            new_events: vec![row("W1", "m1", "r1"), row("W2", "m1", "r2")],
            updated_events: vec![row("W1", "m1", "r1 updated")],
            statuses: vec![("W1".into(), status("m9", "sent"))],
            ..Changes::default()
        };
        let mut overlay = Overlay::of(&Arc::new(first));
        assert_eq!(overlay.len(), 2, "one event per key");
        assert!(overlay.has_event("W1", "m1") && overlay.has_event("W2", "m1"));
        assert!(!overlay.has_event("W1", "m2") && !overlay.has_event("W3", "m1"));
        let keys = [("W1", "m1"), ("W2", "m1"), ("W1", "m9"), ("W1", "m2")];
        assert_eq!(
            laid(&overlay, &keys),
            strings(&[("W1", "m1", "r1 updated"), ("W1", "m9", "sent"), ("W2", "m1", "r2")])
        );

        let newer = Changes {
            new_events: vec![row("W2", "m1", "r2 newer"), row("W1", "m2", "r3")],
            statuses: vec![("W1".into(), status("m9", "delivered"))],
            ..Changes::default()
        };
        overlay.absorb(Overlay::of(&Arc::new(newer)));
        assert_eq!(overlay.len(), 3);
        assert_eq!(
            laid(&overlay, &keys),
            strings(&[
                ("W1", "m1", "r1 updated"),
                ("W1", "m2", "r3"),
                ("W1", "m9", "delivered"),
                ("W2", "m1", "r2 newer")
            ])
        );
    }

    #[test]
    fn a_staged_overlay_keeps_only_the_new_events() {
        let changes = Changes {
            new_events: vec![row("W1", "m1", "new"), row("W1", "m2", "new")],
            updated_events: vec![row("W1", "m3", "updated")],
            statuses: vec![("W1".into(), status("m1", "sent"))],
            ..Changes::default()
        };
        let staged = Overlay::of(&Arc::new(changes)).into_staged(&[("W1".into(), "m3".into())]);
        assert_eq!(staged.len(), 2);
        assert!(!staged.has_event("W1", "m3"), "an updated event went to the indexed table");
        let keys = [("W1", "m1"), ("W1", "m2"), ("W1", "m3")];
        assert_eq!(laid(&staged, &keys), strings(&[("W1", "m1", "new"), ("W1", "m2", "new")]), "no status");
    }
}
