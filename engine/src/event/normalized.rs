//! The normalized event format: one JSON object per message.
//!
//! ```json
//! {"id":"m1","waba":"W1","business_number":"+6221555000","user":"+6281234567890",
//!  "direction":"outbound","side":"api","type":"template","template_category":"marketing",
//!  "timestamp":"2026-03-10T10:00:00Z"}
//! ```

use std::borrow::Cow;

use serde::Deserialize;

use super::timestamp::RawTimestamp;
use super::{DecodeError, DecodeErrorKind, Direction, Event, Feature, Side, Source, TemplateCategory, WabaId};
use crate::phone::{parse_user, Bsuid, PhoneNumber};

/// Borrows from the input where it can: a line is decoded without copying
/// its strings until they are validated.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalizedEvent<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    waba: Cow<'a, str>,
    #[serde(borrow)]
    business_number: Cow<'a, str>,
    #[serde(borrow)]
    user: Cow<'a, str>,
    #[serde(default, borrow)]
    user_id: Option<Cow<'a, str>>,
    direction: Direction,
    #[serde(default)]
    side: Option<Side>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    template_category: Option<TemplateCategory>,
    timestamp: RawTimestamp,
    #[serde(default, borrow)]
    referral: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    features: Vec<Feature>,
}

/// Decodes and validates one normalized event.
///
/// `side` defaults to `api` (a CRM's send record) when absent.
pub fn decode_normalized(text: &str) -> Result<Event, DecodeError> {
    // The happy path skips path tracking; only a failure pays to parse again
    // and learn which field was wrong.
    match serde_json::from_str::<NormalizedEvent>(text) {
        Ok(raw) => raw.validate(),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let raw: NormalizedEvent = serde_path_to_error::deserialize(&mut de)
                .map_err(|e| DecodeError::from_serde(e.path().to_string(), e.inner()))?;
            de.end().map_err(|e| DecodeError::from_serde(String::new(), &e))?;
            raw.validate()
        }
    }
}

