//! The decisions a plugin returns, in the contract's columns, and the builder
//! that amends the decisions so far row by row.

use crate::{Action, BilledCategory, PricingType};

/// A violation of a rule by one message (the contract's `violation`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The message (row) it belongs to.
    pub message: u32,
    /// Stable, snake_case and namespaced, e.g. `coexistence.edit_disabled`.
    pub code: String,
    pub feature: String,
    /// A sentence that says why.
    pub text: String,
    pub action: Action,
}

/// A note on one message (the contract's `note`); a message has at most one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The message (row) it belongs to.
    pub message: u32,
    pub text: String,
}

/// Decisions in columns (the contract's `decisions`): one element per message
/// in `billable`, `category` and `pricing_type`; violations and notes sparse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decisions {
    /// 1 when the message is billable, else 0.
    pub billable: Vec<u8>,
    /// A [`BilledCategory`] code.
    pub category: Vec<u8>,
    /// A [`PricingType`] code.
    pub pricing_type: Vec<u8>,
    pub violations: Vec<Violation>,
    pub notes: Vec<Note>,
}

impl Decisions {
    /// `n` blank decisions: not billable, no category, not billable pricing.
    pub fn blank(n: usize) -> Self {
        let mut decisions = Decisions::default();
        decisions.resize(n);
        decisions
    }

    /// Gives the three columns exactly `n` elements: extra ones are dropped,
    /// missing ones start blank.
    fn resize(&mut self, n: usize) {
        self.billable.resize(n, 0);
        self.category.resize(n, BilledCategory::None.code());
        self.pricing_type.resize(n, PricingType::NotBillable.code());
    }

    /// The number of messages, by the `billable` column.
    pub fn len(&self) -> usize {
        self.billable.len()
    }

    pub fn is_empty(&self) -> bool {
        self.billable.is_empty()
    }

    /// Whether message `i` is billable (false when there is no such message).
    pub fn is_billable(&self, i: usize) -> bool {
        self.billable.get(i).is_some_and(|&b| b != 0)
    }

    /// The billed category of message `i`; `None` for an unknown code or no such message.
    pub fn category_of(&self, i: usize) -> Option<BilledCategory> {
        self.category.get(i).and_then(|&c| BilledCategory::from_code(c))
    }

    /// The pricing type of message `i`; `None` for an unknown code or no such message.
    pub fn pricing_type_of(&self, i: usize) -> Option<PricingType> {
        self.pricing_type.get(i).and_then(|&p| PricingType::from_code(p))
    }

    /// The violations of message `i`, in order.
    pub fn violations_of(&self, i: usize) -> impl Iterator<Item = &Violation> {
        let row = row_id(i);
        self.violations.iter().filter(move |v| v.message == row)
    }

    /// The note of message `i` (the last one, should there be several).
    pub fn note_of(&self, i: usize) -> Option<&str> {
        let row = row_id(i);
        self.notes.iter().rev().find(|n| n.message == row).map(|n| n.text.as_str())
    }
}

/// A row index as the contract's `u32`; a row past `u32::MAX` (which a 32-bit
/// guest cannot hold anyway) saturates rather than wraps.
fn row_id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// `note_of` value for a row without a note.
const NO_NOTE: u32 = u32::MAX;
/// `message` of a note that was cleared or replaced; dropped by `finish`.
const DROPPED: u32 = u32::MAX;

/// Amends the decisions so far, one message at a time, without per-row allocation.
///
/// It starts from `so_far` resized to the batch: a decision past the batch is
/// dropped with its violations and notes, and a missing one starts blank.
/// Violations so far are kept; a plugin's violations are appended after them.
/// A note replaces the note its message had. Writes to a row past the batch
/// are ignored.
#[derive(Debug)]
pub struct DecisionsBuilder {
    decisions: Decisions,
    /// Row → index of its note in `decisions.notes` (or `NO_NOTE`), built on the
    /// first note written or cleared where notes exist; empty until then.
    note_of: Vec<u32>,
    /// Some note was marked `DROPPED`.
    dropped: bool,
}

