//! Status webhooks, merged per message so the outcome does not depend on the
//! order they arrive in.

use coexist_engine::event::{DeliveryStatus, Event, MetaPricing, StatusReport};
use coexist_engine::phone::{parse_user, Bsuid, PhoneNumber, UserRef};
use coexist_engine::status::{fallback_event, rank};

use crate::store::StatusRow;

pub fn status_name(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Read => "read",
        DeliveryStatus::Failed => "failed",
    }
}

fn parse_status(s: &str) -> DeliveryStatus {
    match s {
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        _ => DeliveryStatus::Sent,
    }
}

/// Folds one status into the merged row (or starts one). The furthest state
/// wins (failure dominates, ties keep the earlier instant); the earliest
/// instant is kept; pricing comes from the furthest state that carried one.
pub fn merge(row: Option<&StatusRow>, s: &StatusReport) -> StatusRow {
    let at = s.at.timestamp_millis();
    let r = i64::from(rank(s.status));
    let pricing = s.pricing.as_ref().and_then(|p| serde_json::to_string(p).ok());
    let recipient_id = match (&s.recipient.phone, &s.recipient.bsuid) {
        (Some(_), Some(b)) => Some(b.as_str().to_owned()),
        _ => None,
    };
    let fresh = StatusRow {
        id: s.id.clone(),
        business_number: s.business_number.as_str().to_owned(),
        recipient: s.recipient.display().to_owned(),
        recipient_id,
        status: status_name(s.status).to_owned(),
        status_at_ms: at,
        first_at_ms: at,
        pricing_rank: if pricing.is_some() { r } else { -1 },
        pricing,
    };
    let Some(old) = row else { return fresh };
    let old_rank = i64::from(rank(parse_status(&old.status)));
    let mut merged = old.clone();
    if r > old_rank || (r == old_rank && at < old.status_at_ms) {
        merged.status = fresh.status.clone();
        merged.status_at_ms = at;
    }
    merged.first_at_ms = old.first_at_ms.min(at);
    if fresh.pricing.is_some()
        && (r > old.pricing_rank || (r == old.pricing_rank && fresh.pricing.as_deref() < old.pricing.as_deref()))
    {
        merged.pricing = fresh.pricing;
        merged.pricing_rank = r;
    }
    if merged.recipient_id.is_none() {
        merged.recipient_id = fresh.recipient_id;
    }
    merged
}

pub fn is_failed(row: &StatusRow) -> bool {
    row.status == "failed"
}

pub fn pricing_of(row: &StatusRow) -> Option<MetaPricing> {
    row.pricing.as_deref().and_then(|p| serde_json::from_str(p).ok())
}

/// The stand-in send record for a message known only from its statuses:
/// placed at the earliest status, priced by Meta's category.
pub fn stand_in(waba: &str, row: &StatusRow) -> Option<Event> {
    let mut recipient: UserRef = parse_user(&row.recipient).ok()?;
    if let Some(id) = &row.recipient_id {
        recipient.bsuid = Bsuid::parse(id).ok();
    }
    let report = StatusReport {
        id: row.id.clone(),
        waba: coexist_engine::event::WabaId(waba.to_owned()),
        business_number: PhoneNumber::parse(&row.business_number).ok()?,
        recipient,
        status: parse_status(&row.status),
        at: chrono::DateTime::from_timestamp_millis(row.first_at_ms)?,
        pricing: None,
    };
    Some(fallback_event(&report, pricing_of(row).as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coexist_engine::event::decode_document;

    fn status(id: &str, status: &str, ts: i64, category: Option<&str>) -> StatusReport {
        let pricing = category
            .map(|c| {
                format!(r#","pricing":{{"billable":true,"pricing_model":"PMP","type":"regular","category":"{c}"}}"#)
            })
            .unwrap_or_default();
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"W1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"6221555000","phone_number_id":"P1"}},"statuses":[{{"id":"{id}","status":"{status}","timestamp":"{ts}","recipient_id":"6281234567890"{pricing}}}]}}}}]}}]}}"#
        );
        decode_document(&body).unwrap().statuses.remove(0)
    }

    #[test]
    fn merging_ignores_arrival_order() {
        let all = [
            status("m1", "sent", 100, Some("marketing")),
            status("m1", "delivered", 105, Some("marketing")),
            status("m1", "read", 110, None),
        ];
        let orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0]];
        let rows: Vec<StatusRow> = orders
            .iter()
            .map(|o| o.iter().fold(None, |row: Option<StatusRow>, &i| Some(merge(row.as_ref(), &all[i]))).unwrap())
            .collect();
        assert!(rows.windows(2).all(|w| w[0] == w[1]), "{rows:?}");
        assert_eq!(rows[0].status, "read");
        assert_eq!(rows[0].first_at_ms, 100_000);
        assert_eq!(rows[0].pricing_rank, 1);
        let e = stand_in("W1", &rows[0]).unwrap();
        assert_eq!(e.at.timestamp(), 100);
        assert_eq!(e.kind, "template");
    }
}
