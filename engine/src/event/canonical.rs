//! The canonical normalized form of an event: what the daemon stores, and
//! what two deliveries of one message id are compared by.
//!
//! [`decode_normalized`](super::decode_normalized) reads it back to the same
//! event, except for [`Source`](super::Source), which the store keeps beside it.

use chrono::SecondsFormat;

use super::{Direction, Event, Side, TemplateCategory};

/// The event as one normalized JSON object with every field spelled out, in a
/// fixed order, so equal events give byte-equal text.
pub fn to_canonical_json(e: &Event) -> String {
    let mut out = String::with_capacity(256);
    out.push('{');
    field(&mut out, "id", &e.id, true);
    field(&mut out, "waba", &e.waba.0, false);
    field(&mut out, "business_number", e.business_number.as_str(), false);
    field(&mut out, "user", e.user.display(), false);
    if let (Some(_), Some(bsuid)) = (&e.user.phone, &e.user.bsuid) {
        field(&mut out, "user_id", bsuid.as_str(), false);
    }
    let direction = match e.direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    };
    field(&mut out, "direction", direction, false);
    field(&mut out, "side", if e.side == Side::App { "app" } else { "api" }, false);
    field(&mut out, "type", &e.kind, false);
    if let Some(c) = e.template_category {
        let category = match c {
            TemplateCategory::Marketing => "marketing",
            TemplateCategory::Utility => "utility",
            TemplateCategory::Authentication => "authentication",
        };
        field(&mut out, "template_category", category, false);
    }
    field(&mut out, "timestamp", &e.at.to_rfc3339_opts(SecondsFormat::AutoSi, true), false);
    if e.referral {
        out.push_str(",\"referral\":{}");
    }
    if !e.features.is_empty() {
        out.push_str(",\"features\":[");
        for (i, f) in e.features.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(&mut out, enum_name(&f));
        }
        out.push(']');
    }
    out.push('}');
    out
}

fn field(out: &mut String, name: &str, value: &str, first: bool) {
    if !first {
        out.push(',');
    }
    push_str(out, name);
    out.push(':');
    push_str(out, value);
}

/// A JSON string literal, as serde_json writes it. A string without a
/// character JSON escapes (`"`, `\\`, a control character), as nearly every
/// id, number and name is, is copied as it is, without building a string.
fn push_str(out: &mut String, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Serializing a &str cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// The serde name of a unit enum variant (`"view_once"`, ...).
fn enum_name<T: serde::Serialize>(v: &T) -> &'static str {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => crate::intern::Name::new(&s).as_str(),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode_normalized, Feature};

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let cases = [
            "",
            "wamid.HBgL",
            "+6281234567890",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nul\u{0}",
            "\u{1f}",
            "del\u{7f}",
            "é ✓ 😀",
            "</script>",
        ];
        for s in cases {
            let mut out = String::new();
            push_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

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
