//! Status webhooks: Meta's delivery state and pricing verdict per message.
//!
//! The billable event is delivery; `failed` is never billable. A status does
//! not say whether the message was a template, so the send record rates it;
//! when no send record exists, Meta's `pricing.category` is the fallback.

use std::collections::HashMap;

use crate::decision::PricingType;
use crate::event::{
    DeliveryStatus, Direction, Event, Features, MetaPricing, Side, Source, StatusReport, TemplateCategory,
};
use crate::rated::Rated;

/// The latest word from Meta on each message, keyed by (WABA, message id).
#[derive(Debug, Default, Clone)]
pub struct StatusBook {
    /// WABA → message id → entry, so lookups by `&str` allocate nothing.
    entries: HashMap<String, HashMap<String, Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    report: StatusReport,
    pricing: Option<MetaPricing>,
}

/// Failure dominates; otherwise the furthest state reached counts.
pub fn rank(s: DeliveryStatus) -> u8 {
    match s {
        DeliveryStatus::Sent => 0,
        DeliveryStatus::Delivered => 1,
        DeliveryStatus::Read => 2,
        DeliveryStatus::Failed => 3,
    }
}

impl StatusBook {
    /// Records a status; repeats of the same message are folded together.
    pub fn add(&mut self, report: StatusReport) {
        let by_id = self.entries.entry(report.waba.0.clone()).or_default();
        match by_id.get_mut(report.id.as_str()) {
            Some(entry) => {
                if report.pricing.is_some() {
                    entry.pricing = report.pricing.clone();
                }
                if rank(report.status) > rank(entry.report.status) {
                    entry.report = report;
                }
            }
            None => {
                let pricing = report.pricing.clone();
                by_id.insert(report.id.clone(), Entry { report, pricing });
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Send records to rate for statuses that have none among `known`,
    /// built from Meta's `pricing.category`.
    pub fn fallback_events(&self, known: &dyn Fn(&str, &str) -> bool) -> Vec<Event> {
        let mut out: Vec<Event> = self
            .entries
            .iter()
            .flat_map(|(waba, by_id)| by_id.iter().map(move |(id, entry)| (waba, id, entry)))
            .filter(|(waba, id, _)| !known(waba, id))
            .map(|(_, _, entry)| fallback_event(&entry.report, entry.pricing.as_ref()))
            .collect();
        out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        out
    }

    /// Applies Meta's word to a rated message: a failed delivery is never
    /// billable, and Meta's pricing is kept beside our verdict.
    pub fn apply(&self, rated: &mut Rated) {
        let Some(entry) = self.entries.get(&*rated.waba).and_then(|by_id| by_id.get(&*rated.id)) else { return };
        rated.meta_pricing = entry.pricing.clone().map(Box::new);
        if entry.report.status == DeliveryStatus::Failed && rated.direction == Direction::Outbound {
            mark_failed(rated);
        }
    }
}

/// The note on a message whose delivery failed.
pub const FAILED_NOTE: &str = "delivery failed; a failed message is never billable";

/// Makes a rated outbound message not billable because its delivery failed.
pub fn mark_failed(rated: &mut Rated) {
    rated.billable = false;
    rated.pricing_type = PricingType::NotBillable;
    rated.cost = Some(rust_decimal::Decimal::ZERO);
    rated.unpriced_reason = None;
    rated.note = Some(FAILED_NOTE.to_owned());
}

/// [`mark_failed`] on a result already serialized to JSON (as stored).
pub fn mark_failed_json(result: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    result.insert("billable".into(), Value::Bool(false));
    result.insert("pricing_type".into(), Value::String(PricingType::NotBillable.as_str().to_owned()));
    result.insert("cost".into(), Value::String("0".to_owned()));
    result.remove("unpriced_reason");
    result.insert("note".into(), Value::String(FAILED_NOTE.to_owned()));
}

/// The send record a status stands in for when no real one exists: outbound
/// through the API, a template of Meta's `pricing.category` when it names one.
pub fn fallback_event(report: &StatusReport, pricing: Option<&MetaPricing>) -> Event {
    let category = pricing.and_then(|p| p.category.as_deref()).unwrap_or("service");
    let template_category = match category {
        "marketing" | "marketing_lite" => Some(TemplateCategory::Marketing),
        "utility" => Some(TemplateCategory::Utility),
        "authentication" | "authentication-international" | "authentication_international" => {
            Some(TemplateCategory::Authentication)
        }
        _ => None,
    };
    Event {
        id: report.id.as_str().into(),
        waba: report.waba.clone(),
        business_number: report.business_number.clone(),
        user: report.recipient.clone(),
        direction: Direction::Outbound,
        side: Side::Api,
        kind: if template_category.is_some() { "template" } else { "text" }.to_owned(),
        template_category,
        at: report.at,
        referral: false,
        features: Features::default(),
        source: Source::Status,
    }
}