impl DecisionsBuilder {
    /// Starts from `so_far` for a batch of `n` messages.
    pub fn new(mut so_far: Decisions, n: usize) -> Self {
        so_far.resize(n);
        let rows = row_id(n);
        so_far.violations.retain(|v| v.message < rows);
        so_far.notes.retain(|note| note.message < rows);
        DecisionsBuilder { decisions: so_far, note_of: Vec::new(), dropped: false }
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// The decisions so far, as amended until now.
    pub fn decisions(&self) -> &Decisions {
        &self.decisions
    }

    /// Sets the three columns of message `i`.
    pub fn set(&mut self, i: usize, billable: bool, category: BilledCategory, pricing_type: PricingType) {
        if let Some(c) = self.decisions.category.get_mut(i) {
            *c = category.code();
        }
        self.set_billing(i, billable, pricing_type);
    }

    /// Sets `billable` and `pricing_type` of message `i`, keeping its category.
    pub fn set_billing(&mut self, i: usize, billable: bool, pricing_type: PricingType) {
        if let Some(b) = self.decisions.billable.get_mut(i) {
            *b = u8::from(billable);
        }
        if let Some(p) = self.decisions.pricing_type.get_mut(i) {
            *p = pricing_type.code();
        }
    }

    /// Appends a violation to message `i`.
    pub fn violation(&mut self, i: usize, code: &str, feature: &str, text: &str, action: Action) {
        if i < self.len() {
            self.decisions.violations.push(Violation {
                message: row_id(i),
                code: code.to_owned(),
                feature: feature.to_owned(),
                text: text.to_owned(),
                action,
            });
        }
    }

    /// Gives message `i` the note `text`, replacing the one it had.
    pub fn note(&mut self, i: usize, text: &str) {
        if i >= self.len() {
            return;
        }
        self.index_notes();
        let slot = self.note_of[i];
        if let Some(note) = self.decisions.notes.get_mut(slot as usize).filter(|_| slot != NO_NOTE) {
            note.text.clear();
            note.text.push_str(text);
        } else {
            self.note_of[i] = row_id(self.decisions.notes.len());
            self.decisions.notes.push(Note { message: row_id(i), text: text.to_owned() });
        }
    }

    /// Removes the note of message `i`, if it has one.
    pub fn clear_note(&mut self, i: usize) {
        // The common case, a first plugin or one that writes no notes: nothing to look up.
        if i >= self.len() || self.decisions.notes.is_empty() {
            return;
        }
        self.index_notes();
        let slot = std::mem::replace(&mut self.note_of[i], NO_NOTE);
        if let Some(note) = self.decisions.notes.get_mut(slot as usize).filter(|_| slot != NO_NOTE) {
            note.message = DROPPED;
            self.dropped = true;
        }
    }

    /// Builds `note_of` once. Of several notes so far for one message, the last wins.
    fn index_notes(&mut self) {
        if !self.note_of.is_empty() {
            return;
        }
        self.note_of = vec![NO_NOTE; self.len()];
        let mut duplicates = false;
        for (k, note) in self.decisions.notes.iter().enumerate() {
            if let Some(slot) = self.note_of.get_mut(note.message as usize) {
                duplicates |= *slot != NO_NOTE;
                *slot = row_id(k);
            }
        }
        if duplicates {
            let note_of = &self.note_of;
            for (k, note) in self.decisions.notes.iter_mut().enumerate() {
                if note_of.get(note.message as usize).is_some_and(|&slot| slot != row_id(k)) {
                    note.message = DROPPED;
                }
            }
            self.dropped = true;
        }
    }

    /// The decisions, one per message.
    pub fn finish(mut self) -> Decisions {
        if self.dropped {
            self.decisions.notes.retain(|note| note.message != DROPPED);
        }
        self.decisions
    }
}
