//! Meta webhook envelopes, accepted unchanged: `messages` (inbound messages and
//! statuses), `smb_message_echoes`, `history`, `smb_app_state_sync` and
//! `account_update`.

use serde::Deserialize;
use serde_json::Value;

use super::timestamp::RawTimestamp;
use super::{
    DecodeError, DecodeErrorKind, Decoded, DeliveryStatus, Direction, Event, Feature, Features, MetaPricing, Notice,
    Side, Source, StatusReport, WabaId,
};
use crate::phone::{Bsuid, PhoneNumber, UserRef};

#[derive(Deserialize)]
struct Envelope {
    object: String,
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    value: Value,
}

#[derive(Deserialize)]
struct Metadata {
    display_phone_number: String,
}

#[derive(Deserialize, Default)]
struct Contact {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct MessageValue {
    metadata: Metadata,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<WireMessage>,
    #[serde(default)]
    statuses: Vec<WireStatus>,
}

/// A message as Meta sends it, in `messages`, `message_echoes` or history threads.
#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_user_id: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    to_user_id: Option<String>,
    id: String,
    timestamp: RawTimestamp,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    referral: Option<Value>,
}

#[derive(Deserialize)]
struct WireStatus {
    id: String,
    status: DeliveryStatus,
    timestamp: RawTimestamp,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    recipient_user_id: Option<String>,
    #[serde(default)]
    pricing: Option<MetaPricing>,
}

#[derive(Deserialize)]
struct EchoValue {
    metadata: Metadata,
    #[serde(default)]
    message_echoes: Vec<WireMessage>,
}

#[derive(Deserialize)]
struct HistoryValue {
    metadata: Metadata,
    #[serde(default)]
    history: Vec<HistoryChunk>,
    /// The second delivery for recent media carries plain messages.
    #[serde(default)]
    messages: Vec<WireMessage>,
}

#[derive(Deserialize)]
struct HistoryChunk {
    #[serde(default)]
    metadata: Option<HistoryMeta>,
    #[serde(default)]
    threads: Vec<HistoryThread>,
    #[serde(default)]
    errors: Vec<WireError>,
}

#[derive(Deserialize)]
struct HistoryMeta {
    #[serde(default)]
    phase: Option<u8>,
    #[serde(default)]
    chunk_order: Option<u32>,
    #[serde(default)]
    progress: Option<u8>,
}

#[derive(Deserialize)]
struct HistoryThread {
    #[serde(default)]
    messages: Vec<WireMessage>,
}

#[derive(Deserialize)]
struct WireError {
    code: i64,
}

/// Meta's error code for "the business declined to share its history".
pub const HISTORY_DECLINED: i64 = 2_593_109;

/// Decodes a webhook delivery. A delivery is all-or-nothing: any bad part
/// rejects the whole delivery, so nothing is half stored.
pub fn decode_envelope(body: &[u8]) -> Result<Decoded, Vec<DecodeError>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let envelope: Envelope = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| vec![DecodeError::from_serde(e.path().to_string(), e.inner())])?;
    de.end().map_err(|e| vec![DecodeError::from_serde(String::new(), &e)])?;
    if envelope.object != "whatsapp_business_account" {
        return Err(vec![DecodeError::new(
            DecodeErrorKind::UnknownValue,
            "object",
            format!("expected `whatsapp_business_account`, got `{}`", envelope.object),
        )]);
    }
    let mut out = Decoded::default();
    let mut errors = Vec::new();
    for (ei, entry) in envelope.entry.into_iter().enumerate() {
        let waba = WabaId(entry.id);
        for (ci, change) in entry.changes.into_iter().enumerate() {
            let path = format!("entry[{ei}].changes[{ci}].value");
            if let Err(e) = decode_change(&waba, &change.field, change.value, &path, &mut out) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: Value, path: &str) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let full = if inner.is_empty() || inner == "." { path.to_owned() } else { format!("{path}.{inner}") };
        DecodeError::from_serde(full, e.inner())
    })
}

