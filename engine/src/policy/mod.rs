//! Policy data: the market map, rate cards, regimes, tiers, WABA profiles and
//! the plugin pipeline. Everything is effective-dated data that operators
//! replace; the defaults in the repository's `policies/` are compiled in.

mod currency;
mod dates;
mod effective;
mod market;
mod pipeline;
mod profile;
mod ratecard;
mod regime;
mod tiers;

use std::path::{Path, PathBuf};

pub use currency::Currency;
/// Serde helper for optional `YYYY-MM-DD` dates (TOML dates or strings).
pub use dates::opt_date;
pub use effective::Effective;
pub use market::{Market, MarketMap, Placement, OTHER_MARKET};
pub use pipeline::{PipelineFile, PluginEntry, PluginMode, DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT_MS};
pub use profile::{Limits, NumberProfile, ProfileFile, WabaProfile};
pub use ratecard::{MarketRates, RateBook, RateCard, RateCardEntry, RATE_COLUMNS};
pub use regime::{AllowanceScope, PricingModel, Regime, Regimes};
pub use tiers::{Tier, TierBook, TierSchedule};

use serde::Deserialize;

/// A policy file that cannot be used. Messages name the file, and the line,
/// column or key where the file format allows.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Invalid(String),
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl PolicyError {
    pub(crate) fn toml(source: &str, err: &toml::de::Error) -> Self {
        PolicyError::Invalid(format!("{source}: {}", err.to_string().trim_end()))
    }

    pub(crate) fn csv(source: &str, err: &csv::Error) -> Self {
        let line = err.position().map(|p| format!(" line {}:", p.line())).unwrap_or_default();
        PolicyError::Invalid(format!("{source}:{line} {err}"))
    }
}

/// The files of a policy directory, and the copies compiled into the binary.
const BUNDLED: &[(&str, &str)] = &[
    ("pipeline.toml", include_str!("../../../policies/pipeline.toml")),
    ("regimes.toml", include_str!("../../../policies/regimes.toml")),
    ("markets.csv", include_str!("../../../policies/markets.csv")),
    ("ratecards.toml", include_str!("../../../policies/ratecards.toml")),
    ("ratecards/rates-usd-2026-01-01.csv", include_str!("../../../policies/ratecards/rates-usd-2026-01-01.csv")),
    ("ratecards/rates-eur-2026-07-01.csv", include_str!("../../../policies/ratecards/rates-eur-2026-07-01.csv")),
    ("tiers.toml", include_str!("../../../policies/tiers.toml")),
    ("wabas.toml", include_str!("../../../policies/wabas.toml")),
];

/// Where policy files come from.
#[derive(Debug, Clone)]
pub enum PolicySource {
    /// The defaults compiled into the binary.
    Bundled,
    /// A directory; files it lacks fall back to the bundled defaults.
    Dir(PathBuf),
}

impl PolicySource {
    /// Reads `name`, returning the text and how to name it in errors.
    fn read(&self, name: &str) -> Result<(String, String), PolicyError> {
        if let PolicySource::Dir(dir) = self {
            let path = dir.join(name);
            if path.exists() {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| PolicyError::Io { path: path.clone(), source })?;
                return Ok((text, path.display().to_string()));
            }
        }
        BUNDLED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| ((*text).to_owned(), format!("bundled policies/{n}")))
            .ok_or_else(|| {
                PolicyError::Invalid(format!(
                    "policy file {name} does not exist in {self:?} nor in the bundled defaults"
                ))
            })
    }

    /// Reads the plugin pipeline (`pipeline.toml`) again, e.g. for a reload.
    pub fn read_pipeline(&self) -> Result<PipelineFile, PolicyError> {
        let (text, name) = self.read("pipeline.toml")?;
        PipelineFile::from_toml(&name, &text)
    }

    /// The directory relative paths resolve against, for plugin modules.
    pub fn base_dir(&self) -> Option<&Path> {
        match self {
            PolicySource::Dir(dir) => Some(dir),
            PolicySource::Bundled => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateCardIndex {
    card: Vec<RateCardEntry>,
}

/// Every piece of policy data the engine rates with.
#[derive(Debug, Clone)]
pub struct Policies {
    pub source: PolicySource,
    pub markets: MarketMap,
    pub rates: RateBook,
    pub regimes: Regimes,
    pub tiers: TierBook,
    pub profiles: ProfileFile,
    pub pipeline: PipelineFile,
}

impl Policies {
    /// The defaults compiled into the binary.
    pub fn bundled() -> Result<Self, PolicyError> {
        Self::load(PolicySource::Bundled)
    }

    /// Loads a policy directory (missing files fall back to the defaults).
    pub fn load(source: PolicySource) -> Result<Self, PolicyError> {
        let (text, name) = source.read("markets.csv")?;
        let markets = MarketMap::from_csv(&name, &text)?;
        let (text, name) = source.read("regimes.toml")?;
        let regimes = Regimes::from_toml(&name, &text)?;
        let (text, name) = source.read("tiers.toml")?;
        let tiers = TierBook::from_toml(&name, &text)?;
        let (text, name) = source.read("wabas.toml")?;
        let profiles = ProfileFile::from_toml(&name, &text)?;
        let (text, name) = source.read("pipeline.toml")?;
        let pipeline = PipelineFile::from_toml(&name, &text)?;
        let (text, index_name) = source.read("ratecards.toml")?;
        let index: RateCardIndex = toml::from_str(&text).map_err(|e| PolicyError::toml(&index_name, &e))?;
        let mut cards = Vec::with_capacity(index.card.len());
        for entry in index.card {
            let (text, name) = source.read(&entry.file)?;
            let effective = Effective::new(Some(entry.effective_from), entry.effective_to);
            cards.push(RateCard::from_csv(&entry.id, &name, &text, entry.currency, effective, &markets)?);
        }
        let rates = RateBook::new(cards).map_err(|e| PolicyError::Invalid(format!("{index_name}: {e}")))?;
        Ok(Self { source, markets, rates, regimes, tiers, profiles, pipeline })
    }

    /// Layers a `--config` file's WABA profiles over the policy defaults.
    pub fn with_config_file(mut self, path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io { path: path.to_owned(), source })?;
        let over = ProfileFile::from_toml(&path.display().to_string(), &text)?;
        self.profiles = self.profiles.layer(over);
        Ok(self)
    }

    /// Layers WABA profiles given as TOML text (`source` names it in errors).
    pub fn with_config_text(mut self, source: &str, text: &str) -> Result<Self, PolicyError> {
        let over = ProfileFile::from_toml(source, text)?;
        self.profiles = self.profiles.layer(over);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_policies_load() {
        let p = Policies::bundled().unwrap();
        assert_eq!(p.rates.cards().len(), 2);
        assert_eq!(p.regimes.all().len(), 4);
        assert_eq!(p.pipeline.plugin.len(), 2);
    }

    #[test]
    fn a_typo_names_the_file_and_key() {
        let err = Policies::bundled()
            .unwrap()
            .with_config_text(
                "my.toml",
                "[waba.W1]\ncurrency = \"USD\"\ntimezone = \"UTC\"\nprimary_country = \"ID\"\ncurency = \"EUR\"\n",
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("my.toml") && err.contains("curency") && err.contains("line 5"), "{err}");
    }
}