impl NormalizedEvent<'_> {
    fn validate(self) -> Result<Event, DecodeError> {
        if self.id.is_empty() {
            return Err(DecodeError::new(DecodeErrorKind::InvalidValue, "id", "the message id is empty"));
        }
        if self.waba.is_empty() {
            return Err(DecodeError::new(DecodeErrorKind::InvalidValue, "waba", "the WABA id is empty"));
        }
        let business_number = PhoneNumber::parse(&self.business_number)
            .map_err(|e| DecodeError::new(DecodeErrorKind::ImpossibleNumber, "business_number", e.to_string()))?;
        let mut user =
            parse_user(&self.user).map_err(|e| DecodeError::new(DecodeErrorKind::ImpossibleNumber, "user", e))?;
        if let Some(user_id) = &self.user_id {
            let bsuid = Bsuid::parse(user_id)
                .map_err(|e| DecodeError::new(DecodeErrorKind::ImpossibleNumber, "user_id", e.to_string()))?;
            if user.bsuid.as_ref().is_some_and(|b| b != &bsuid) {
                return Err(DecodeError::new(
                    DecodeErrorKind::InvalidValue,
                    "user_id",
                    format!("`user` is the BSUID {} but `user_id` is a different one, {bsuid}", self.user),
                ));
            }
            user.bsuid = Some(bsuid);
        }
        if self.kind.is_empty() {
            return Err(DecodeError::new(DecodeErrorKind::InvalidValue, "type", "the message type is empty"));
        }
        if self.kind == "template" && self.template_category.is_none() {
            return Err(DecodeError::new(
                DecodeErrorKind::MissingTemplateCategory,
                "template_category",
                "a template needs its category: `marketing`, `utility` or `authentication`",
            ));
        }
        if self.kind != "template" && self.template_category.is_some() {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidValue,
                "template_category",
                format!("only templates have a category, but `type` is `{}`", self.kind),
            ));
        }
        if self.referral.is_some_and(|r| !r.get().trim_start().starts_with('{')) {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidValue,
                "referral",
                "`referral` must be an object, as in Meta's webhooks",
            ));
        }
        let at = self
            .timestamp
            .resolve()
            .map_err(|e| DecodeError::new(DecodeErrorKind::InvalidTimestamp, "timestamp", e))?;
        let side = match (self.direction, self.side) {
            (_, Some(side)) => side,
            (Direction::Outbound, None) => Side::Api,
            // A normalized inbound message was received through the API webhook.
            (Direction::Inbound, None) => Side::Api,
        };
        Ok(Event {
            id: self.id.as_ref().into(),
            waba: WabaId(self.waba.into_owned()),
            business_number,
            user,
            direction: self.direction,
            side,
            kind: self.kind.into_owned(),
            template_category: self.template_category,
            at,
            referral: self.referral.is_some(),
            features: self.features.into_iter().collect(),
            source: Source::Record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"m1","waba":"W1","business_number":"+6221555000","user":"+6281234567890","direction":"outbound","side":"api","type":"template","template_category":"marketing","timestamp":"2026-03-10T10:00:00Z"}"#;

    fn err_of(text: &str) -> DecodeError {
        decode_normalized(text).expect_err("should be rejected")
    }

    #[test]
    fn decodes_a_send_record() {
        let e = decode_normalized(GOOD).unwrap();
        assert_eq!(e.template_category, Some(TemplateCategory::Marketing));
        assert_eq!(e.side, Side::Api);
        assert_eq!(e.at.timestamp(), 1_773_136_800);
    }

    #[test]
    fn each_decoding_error_names_its_field() {
        let cases: &[(&str, DecodeErrorKind, Option<&str>)] = &[
            (r#"{"id":"m1","#, DecodeErrorKind::MalformedJson, None),
            (&GOOD.replace("outbound", "sideways"), DecodeErrorKind::UnknownValue, Some("direction")),
            (&GOOD.replace("\"marketing\"", "\"promo\""), DecodeErrorKind::UnknownValue, Some("template_category")),
            (&GOOD.replace("+6281234567890", "+62812"), DecodeErrorKind::ImpossibleNumber, Some("user")),
            (&GOOD.replace("+6221555000", "6221555000"), DecodeErrorKind::ImpossibleNumber, Some("business_number")),
            (
                &GOOD.replace(",\"template_category\":\"marketing\"", ""),
                DecodeErrorKind::MissingTemplateCategory,
                Some("template_category"),
            ),
            (&GOOD.replace("\"id\":\"m1\",", ""), DecodeErrorKind::MissingField, Some("id")),
            (
                &GOOD.replace("\"id\":\"m1\"", "\"id\":\"m1\",\"colour\":1"),
                DecodeErrorKind::UnknownField,
                Some("colour"),
            ),
            (
                &GOOD.replace("2026-03-10T10:00:00Z", "last tuesday"),
                DecodeErrorKind::InvalidTimestamp,
                Some("timestamp"),
            ),
            (&GOOD.replace("\"id\":\"m1\"", "\"id\":7"), DecodeErrorKind::InvalidValue, Some("id")),
            (
                &GOOD.replace("\"side\":\"api\"", "\"features\":[\"holograms\"]"),
                DecodeErrorKind::UnknownValue,
                Some("features[0]"),
            ),
        ];
        for (text, kind, field) in cases {
            let err = err_of(text);
            assert_eq!(err.kind, *kind, "{text}: {err}");
            assert_eq!(err.field.as_deref(), *field, "{text}: {err}");
        }
    }

    #[test]
    fn malformed_json_reports_its_column() {
        let err = err_of(r#"{"id": }"#);
        assert_eq!(err.column, Some(8));
    }

    #[test]
    fn bsuid_users_and_links() {
        let e = decode_normalized(&GOOD.replace("+6281234567890", "BR.1502576394655843")).unwrap();
        assert_eq!(e.user.bsuid.as_ref().map(|b| b.country()), Some("BR"));
        let linked = decode_normalized(&GOOD.replace("\"side\"", "\"user_id\":\"ID.77\",\"side\"")).unwrap();
        assert!(linked.user.phone.is_some() && linked.user.bsuid.is_some());
    }
}
