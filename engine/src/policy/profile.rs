//! WABA profiles (`[waba.<id>]` in TOML): currency, time zone, primary
//! country, authentication-international eligibility and numbers.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use super::currency::Currency;
use super::PolicyError;
use crate::phone::PhoneNumber;

/// One business phone number of a WABA.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberProfile {
    pub number: PhoneNumber,
    /// When the number joined Coexistence; absent for API-only numbers.
    #[serde(default, deserialize_with = "super::dates::opt_datetime")]
    pub coexistence_onboarded_at: Option<DateTime<Utc>>,
}

/// A WhatsApp Business Account's billing profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WabaProfile {
    pub currency: Currency,
    #[serde(deserialize_with = "time_zone")]
    pub timezone: Tz,
    /// ISO 3166 alpha-2 of the business's primary location.
    pub primary_country: String,
    /// From this local date the business is eligible for
    /// authentication-international rates.
    #[serde(default, deserialize_with = "super::dates::opt_date")]
    pub auth_international_from: Option<NaiveDate>,
    /// Recipient countries exempt from authentication-international for this business.
    #[serde(default)]
    pub auth_international_exceptions: Vec<String>,
    #[serde(default)]
    pub numbers: Vec<NumberProfile>,
}

impl WabaProfile {
    /// The Coexistence onboarding time of `number`, if it is in Coexistence.
    pub fn coexistence_since(&self, number: &PhoneNumber) -> Option<DateTime<Utc>> {
        self.numbers.iter().find(|n| &n.number == number).and_then(|n| n.coexistence_onboarded_at)
    }
}

fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(d)?;
    name.parse::<Tz>()
        .map_err(|_| serde::de::Error::custom(format!("`{name}` is not an IANA time zone name (e.g. `Asia/Jakarta`)")))
}

/// The config file: WABA profiles, the profile for WABAs it does not list,
/// and the daemon's request limits.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    #[serde(default)]
    pub waba: BTreeMap<String, WabaProfile>,
    /// When set, a WABA without its own `[waba.<id>]` section is rated with
    /// this profile instead of being refused.
    #[serde(default)]
    pub default_waba: Option<WabaProfile>,
    #[serde(default)]
    pub limits: Limits,
}

/// Request limits of the daemon (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Events in one `POST /v1/rate` batch.
    pub max_batch_events: usize,
    /// Bytes in one request body.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_batch_events: 10_000, max_body_bytes: 16 * 1024 * 1024 }
    }
}

impl ProfileFile {
    pub fn from_toml(source: &str, text: &str) -> Result<Self, PolicyError> {
        let file: ProfileFile = toml::from_str(text).map_err(|e| PolicyError::toml(source, &e))?;
        let named = file.waba.iter().map(|(id, p)| (format!("waba.{id}"), p));
        for (section, profile) in named.chain(file.default_waba.iter().map(|p| ("default_waba".to_owned(), p))) {
            let country = &profile.primary_country;
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(PolicyError::Invalid(format!(
                    "{source}: {section}.primary_country `{country}` must be an ISO 3166 alpha-2 code like `ID`"
                )));
            }
        }
        if file.limits.max_batch_events == 0 || file.limits.max_body_bytes < 1024 {
            return Err(PolicyError::Invalid(format!(
                "{source}: limits.max_batch_events must be at least 1 and limits.max_body_bytes at least 1024"
            )));
        }
        Ok(file)
    }

    /// Layers `over` on top of `self`: a WABA defined in both takes `over`'s
    /// profile; `over`'s default profile and limits win.
    pub fn layer(mut self, over: ProfileFile) -> Self {
        self.waba.extend(over.waba);
        if over.default_waba.is_some() {
            self.default_waba = over.default_waba;
        }
        if over.limits != Limits::default() {
            self.limits = over.limits;
        }
        self
    }

    /// The profile a WABA is rated with: its own, else the default if one is set.
    pub fn profile(&self, waba: &str) -> Option<&WabaProfile> {
        self.waba.get(waba).or(self.default_waba.as_ref())
    }
}
