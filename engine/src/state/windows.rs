//! Customer-service, free-entry-point and conversation windows of one user
//! with one business number. Times are unix milliseconds; 0 means closed.

use crate::decision::BilledCategory;

pub const HOUR_MS: i64 = 3_600_000;
/// The customer-service window: 24 h from each inbound message.
pub const CSW_MS: i64 = 24 * HOUR_MS;
/// A reply within this long after a referral inbound opens the FEP window.
pub const FEP_REPLY_MS: i64 = 24 * HOUR_MS;
/// The free-entry-point window: 72 h from the reply that opens it.
pub const FEP_MS: i64 = 72 * HOUR_MS;
/// A conversation (conversation-based pricing) lasts 24 h.
pub const CONVERSATION_MS: i64 = 24 * HOUR_MS;

/// Conversation categories, in the order of their slots.
pub const CONVERSATION_SLOTS: [BilledCategory; 5] = [
    BilledCategory::Marketing,
    BilledCategory::Utility,
    BilledCategory::Authentication,
    BilledCategory::AuthenticationInternational,
    BilledCategory::Service,
];

/// One user's API-side windows with one business number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserWindows {
    /// The customer-service window is open before this instant.
    pub csw_until: i64,
    /// A referral inbound allows an FEP-opening reply before this instant.
    pub referral_until: i64,
    /// The free-entry-point window is open before this instant.
    pub fep_until: i64,
    /// Each conversation category is open before its instant.
    pub conversation_until: [i64; 5],
}

impl UserWindows {
    pub fn csw_open(&self, at: i64) -> bool {
        at < self.csw_until
    }

    pub fn fep_open(&self, at: i64) -> bool {
        at < self.fep_until
    }

    /// Whether any state here still matters at `at`.
    pub fn expired(&self, at: i64) -> bool {
        let last = self
            .conversation_until
            .iter()
            .copied()
            .fold(self.csw_until.max(self.referral_until).max(self.fep_until), i64::max);
        last <= at
    }

    pub fn conversation_open(&self, category: BilledCategory, at: i64) -> bool {
        slot(category).is_some_and(|i| at < self.conversation_until[i])
    }

    pub fn any_conversation_open(&self, at: i64) -> bool {
        self.conversation_until.iter().any(|&until| at < until)
    }

    pub fn open_conversation(&mut self, category: BilledCategory, at: i64) {
        if let Some(i) = slot(category) {
            self.conversation_until[i] = at + CONVERSATION_MS;
        }
    }

    pub fn close_conversations(&mut self) {
        self.conversation_until = [0; 5];
    }

    /// Folds another identifier's windows into these (identity merge): each
    /// window stays open as long as either side had it open.
    pub fn merge(&mut self, other: &UserWindows) {
        self.csw_until = self.csw_until.max(other.csw_until);
        self.referral_until = self.referral_until.max(other.referral_until);
        self.fep_until = self.fep_until.max(other.fep_until);
        for (mine, theirs) in self.conversation_until.iter_mut().zip(other.conversation_until) {
            *mine = (*mine).max(theirs);
        }
    }
}

fn slot(category: BilledCategory) -> Option<usize> {
    CONVERSATION_SLOTS.iter().position(|c| *c == category)
}
