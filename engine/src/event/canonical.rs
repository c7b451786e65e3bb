//! The canonical normalized form of an event: what the daemon stores, and
//! what two deliveries of one message id are compared by.
//!
//! [`decode_normalized`](super::decode_normalized) reads it back to the same
//! event, except for [`Source`](super::Source), which the store keeps beside it.

use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

use super::Event;

/// The event as one normalized JSON object with every field spelled out, in a
/// fixed order, so equal events give byte-equal text.
pub fn to_canonical_json(e: &Event) -> String {
    let mut v = Map::with_capacity(12);
    v.insert("id".into(), json!(e.id));
    v.insert("waba".into(), json!(e.waba.0));
    v.insert("business_number".into(), json!(e.business_number.as_str()));
    v.insert("user".into(), json!(e.user.display()));
    if let (Some(_), Some(bsuid)) = (&e.user.phone, &e.user.bsuid) {
        v.insert("user_id".into(), json!(bsuid.as_str()));
    }
    v.insert("direction".into(), json!(e.direction));
    v.insert("side".into(), json!(e.side));
    v.insert("type".into(), json!(e.kind));
    if let Some(c) = e.template_category {
        v.insert("template_category".into(), json!(c));
    }
    v.insert("timestamp".into(), json!(e.at.to_rfc3339_opts(SecondsFormat::AutoSi, true)));
    if e.referral {
        v.insert("referral".into(), json!({}));
    }
    if !e.features.is_empty() {
        v.insert("features".into(), Value::Array(e.features.iter().map(|f| json!(f)).collect()));
    }
    Value::Object(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode_normalized, Feature};

    #[test]
    fn canonical_form_reads_back_to_the_same_event() {
        let lines = [
            r#"{"id":"m1","waba":"W1","business_number":"+6221555000","user":"+6281234567890","user_id":"ID.8812","direction":"inbound","type":"text","timestamp":"2026-03-10T10:00:00.250Z","referral":{"source_type":"ad"}}"#,
            r#"{"id":"m2","waba":"W1","business_number":"+6221555000","user":"ID.8812","direction":"outbound","side":"app","type":"template","template_category":"utility","timestamp":1773136800,"features":["view_once","edit"]}"#,
        ];
        for line in lines {
            let event = decode_normalized(line).unwrap();
            let text = to_canonical_json(&event);
            let again = decode_normalized(&text).unwrap();
            assert_eq!(again, event, "{text}");
            assert_eq!(to_canonical_json(&again), text);
        }
        let e = decode_normalized(lines[1]).unwrap();
        assert!(e.features.contains(Feature::ViewOnce));
    }
}
