//! [`Policy`]: the high-level way to write a plugin, one message at a time.

use serde::de::DeserializeOwned;

use crate::{Columns, Decision, DecisionsBuilder, Fact, SettingsError};

/// A policy plugin, written as a function of one message.
///
/// The SDK does the rest: `info` answers [`Policy::NAME`] and
/// [`Policy::VERSION`]; `configure` reads the settings with
/// [`parse_settings`](crate::parse_settings) and checks them with
/// [`Policy::validate`]; `evaluate` decodes each row of the batch into a
/// [`Fact`] and calls [`Policy::decide`] with that message's [`Decision`] so
/// far. Export it with `export_policy!` (feature `policy`); test it natively
/// with [`testing`](crate::testing).
pub trait Policy {
    /// The plugin's name, as the host lists it: kebab-case, e.g. `test-numbers-free`.
    const NAME: &'static str;
    /// The plugin's version, e.g. `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// The settings, read from the policy file's table for this plugin. `{}`
    /// (no settings) gives `Default::default()`. Add
    /// `#[serde(deny_unknown_fields)]` to refuse misspelled keys.
    type Settings: DeserializeOwned + Default + 'static;

    /// Checks settings beyond their types (e.g. that numbers are E.164);
    /// an error refuses the configuration. Accepts everything by default.
    fn validate(settings: &Self::Settings) -> Result<(), SettingsError> {
        let _ = settings;
        Ok(())
    }

    /// Decides one message: reads `fact` and amends `decision`, the decision so
    /// far. Leave it as it is for a message the policy is not about.
    fn decide(settings: &Self::Settings, fact: &Fact<'_>, decision: &mut Decision<'_>);
}

/// Reads and checks `P`'s settings from `configure`'s JSON text.
pub fn load_settings<P: Policy>(json: &str) -> Result<P::Settings, SettingsError> {
    let settings = crate::parse_settings::<P::Settings>(json)?;
    P::validate(&settings)?;
    Ok(settings)
}

/// Runs [`Policy::decide`] over every message of `columns`, amending `out`.
pub fn decide_batch<P: Policy>(settings: &P::Settings, columns: &Columns<'_>, out: &mut DecisionsBuilder) {
    for row in 0..columns.len() {
        let fact = columns.row(row);
        let mut decision = Decision::new(out, row, columns.waba, columns.business_country);
        P::decide(settings, &fact, &mut decision);
    }
}
