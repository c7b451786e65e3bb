//! The coexistence plugin's settings: one action per violation code, resolved
//! once in `configure` into an array indexed like [`RULES`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::rules::RULES;
use coexist_plugin_sdk::Action;

/// The action for each rule, in the order of [`RULES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `actions[i]` is what the CRM should do when `RULES[i]` is broken.
    pub actions: [Action; RULES.len()],
}

impl Default for Settings {
    fn default() -> Self {
        Settings { actions: RULES.map(|rule| rule.default_action) }
    }
}

impl Settings {
    /// Parses the plugin's settings object; every error names the key or code at fault.
    pub fn from_json(json: &str) -> Result<Self, String> {
        // serde would also fill a struct from a JSON array; settings are an object.
        if !json.trim_start().starts_with('{') {
            return Err("invalid coexistence settings: expected a JSON object".to_owned());
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let raw: Raw = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                format!("invalid coexistence settings: {}", e.inner())
            } else {
                format!("invalid coexistence settings: `{path}`: {}", e.inner())
            }
        })?;
        de.end().map_err(|e| format!("invalid coexistence settings: {e}"))?;

        let mut settings = Settings::default();
        for (code, action) in raw.actions {
            let Some(i) = RULES.iter().position(|rule| rule.code == code) else {
                let known: Vec<&str> = RULES.iter().map(|rule| rule.code).collect();
                return Err(format!(
                    "invalid coexistence settings: `actions`: unknown violation code `{code}` \
                     (known: {})",
                    known.join(", ")
                ));
            };
            settings.actions[i] = action.into();
        }
        Ok(settings)
    }
}

/// The settings as written in the policy file; absent codes keep their default.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    actions: BTreeMap<String, ActionName>,
}

/// An action as spelled in settings.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ActionName {
    Allow,
    Flag,
    Block,
}

impl From<ActionName> for Action {
    fn from(name: ActionName) -> Self {
        match name {
            ActionName::Allow => Action::Allow,
            ActionName::Flag => Action::Flag,
            ActionName::Block => Action::Block,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action_of(settings: &Settings, code: &str) -> Action {
        let i = RULES.iter().position(|rule| rule.code == code).unwrap();
        settings.actions[i]
    }

    #[test]
    fn an_empty_object_gives_the_defaults() {
        let settings = Settings::from_json("{}").unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(Settings::from_json(r#" {"actions": {}} "#), Ok(settings));
        for (code, action) in [
            ("coexistence.group_not_mirrored", Action::Flag),
            ("coexistence.broadcast_list_disabled", Action::Block),
            ("coexistence.view_once_disabled", Action::Block),
            ("coexistence.disappearing_disabled", Action::Block),
            ("coexistence.live_location_disabled", Action::Block),
            ("coexistence.edit_disabled", Action::Block),
            ("coexistence.revoke_disabled", Action::Block),
            ("coexistence.mm_lite_ineligible", Action::Block),
        ] {
            assert_eq!(action_of(&settings, code), action, "{code}");
        }
    }

    #[test]
    fn actions_override_only_their_code() {
        let settings = Settings::from_json(
            r#"{"actions": {"coexistence.group_not_mirrored": "allow",
                            "coexistence.edit_disabled": "flag"}}"#,
        )
        .unwrap();
        assert_eq!(action_of(&settings, "coexistence.group_not_mirrored"), Action::Allow);
        assert_eq!(action_of(&settings, "coexistence.edit_disabled"), Action::Flag);
        assert_eq!(action_of(&settings, "coexistence.revoke_disabled"), Action::Block);
    }

    #[test]
    fn errors_name_the_key_or_code_at_fault() {
        for (json, named) in [
            (r#"{"action": {}}"#, "action"),
            (r#"{"actions": {"coexistence.edit": "flag"}}"#, "coexistence.edit"),
            (r#"{"actions": {"coexistence.edit_disabled": "warn"}}"#, "coexistence.edit_disabled"),
            (r#"{"actions": {"coexistence.edit_disabled": null}}"#, "coexistence.edit_disabled"),
            (r#"{"actions": ["coexistence.edit_disabled"]}"#, "actions"),
        ] {
            let err = Settings::from_json(json).unwrap_err();
            assert!(err.contains(named), "{json}: {err}");
        }
        for json in ["", "[]", "null", "{", "{} {}"] {
            assert!(Settings::from_json(json).is_err(), "{json:?}");
        }
    }
}
