//! # coexist-engine
//!
//! The rating and policy engine behind `coexist`: for each WhatsApp Business
//! message it decides which side sent it, whether it is billable and in which
//! category, which Coexistence rules it breaks, and what it costs, exactly.
//!
//! - [`event`] decodes normalized events and Meta webhook envelopes.
//! - [`policy`] holds the effective-dated data: market map, rate cards,
//!   regimes, tiers, WABA profiles, the plugin pipeline.
//! - [`plugin`] is the wasmtime host for the WASM policy plugins.
//! - [`state`] tracks windows, identities and counters per WABA.
//! - [`rating`] runs context → plugins → [`pricing`].
//! - [`report`] rounds totals per line.
//! - [`finance`] validates rate-card imports, builds invoices and forecasts.
//! - [`lifecycle`] keeps a Coexistence number's state: keep-alive, sync
//!   windows, history progress, throughput admission.
//!
//! ```no_run
//! use std::sync::Arc;
//! use coexist_engine::{event, plugin, policy::Policies, rating::Rater};
//!
//! let policies = Policies::bundled()?.with_config_text(
//!     "inline",
//!     "[waba.W1]\ncurrency = \"USD\"\ntimezone = \"UTC\"\nprimary_country = \"ID\"\n",
//! )?;
//! let runtime = plugin::PluginRuntime::new()?;
//! let pipeline = plugin::Pipeline::load(&runtime, &policies.pipeline, None)?;
//! let mut rater = Rater::new(Arc::new(policies), pipeline);
//! let line = r#"{"id":"m1","waba":"W1","business_number":"+6221555000","user":"+6281234567890",
//!   "direction":"outbound","type":"template","template_category":"marketing","timestamp":"2026-03-10T10:00:00Z"}"#;
//! let events = event::decode_document(line).map_err(|e| format!("{e:?}"))?.messages;
//! let rated = rater.rate(&events).remove(0)?;
//! assert_eq!(rated.cost.unwrap().to_string(), "0.0411");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod decision;
pub mod event;
pub mod finance;
pub mod intern;
pub mod lifecycle;
pub mod phone;
pub mod plugin;
pub mod policy;
pub mod pricing;
pub mod rated;
pub mod rating;
pub mod report;
pub mod state;
pub mod status;
pub mod synthetic;
