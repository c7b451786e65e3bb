//! History-sync progress: chunks arrive in any order, in three phases
//! (day 0–1, 1–90, 90–180 before onboarding), until `progress` reaches 100 or
//! the business declines (error 2593109).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{LifecycleSettings, DAY_MS};

/// The phases Meta syncs, in order.
pub const PHASES: usize = 3;

/// One `history[]` element of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryChunk {
    pub phase: Option<u8>,
    pub chunk_order: Option<u32>,
    pub progress: Option<u8>,
    /// It carried error 2593109: the business declined to share its history.
    pub declined: bool,
}

/// One message of a history delivery, as far as the lifecycle cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryMessage {
    pub at_ms: i64,
    pub media_placeholder: bool,
    /// Its id is already stored (an echo of the same message, or a repeat).
    pub already_stored: bool,
}

/// What happens to a history message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFate {
    /// Stored, app-side and free.
    Store,
    /// Stored, and counted as media whose content never synced.
    StoreUnsyncedMedia,
    /// Older than the history reach: refused.
    TooOld,
    /// Already stored (e.g. as an echo): not counted twice.
    Duplicate,
}

/// Progress of one phase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseProgress {
    /// The `chunk_order`s received.
    pub chunks: BTreeSet<u32>,
}

/// Progress of a number's history sync (for its current onboarding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryProgress {
    pub phases: [PhaseProgress; PHASES],
    /// The highest `progress` seen, 0–100.
    pub progress: u8,
    pub declined: bool,
    pub chunks_received: u32,
    pub messages_stored: u64,
    pub messages_refused_too_old: u64,
    pub unsynced_media: u64,
    pub duplicates: u64,
}

impl HistoryProgress {
    /// Applies a chunk; order does not matter, and a repeated chunk changes nothing.
    pub fn apply_chunk(&mut self, chunk: HistoryChunk) {
        if chunk.declined {
            self.declined = true;
        }
        if let (Some(phase), Some(order)) = (chunk.phase, chunk.chunk_order) {
            if let Some(p) = self.phases.get_mut(usize::from(phase)) {
                if p.chunks.insert(order) {
                    self.chunks_received += 1;
                }
            }
        }
        if let Some(progress) = chunk.progress {
            self.progress = self.progress.max(progress.min(100));
        }
    }

    /// Decides a message's fate and counts it.
    pub fn apply_message(
        &mut self,
        settings: &LifecycleSettings,
        onboarded_at_ms: i64,
        m: HistoryMessage,
    ) -> MessageFate {
        let reach = onboarded_at_ms - i64::from(settings.sync.history_days) * DAY_MS;
        let fate = if m.already_stored {
            MessageFate::Duplicate
        } else if m.at_ms < reach {
            MessageFate::TooOld
        } else if m.media_placeholder {
            MessageFate::StoreUnsyncedMedia
        } else {
            MessageFate::Store
        };
        match fate {
            MessageFate::Store => self.messages_stored += 1,
            MessageFate::StoreUnsyncedMedia => {
                self.messages_stored += 1;
                self.unsynced_media += 1;
            }
            MessageFate::TooOld => self.messages_refused_too_old += 1,
            MessageFate::Duplicate => self.duplicates += 1,
        }
        fate
    }

    /// `declined`, `complete`, `in_progress` or `not_started`.
    pub fn state(&self) -> &'static str {
        if self.declined {
            "declined"
        } else if self.progress >= 100 {
            "complete"
        } else if self.chunks_received > 0 || self.progress > 0 {
            "in_progress"
        } else {
            "not_started"
        }
    }

    /// The latest phase with a chunk (the one in progress), if any.
    pub fn current_phase(&self) -> Option<usize> {
        self.phases.iter().rposition(|p| !p.chunks.is_empty())
    }

    /// Chunk orders missing below the highest received one, per phase
    /// (chunks count from 1).
    pub fn missing_chunks(&self, phase: usize) -> Vec<u32> {
        let Some(p) = self.phases.get(phase) else { return Vec::new() };
        let Some(&max) = p.chunks.last() else { return Vec::new() };
        (1..max).filter(|o| !p.chunks.contains(o)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600_000;

    fn chunk(phase: u8, order: u32, progress: u8) -> HistoryChunk {
        HistoryChunk { phase: Some(phase), chunk_order: Some(order), progress: Some(progress), declined: false }
    }

    #[test]
    fn chunks_in_any_order_give_the_same_progress() {
        let chunks = [chunk(0, 1, 10), chunk(1, 2, 60), chunk(1, 1, 40), chunk(2, 1, 100)];
        let mut forward = HistoryProgress::default();
        let mut backward = HistoryProgress::default();
        chunks.iter().for_each(|c| forward.apply_chunk(*c));
        chunks.iter().rev().for_each(|c| backward.apply_chunk(*c));
        forward.apply_chunk(chunks[1]);
        assert_eq!(forward, backward);
        assert_eq!((forward.state(), forward.progress, forward.chunks_received), ("complete", 100, 4));
        assert_eq!(forward.current_phase(), Some(2));

        let mut partial = HistoryProgress::default();
        partial.apply_chunk(chunk(1, 3, 30));
        assert_eq!((partial.state(), partial.missing_chunks(1)), ("in_progress", vec![1, 2]));
        partial.apply_chunk(HistoryChunk { phase: Some(1), chunk_order: None, progress: None, declined: true });
        assert_eq!(partial.state(), "declined");
    }

    #[test]
    fn messages_too_old_duplicate_or_media_are_told_apart() {
        let s = LifecycleSettings::default();
        let mut h = HistoryProgress::default();
        let m = |days_before: i64, media, dup| HistoryMessage {
            at_ms: T0 - days_before * DAY_MS,
            media_placeholder: media,
            already_stored: dup,
        };
        assert_eq!(h.apply_message(&s, T0, m(10, false, false)), MessageFate::Store);
        assert_eq!(h.apply_message(&s, T0, m(30, true, false)), MessageFate::StoreUnsyncedMedia);
        assert_eq!(h.apply_message(&s, T0, m(181, false, false)), MessageFate::TooOld);
        assert_eq!(h.apply_message(&s, T0, m(5, false, true)), MessageFate::Duplicate);
        assert_eq!((h.messages_stored, h.unsynced_media, h.messages_refused_too_old, h.duplicates), (2, 1, 1, 1));
    }
}
