//! The typed settings reader: a plugin's settings arrive in `configure` as a
//! JSON object (the policy file's TOML table, converted by the host) and are
//! read with serde into the plugin's own type.

use std::fmt;

use serde::de::DeserializeOwned;

/// Why settings were refused: where (a key path such as `numbers[2]`, empty
/// for the settings as a whole) and what is wrong there.
///
/// It displays as `settings.numbers[2]: invalid type: integer `5`, expected a string`,
/// or `settings: ...` when no key is at fault; `configure` returns that text to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    path: String,
    message: String,
}

impl SettingsError {
    /// An error at `path` (as [`SettingsError::path`] spells it: `numbers[2]`,
    /// `limits.daily`; empty for the settings as a whole).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        SettingsError { path: path.into(), message: message.into() }
    }

    /// The key path at fault, e.g. `numbers[2]`; empty when no key is at fault.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "settings: {}", self.message)
        } else {
            write!(f, "settings.{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SettingsError {}

/// Reads a plugin's settings from the JSON text `configure` receives.
///
/// - `{}` (an empty object) and blank text give `S::default()`, so a plugin
///   without settings in the policy file runs on its defaults even when its type
///   has required fields;
/// - anything but a JSON object is refused (serde would otherwise fill a struct
///   from an array);
/// - keys the type does not know are refused when it says
///   `#[serde(deny_unknown_fields)]` (and ignored otherwise, as serde does);
/// - every error names the key path at fault, see [`SettingsError`].
pub fn parse_settings<S: DeserializeOwned + Default>(json: &str) -> Result<S, SettingsError> {
    let text = json.trim();
    if text.is_empty() || is_empty_object(text) {
        return Ok(S::default());
    }
    if !text.starts_with('{') {
        return Err(SettingsError::new("", "expected a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let settings: S = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        SettingsError::new(path, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| SettingsError::new("", e.to_string()))?;
    Ok(settings)
}

/// `{` and `}` with only whitespace between them.
fn is_empty_object(text: &str) -> bool {
    text.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')).is_some_and(|inside| inside.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::Action;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        numbers: Vec<String>,
        #[serde(default)]
        action: Option<Action>,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    struct Lenient {
        #[serde(default)]
        numbers: Vec<String>,
    }

    #[test]
    fn empty_settings_give_the_defaults() {
        for json in ["{}", " { \n } ", "", "  "] {
            assert_eq!(parse_settings::<Strict>(json), Ok(Strict::default()), "{json:?}");
        }
    }

    #[test]
    fn settings_are_read_into_the_type() {
        let settings: Strict = parse_settings(r#"{"numbers": ["+1", "+2"], "action": "block"}"#).unwrap();
        assert_eq!(settings, Strict { numbers: vec!["+1".into(), "+2".into()], action: Some(Action::Block) });
        let lenient: Lenient = parse_settings(r#"{"numbers": ["+1"], "other": 1}"#).unwrap();
        assert_eq!(lenient.numbers, ["+1"], "without deny_unknown_fields, unknown keys are ignored");
    }

    #[test]
    fn errors_name_the_key_path() {
        let err = parse_settings::<Strict>(r#"{"numbers": ["+1", "+2", 5]}"#).unwrap_err();
        assert_eq!(err.path(), "numbers[2]");
        assert!(err.to_string().starts_with("settings.numbers[2]: invalid type: integer `5`"), "{err}");

        let err = parse_settings::<Strict>(r#"{"numbers": [], "action": "warn"}"#).unwrap_err();
        assert_eq!(err.path(), "action");
        assert!(err.message().contains("unknown variant `warn`"), "{err}");

        let err = parse_settings::<Strict>(r#"{"numbers": [], "nmbers": []}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `nmbers`"), "{err}");

        let err = parse_settings::<Strict>(r#"{"action": "flag"}"#).unwrap_err();
        assert!(err.to_string().starts_with("settings: missing field `numbers`"), "{err}");
    }

    #[test]
    fn only_one_json_object_is_accepted() {
        for json in ["[]", "null", "1", "\"{}\"", "{", r#"{"numbers": []} {}"#, r#"{"numbers": []} x"#] {
            assert!(parse_settings::<Lenient>(json).is_err(), "{json:?}");
        }
        let err = parse_settings::<Lenient>("[1]").unwrap_err();
        assert_eq!(err.to_string(), "settings: expected a JSON object");
    }
}
