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

/// The WABA section of a config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    #[serde(default)]
    pub waba: BTreeMap<String, WabaProfile>,
}

impl ProfileFile {
    pub fn from_toml(source: &str, text: &str) -> Result<Self, PolicyError> {
        let file: ProfileFile = toml::from_str(text).map_err(|e| PolicyError::toml(source, &e))?;
        for (id, profile) in &file.waba {
            let country = &profile.primary_country;
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(PolicyError::Invalid(format!(
                    "{source}: waba.{id}.primary_country `{country}` must be an ISO 3166 alpha-2 code like `ID`"
                )));
            }
        }
        Ok(file)
    }

    /// Layers `over` on top of `self`: a WABA defined in both takes `over`'s profile.
    pub fn layer(mut self, over: ProfileFile) -> Self {
        self.waba.extend(over.waba);
        self
    }
}