fn decode_change(waba: &WabaId, field: &str, value: Value, path: &str, out: &mut Decoded) -> Result<(), DecodeError> {
    match field {
        "messages" => {
            let v: MessageValue = typed(value, path)?;
            let business = business_number(&v.metadata, path)?;
            let contact = v.contacts.first();
            for (i, m) in v.messages.into_iter().enumerate() {
                let mpath = format!("{path}.messages[{i}]");
                let mut user = wire_user(m.from.as_deref(), m.from_user_id.as_deref(), &mpath, "from")?;
                link_contact(&mut user, contact);
                out.messages.push(wire_event(
                    waba,
                    &business,
                    m,
                    user,
                    Direction::Inbound,
                    Side::Api,
                    Source::Webhook,
                    &mpath,
                )?);
            }
            for (i, s) in v.statuses.into_iter().enumerate() {
                let spath = format!("{path}.statuses[{i}]");
                let recipient =
                    wire_user(s.recipient_id.as_deref(), s.recipient_user_id.as_deref(), &spath, "recipient_id")?;
                let at = s.timestamp.resolve().map_err(|e| {
                    DecodeError::new(DecodeErrorKind::InvalidTimestamp, format!("{spath}.timestamp"), e)
                })?;
                out.statuses.push(StatusReport {
                    id: s.id,
                    waba: waba.clone(),
                    business_number: business.clone(),
                    recipient,
                    status: s.status,
                    at,
                    pricing: s.pricing,
                });
            }
        }
        "smb_message_echoes" => {
            let v: EchoValue = typed(value, path)?;
            let business = business_number(&v.metadata, path)?;
            for (i, m) in v.message_echoes.into_iter().enumerate() {
                let mpath = format!("{path}.message_echoes[{i}]");
                let user = wire_user(m.to.as_deref(), m.to_user_id.as_deref(), &mpath, "to")?;
                out.messages.push(wire_event(
                    waba,
                    &business,
                    m,
                    user,
                    Direction::Outbound,
                    Side::App,
                    Source::Echo,
                    &mpath,
                )?);
            }
        }
        "history" => {
            let v: HistoryValue = typed(value, path)?;
            let business = business_number(&v.metadata, path)?;
            for (hi, chunk) in v.history.into_iter().enumerate() {
                let declined = chunk.errors.iter().any(|e| e.code == HISTORY_DECLINED);
                let meta = chunk.metadata.unwrap_or(HistoryMeta { phase: None, chunk_order: None, progress: None });
                out.notices.push(Notice::HistoryChunk {
                    waba: waba.clone(),
                    business_number: Some(business.clone()),
                    phase: meta.phase,
                    chunk_order: meta.chunk_order,
                    progress: meta.progress,
                    declined,
                });
                for (ti, thread) in chunk.threads.into_iter().enumerate() {
                    for (mi, m) in thread.messages.into_iter().enumerate() {
                        let mpath = format!("{path}.history[{hi}].threads[{ti}].messages[{mi}]");
                        out.messages.push(history_event(waba, &business, m, &mpath)?);
                    }
                }
            }
            for (mi, m) in v.messages.into_iter().enumerate() {
                let mpath = format!("{path}.messages[{mi}]");
                out.messages.push(history_event(waba, &business, m, &mpath)?);
            }
        }
        "smb_app_state_sync" => {
            let business = value
                .get("metadata")
                .and_then(|m| m.get("display_phone_number"))
                .and_then(Value::as_str)
                .and_then(|s| PhoneNumber::from_wa_id(s).ok());
            let at = value
                .get("state_sync")
                .and_then(|s| s.get(0))
                .and_then(|s| s.get("metadata").and_then(|m| m.get("timestamp")).or_else(|| s.get("timestamp")))
                .and_then(|t| serde_json::from_value::<RawTimestamp>(t.clone()).ok())
                .and_then(|t| t.resolve().ok());
            out.notices.push(Notice::AppStateSync { waba: waba.clone(), business_number: business, at });
        }
        "account_update" => {
            let event = value.get("event").and_then(Value::as_str).unwrap_or_default().to_owned();
            out.notices.push(Notice::AccountUpdate { waba: waba.clone(), event, value });
        }
        other => out.notices.push(Notice::Ignored { waba: waba.clone(), field: other.to_owned() }),
    }
    Ok(())
}

