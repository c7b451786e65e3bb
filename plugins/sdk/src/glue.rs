//! [`wit_glue!`]: the conversions between a plugin's generated bindings and the SDK.

/// Expands, in the calling plugin, to a module `wit_glue` that converts between
/// the plugin's generated bindings and the SDK's types. Pass the absolute path
/// of the generated `policy` interface:
///
/// ```ignore
/// wit_bindgen::generate!({ path: "../wit", world: "plugin" });
/// coexist_plugin_sdk::wit_glue!(crate::exports::coexist::policy::policy);
///
/// fn evaluate(batch: Batch, so_far: Decisions) -> Decisions {
///     wit_glue::evaluate(&batch, so_far, |columns, out| rules::evaluate(&settings, columns, out))
/// }
/// ```
///
/// Every plugin generates its own bindings (each must `export!` its own guest),
/// so their types differ by crate but not by shape; a macro converts them all.
/// The columns are borrowed, not copied; only the regimes (a handful per batch)
/// and the violations and notes so far are converted.
#[macro_export]
macro_rules! wit_glue {
    ($($wit:tt)+) => {
        /// Conversions between the generated bindings and `coexist_plugin_sdk`
        /// (expanded from `coexist_plugin_sdk::wit_glue!`).
        #[allow(dead_code)]
        mod wit_glue {
            use $($wit)+ as wit;
            use $crate as sdk;

            /// Runs `rules` over `batch`, amending `so_far`: one decision per message.
            pub fn evaluate(
                batch: &wit::Batch,
                so_far: wit::Decisions,
                rules: impl FnOnce(&sdk::Columns<'_>, &mut sdk::DecisionsBuilder),
            ) -> wit::Decisions {
                let regimes: Vec<sdk::Regime> = batch.regimes.iter().map(regime).collect();
                let columns = columns(batch, &regimes);
                let mut out = sdk::DecisionsBuilder::new(decisions_from_wit(so_far), columns.len());
                rules(&columns, &mut out);
                decisions_to_wit(out.finish())
            }

            pub fn regime(r: &wit::Regime) -> sdk::Regime {
                sdk::Regime {
                    id: r.id,
                    model: match r.model {
                        wit::PricingModel::Conversation => sdk::PricingModel::Conversation,
                        wit::PricingModel::PerMessage => sdk::PricingModel::PerMessage,
                    },
                    service_charged: r.service_charged,
                    utility_in_window_charged: r.utility_in_window_charged,
                    free_allowance: r.free_allowance,
                }
            }

            /// The borrowed view of `batch`, with its regimes already converted.
            pub fn columns<'a>(batch: &'a wit::Batch, regimes: &'a [sdk::Regime]) -> sdk::Columns<'a> {
                sdk::Columns {
                    waba: &batch.waba,
                    business_country: &batch.business_country,
                    symbols: sdk::Symbols::new(&batch.symbols.text, &batch.symbols.ends),
                    regimes,
                    business_number: &batch.business_number,
                    user: &batch.user,
                    kind: &batch.kind,
                    side: &batch.side,
                    direction: &batch.direction,
                    template_category: &batch.template_category,
                    at_ms: &batch.at_ms,
                    local_day: &batch.local_day,
                    regime: &batch.regime,
                    recipient_country: &batch.recipient_country,
                    recipient_market: &batch.recipient_market,
                    status: &batch.status,
                    open_conversations: &batch.open_conversations,
                    features: &batch.features,
                    allowance_used: &batch.allowance_used,
                }
            }

            pub fn action_from_wit(action: wit::Action) -> sdk::Action {
                match action {
                    wit::Action::Allow => sdk::Action::Allow,
                    wit::Action::Flag => sdk::Action::Flag,
                    wit::Action::Block => sdk::Action::Block,
                }
            }

            pub fn action_to_wit(action: sdk::Action) -> wit::Action {
                match action {
                    sdk::Action::Allow => wit::Action::Allow,
                    sdk::Action::Flag => wit::Action::Flag,
                    sdk::Action::Block => wit::Action::Block,
                }
            }

            pub fn decisions_from_wit(d: wit::Decisions) -> sdk::Decisions {
                sdk::Decisions {
                    billable: d.billable,
                    category: d.category,
                    pricing_type: d.pricing_type,
                    violations: d
                        .violations
                        .into_iter()
                        .map(|v| sdk::Violation {
                            message: v.message,
                            code: v.code,
                            feature: v.feature,
                            text: v.text,
                            action: action_from_wit(v.action),
                        })
                        .collect(),
                    notes: d.notes.into_iter().map(|n| sdk::Note { message: n.message, text: n.text }).collect(),
                }
            }

            pub fn decisions_to_wit(d: sdk::Decisions) -> wit::Decisions {
                wit::Decisions {
                    billable: d.billable,
                    category: d.category,
                    pricing_type: d.pricing_type,
                    violations: d
                        .violations
                        .into_iter()
                        .map(|v| wit::Violation {
                            message: v.message,
                            code: v.code,
                            feature: v.feature,
                            text: v.text,
                            action: action_to_wit(v.action),
                        })
                        .collect(),
                    notes: d.notes.into_iter().map(|n| wit::Note { message: n.message, text: n.text }).collect(),
                }
            }

            /// The generated batch holding `batch`'s columns (for tests).
            pub fn batch_to_wit(batch: &sdk::OwnedBatch) -> wit::Batch {
                wit::Batch {
                    waba: batch.waba.clone(),
                    business_country: batch.business_country.clone(),
                    symbols: wit::Symbols { text: batch.symbol_text.clone(), ends: batch.symbol_ends.clone() },
                    regimes: batch
                        .regimes
                        .iter()
                        .map(|r| wit::Regime {
                            id: r.id,
                            model: match r.model {
                                sdk::PricingModel::Conversation => wit::PricingModel::Conversation,
                                sdk::PricingModel::PerMessage => wit::PricingModel::PerMessage,
                            },
                            service_charged: r.service_charged,
                            utility_in_window_charged: r.utility_in_window_charged,
                            free_allowance: r.free_allowance,
                        })
                        .collect(),
                    business_number: batch.business_number.clone(),
                    user: batch.user.clone(),
                    kind: batch.kind.clone(),
                    side: batch.side.clone(),
                    direction: batch.direction.clone(),
                    template_category: batch.template_category.clone(),
                    at_ms: batch.at_ms.clone(),
                    local_day: batch.local_day.clone(),
                    regime: batch.regime.clone(),
                    recipient_country: batch.recipient_country.clone(),
                    recipient_market: batch.recipient_market.clone(),
                    status: batch.status.clone(),
                    open_conversations: batch.open_conversations.clone(),
                    features: batch.features.clone(),
                    allowance_used: batch.allowance_used.clone(),
                }
            }
        }
    };
}
