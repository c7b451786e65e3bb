//! Identifiers of people and numbers: validated E.164 phone numbers and
//! business-scoped user ids (BSUIDs).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A phone number in E.164 form: `+` then 8 to 15 digits, no leading zero.
///
/// Meta's `wa_id` is the same digits without the `+`; [`PhoneNumber::from_wa_id`]
/// accepts that form. Equality and hashing use the digits as one integer
/// (15 digits fit in a `u64`, and no number starts with 0), so looking a
/// number up never compares strings.
#[derive(Clone)]
pub struct PhoneNumber {
    text: Arc<str>,
    value: u64,
}

impl PartialEq for PhoneNumber {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for PhoneNumber {}

impl std::hash::Hash for PhoneNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl PartialOrd for PhoneNumber {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PhoneNumber {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

/// Why a string is not an E.164 phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("`{0}` is not an E.164 number: it must start with `+`")]
    MissingPlus(String),
    #[error("`{0}` is not an E.164 number: only digits may follow `+`")]
    NotDigits(String),
    #[error("`{0}` is not an E.164 number: it has {1} digits, E.164 allows 8 to 15")]
    Length(String, usize),
    #[error("`{0}` is not an E.164 number: a country code never starts with 0")]
    LeadingZero(String),
}

impl PhoneNumber {
    /// Parses `+` followed by digits.
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        let digits = s.strip_prefix('+').ok_or_else(|| PhoneError::MissingPlus(s.to_owned()))?;
        let value = Self::check_digits(s, digits)?;
        Ok(Self { text: Arc::from(s), value })
    }

    /// Parses Meta's `wa_id` / `display_phone_number` form (digits, `+` optional).
    pub fn from_wa_id(s: &str) -> Result<Self, PhoneError> {
        let digits = s.strip_prefix('+').unwrap_or(s);
        let value = Self::check_digits(s, digits)?;
        Ok(Self { text: Arc::from(format!("+{digits}")), value })
    }

    /// Checks the digits and returns them as an integer.
    fn check_digits(original: &str, digits: &str) -> Result<u64, PhoneError> {
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() {
            return Err(PhoneError::NotDigits(original.to_owned()));
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::Length(original.to_owned(), digits.len()));
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero(original.to_owned()));
        }
        Ok(digits.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')))
    }

    /// The number with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The digits after `+`.
    pub fn digits(&self) -> &str {
        &self.text[1..]
    }

    /// The digits as one integer (unique: no number starts with 0).
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The number as a shared string.
    pub fn shared(&self) -> Arc<str> {
        self.text.clone()
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.text)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PhoneNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A business-scoped user id, e.g. `BR.1502576394655843` or the parent form
/// `US.ENT.11815799212886844830`. Its two-letter prefix is the user's country.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bsuid(Arc<str>);

/// Why a string is not a BSUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a business-scoped user id: expected a two-letter country code, a dot, then up to 128 letters or digits (e.g. `BR.1502576394655843`)")]
pub struct BsuidError(pub String);

impl Bsuid {
    /// Parses `CC.<alnum>` or `CC.ENT.<alnum>`.
    pub fn parse(s: &str) -> Result<Self, BsuidError> {
        let err = || BsuidError(s.to_owned());
        let (country, rest) = s.split_once('.').ok_or_else(err)?;
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err());
        }
        let body = rest.strip_prefix("ENT.").unwrap_or(rest);
        if body.is_empty() || body.len() > 128 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err());
        }
        Ok(Self(Arc::from(s)))
    }

    /// The ISO 3166 alpha-2 country prefix.
    pub fn country(&self) -> &str {
        &self.0[..2]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Bsuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Bsuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bsuid({})", self.0)
    }
}

/// How an event names the customer: by phone number, by BSUID, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserRef {
    pub phone: Option<PhoneNumber>,
    pub bsuid: Option<Bsuid>,
}

impl UserRef {
    /// The identifier shown to plugins and in reports: the phone if known.
    pub fn display(&self) -> &str {
        match (&self.phone, &self.bsuid) {
            (Some(p), _) => p.as_str(),
            (None, Some(b)) => b.as_str(),
            (None, None) => "",
        }
    }

    /// [`UserRef::display`] as a shared string: a reference-count bump, no copy.
    pub fn shared(&self) -> Arc<str> {
        match (&self.phone, &self.bsuid) {
            (Some(p), _) => p.shared(),
            (None, Some(b)) => b.0.clone(),
            (None, None) => Arc::from(""),
        }
    }
}

/// Parses a `user` field: an E.164 number (with `+`) or a BSUID.
pub fn parse_user(s: &str) -> Result<UserRef, String> {
    if s.starts_with('+') {
        return PhoneNumber::parse(s).map(|p| UserRef { phone: Some(p), bsuid: None }).map_err(|e| e.to_string());
    }
    if s.as_bytes().get(2) == Some(&b'.') {
        return Bsuid::parse(s).map(|b| UserRef { phone: None, bsuid: Some(b) }).map_err(|e| e.to_string());
    }
    Err(format!("`{s}` is neither an E.164 number (`+` and digits) nor a business-scoped user id (`CC.digits`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        assert_eq!(PhoneNumber::parse("+6281234567890").unwrap().digits(), "6281234567890");
        assert!(matches!(PhoneNumber::parse("6281234567890"), Err(PhoneError::MissingPlus(_))));
        assert!(matches!(PhoneNumber::parse("+62-812"), Err(PhoneError::NotDigits(_))));
        assert!(matches!(PhoneNumber::parse("+1234"), Err(PhoneError::Length(_, 4))));
        assert!(matches!(PhoneNumber::parse("+1234567890123456"), Err(PhoneError::Length(_, 16))));
        assert!(matches!(PhoneNumber::parse("+0123456789"), Err(PhoneError::LeadingZero(_))));
        assert_eq!(PhoneNumber::from_wa_id("6221555000").unwrap().as_str(), "+6221555000");
    }

    #[test]
    fn bsuids() {
        assert_eq!(Bsuid::parse("BR.1502576394655843").unwrap().country(), "BR");
        assert_eq!(Bsuid::parse("US.ENT.11815799212886844830").unwrap().country(), "US");
        assert!(Bsuid::parse("br.123").is_err());
        assert!(Bsuid::parse("BRA.123").is_err());
        assert!(Bsuid::parse("BR.").is_err());
        assert!(Bsuid::parse("BR.12-3").is_err());
    }

    #[test]
    fn users() {
        assert!(parse_user("+6281234567890").unwrap().phone.is_some());
        assert!(parse_user("BR.1502576394655843").unwrap().bsuid.is_some());
        assert!(parse_user("hello").is_err());
    }
}