fn business_number(meta: &Metadata, path: &str) -> Result<PhoneNumber, DecodeError> {
    PhoneNumber::from_wa_id(&meta.display_phone_number).map_err(|e| {
        DecodeError::new(
            DecodeErrorKind::ImpossibleNumber,
            format!("{path}.metadata.display_phone_number"),
            e.to_string(),
        )
    })
}

/// A user from a `wa_id`-style number and/or a BSUID. At least one must be usable.
fn wire_user(number: Option<&str>, bsuid: Option<&str>, path: &str, field: &str) -> Result<UserRef, DecodeError> {
    let phone = match number.filter(|s| !s.is_empty()) {
        Some(n) => Some(PhoneNumber::from_wa_id(n).map_err(|e| {
            DecodeError::new(DecodeErrorKind::ImpossibleNumber, format!("{path}.{field}"), e.to_string())
        })?),
        None => None,
    };
    let bsuid = match bsuid.filter(|s| !s.is_empty()) {
        Some(b) => Some(Bsuid::parse(b).map_err(|e| {
            DecodeError::new(DecodeErrorKind::ImpossibleNumber, format!("{path}.{field}_user_id"), e.to_string())
        })?),
        None => None,
    };
    if phone.is_none() && bsuid.is_none() {
        return Err(DecodeError::new(
            DecodeErrorKind::MissingField,
            format!("{path}.{field}"),
            "the message names no user: neither a phone number nor a business-scoped user id",
        ));
    }
    Ok(UserRef { phone, bsuid })
}

/// `contacts[].user_id` links a phone number to its BSUID.
fn link_contact(user: &mut UserRef, contact: Option<&Contact>) {
    let Some(contact) = contact else { return };
    let same_person = match (&user.phone, contact.wa_id.as_deref()) {
        (Some(p), Some(w)) => p.digits() == w.trim_start_matches('+'),
        _ => true,
    };
    if same_person && user.bsuid.is_none() {
        user.bsuid = contact.user_id.as_deref().and_then(|b| Bsuid::parse(b).ok());
    }
}

/// Meta's message types that are themselves feature uses.
fn features_of(kind: &str) -> Features {
    match kind {
        "edit" => [Feature::Edit].into_iter().collect(),
        "revoke" => [Feature::Revoke].into_iter().collect(),
        _ => Features::default(),
    }
}

#[allow(clippy::too_many_arguments)]
fn wire_event(
    waba: &WabaId,
    business: &PhoneNumber,
    m: WireMessage,
    user: UserRef,
    direction: Direction,
    side: Side,
    source: Source,
    path: &str,
) -> Result<Event, DecodeError> {
    let at = m
        .timestamp
        .resolve()
        .map_err(|e| DecodeError::new(DecodeErrorKind::InvalidTimestamp, format!("{path}.timestamp"), e))?;
    Ok(Event {
        id: m.id.into(),
        waba: waba.clone(),
        business_number: business.clone(),
        user,
        direction,
        side,
        features: features_of(&m.kind),
        kind: m.kind,
        template_category: None,
        at,
        referral: m.referral.is_some(),
        source,
    })
}

