//! The normalized event model every input is decoded into.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::phone::{PhoneNumber, UserRef};

/// A WhatsApp Business Account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WabaId(pub String);

impl fmt::Display for WabaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which side of the number sent the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The WhatsApp Business App on the phone.
    App,
    /// The Cloud API.
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer to the business.
    Inbound,
    /// From the business to the customer.
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    Marketing,
    Utility,
    Authentication,
}

/// Where an event came from; history messages never touch API state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A normalized send record or message (CRM, JSONL file).
    Record,
    /// A `messages` webhook.
    Webhook,
    /// An `smb_message_echoes` webhook: sent from the app.
    Echo,
    /// A `history` webhook: past chats synced from the app.
    History,
    /// Reconstructed from a status webhook when no send record exists.
    Status,
}

/// A feature a message asks for. Coexistence disables most of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Group,
    Broadcast,
    ViewOnce,
    Disappearing,
    LiveLocation,
    Edit,
    Revoke,
    MmLite,
}

impl Feature {
    pub const ALL: [Feature; 8] = [
        Feature::Group,
        Feature::Broadcast,
        Feature::ViewOnce,
        Feature::Disappearing,
        Feature::LiveLocation,
        Feature::Edit,
        Feature::Revoke,
        Feature::MmLite,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`Feature`]s, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Features(u8);

impl Features {
    pub fn insert(&mut self, f: Feature) {
        self.0 |= f.bit();
    }

    pub fn contains(self, f: Feature) -> bool {
        self.0 & f.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Feature> {
        Feature::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Feature> for Features {
    fn from_iter<I: IntoIterator<Item = Feature>>(iter: I) -> Self {
        let mut set = Features::default();
        for f in iter {
            set.insert(f);
        }
        set
    }
}

/// One message, sent or received, in the engine's own terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The message id (`wamid` for webhooks). The ledger key is (WABA, id).
    pub id: Arc<str>,
    pub waba: WabaId,
    pub business_number: PhoneNumber,
    pub user: UserRef,
    pub direction: Direction,
    pub side: Side,
    /// Meta's message type, e.g. `text`, `template`, `image`.
    pub kind: String,
    pub template_category: Option<TemplateCategory>,
    pub at: DateTime<Utc>,
    /// The inbound message came from a Click-to-WhatsApp ad or a Page button.
    pub referral: bool,
    pub features: Features,
    pub source: Source,
}

/// Delivery state reported by a status webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

/// Meta's own pricing verdict from a status webhook, kept to reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPricing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_model: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub pricing_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// A status webhook about a message the business sent through the API.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub id: String,
    pub waba: WabaId,
    pub business_number: PhoneNumber,
    pub recipient: UserRef,
    pub status: DeliveryStatus,
    pub at: DateTime<Utc>,
    pub pricing: Option<MetaPricing>,
}

/// A webhook change that rates nothing but may matter to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// `smb_app_state_sync`: app activity (contacts added or removed).
    AppStateSync { waba: WabaId, business_number: Option<PhoneNumber>, at: Option<DateTime<Utc>> },
    /// `history` chunk metadata (phase, order, progress) or a decline.
    HistoryChunk {
        waba: WabaId,
        business_number: Option<PhoneNumber>,
        phase: Option<u8>,
        chunk_order: Option<u32>,
        progress: Option<u8>,
        declined: bool,
    },
    /// `account_update` with its event name and raw value.
    AccountUpdate { waba: WabaId, event: String, value: serde_json::Value },
    /// A field this version does not act on.
    Ignored { waba: WabaId, field: String },
}

/// Everything one input line or webhook delivery carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub messages: Vec<Event>,
    pub statuses: Vec<StatusReport>,
    pub notices: Vec<Notice>,
}