/// A history message: from the business (sent from the app) or from the user.
fn history_event(waba: &WabaId, business: &PhoneNumber, m: WireMessage, path: &str) -> Result<Event, DecodeError> {
    let from_business = m.from.as_deref().map(|f| f.trim_start_matches('+')) == Some(business.digits());
    let (direction, user) = if from_business {
        (Direction::Outbound, wire_user(m.to.as_deref(), m.to_user_id.as_deref(), path, "to")?)
    } else {
        (Direction::Inbound, wire_user(m.from.as_deref(), m.from_user_id.as_deref(), path, "from")?)
    };
    let mut event = wire_event(waba, business, m, user, direction, Side::App, Source::History, path)?;
    event.referral = false;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INBOUND: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
  "messaging_product":"whatsapp",
  "metadata":{"display_phone_number":"6221555000","phone_number_id":"106540352242922"},
  "contacts":[{"profile":{"name":"Sari"},"wa_id":"6281234567890","user_id":"ID.8812"}],
  "messages":[{"from":"6281234567890","id":"wamid.IN1","timestamp":"1767225600","type":"text",
    "text":{"body":"Halo, promo masih ada?"},
    "referral":{"source_url":"https://fb.me/x","source_id":"120","source_type":"ad","headline":"Promo","ctwa_clid":"ARAk"}}]}}]}]}"#;

    const STATUS: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
  "messaging_product":"whatsapp",
  "metadata":{"display_phone_number":"6221555000","phone_number_id":"106540352242922"},
  "statuses":[{"id":"wamid.OUT1","status":"delivered","timestamp":"1767229200","recipient_id":"6281234567890",
    "pricing":{"billable":false,"pricing_model":"PMP","type":"free_entry_point","category":"referral_conversion"}}]}}]}]}"#;

    const ECHO: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"smb_message_echoes","value":{
  "messaging_product":"whatsapp",
  "metadata":{"display_phone_number":"6221555000","phone_number_id":"106540352242922"},
  "message_echoes":[{"from":"6221555000","to":"6281234567890","id":"wamid.ECHO1","timestamp":"1767230000",
    "type":"text","text":{"body":"Masih, kak!"}}]}}]}]}"#;

    const HISTORY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"W1","changes":[{"field":"history","value":{
  "messaging_product":"whatsapp",
  "metadata":{"display_phone_number":"6221555000","phone_number_id":"1"},
  "history":[{"metadata":{"phase":1,"chunk_order":2,"progress":40},"threads":[{"id":"6281234567890","messages":[
     {"from":"6281234567890","id":"h1","timestamp":"1767000000","type":"text","history_context":{"status":"read"}},
     {"from":"6221555000","to":"6281234567890","id":"h2","timestamp":"1767000100","type":"media_placeholder","history_context":{"status":"delivered"}}]}]},
   {"errors":[{"code":2593109,"title":"declined"}]}]}}]}]}"#;

    #[test]
    fn inbound_with_referral_links_bsuid() {
        let d = decode_envelope(INBOUND.as_bytes()).unwrap();
        let m = &d.messages[0];
        assert_eq!(m.direction, Direction::Inbound);
        assert!(m.referral);
        assert_eq!(m.business_number.as_str(), "+6221555000");
        assert_eq!(m.user.phone.as_ref().unwrap().as_str(), "+6281234567890");
        assert_eq!(m.user.bsuid.as_ref().unwrap().as_str(), "ID.8812");
    }

    #[test]
    fn status_keeps_meta_pricing() {
        let d = decode_envelope(STATUS.as_bytes()).unwrap();
        let s = &d.statuses[0];
        assert_eq!(s.status, DeliveryStatus::Delivered);
        assert_eq!(s.pricing.as_ref().unwrap().pricing_type.as_deref(), Some("free_entry_point"));
    }

    #[test]
    fn echo_is_app_side_outbound() {
        let d = decode_envelope(ECHO.as_bytes()).unwrap();
        let m = &d.messages[0];
        assert_eq!((m.side, m.direction, m.source), (Side::App, Direction::Outbound, Source::Echo));
    }

    #[test]
    fn history_senders_and_decline() {
        let d = decode_envelope(HISTORY.as_bytes()).unwrap();
        assert_eq!(d.messages.len(), 2);
        assert_eq!(d.messages[0].direction, Direction::Inbound);
        assert_eq!(d.messages[1].direction, Direction::Outbound);
        assert!(d.messages.iter().all(|m| m.source == Source::History && m.side == Side::App));
        assert!(matches!(d.notices[1], Notice::HistoryChunk { declined: true, .. }));
    }

    #[test]
    fn a_bad_part_names_its_path() {
        let bad = ECHO.replace("\"to\":\"6281234567890\"", "\"to\":\"12\"");
        let errs = decode_envelope(bad.as_bytes()).unwrap_err();
        assert_eq!(errs[0].kind, DecodeErrorKind::ImpossibleNumber);
        assert_eq!(errs[0].field.as_deref(), Some("entry[0].changes[0].value.message_echoes[0].to"));
        let bad = STATUS.replace("delivered", "teleported");
        let errs = decode_envelope(bad.as_bytes()).unwrap_err();
        assert_eq!(errs[0].kind, DecodeErrorKind::UnknownValue);
        assert_eq!(errs[0].field.as_deref(), Some("entry[0].changes[0].value.statuses[0].status"));
    }
}
