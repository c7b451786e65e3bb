//! The rating pipeline: host context → plugin pipeline → pricing, per WABA in
//! timestamp order, with every batch sent to the plugins in one call.

use std::borrow::Borrow;
use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::decision::{BilledCategory, Decision, PricingType};
use crate::event::{Direction, Event, Side, Source, TemplateCategory, WabaId};
use crate::lifecycle::CoexistenceRegistry;
use crate::plugin::{conversation_bits, status_bits, BatchBuilder, Fact, Pipeline, WitRegimeSource};
use crate::policy::{AllowanceScope, Placement, Policies, PricingModel, Regime, WabaProfile};
use crate::pricing::{price, rate_column, PriceInput};
use crate::rated::{RateError, Rated};
use crate::state::{AllowanceKey, MonthKey, UserWindows, WabaState, CONVERSATION_SLOTS, CSW_MS, FEP_MS, FEP_REPLY_MS};

/// Events per plugin call.
pub const BATCH_SIZE: usize = 1024;

/// Days from 0001-01-01 (day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// One message's result.
pub type RateOutcome = Result<Rated, RateError>;

/// A WABA's state after rating, with its results by input index.
type Finished = (WabaId, WabaState, Vec<(usize, RateOutcome)>);

/// Rates events against policies and a plugin pipeline, keeping per-WABA
/// state between calls.
///
/// Within one call, the events of each WABA are applied in timestamp order
/// (ties keep their input order), so the same events shuffled give the same
/// results. Different WABAs are rated in parallel, on rayon's global pool.
pub struct Rater {
    policies: Arc<Policies>,
    pipeline: Pipeline,
    states: HashMap<WabaId, WabaState>,
    threads: usize,
    /// Numbers registered at run time; they win over the profiles' numbers.
    registry: Option<Arc<CoexistenceRegistry>>,
}

impl Rater {
    pub fn new(policies: Arc<Policies>, pipeline: Pipeline) -> Self {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self { policies, pipeline, states: HashMap::new(), threads, registry: None }
    }

    /// Takes the `coexistence` fact of registered numbers from `registry`
    /// (the number registry's), before the WABA profile's numbers.
    pub fn with_registry(mut self, registry: Arc<CoexistenceRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Caps the worker threads used across WABAs (at least 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The policies, shared.
    pub fn policies_arc(&self) -> Arc<Policies> {
        self.policies.clone()
    }

    /// Rates from now on with other policy data (e.g. a rate card imported
    /// at run time). The per-WABA state is kept: it holds windows and
    /// counters, which do not depend on prices.
    pub fn set_policies(&mut self, policies: Arc<Policies>) {
        self.policies = policies;
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Rates from now on with another plugin set (e.g. after a reload); the
    /// WABAs' state is kept.
    pub fn set_pipeline(&mut self, pipeline: Pipeline) {
        self.pipeline = pipeline;
    }

    /// Rates `events` as if they came next, then puts every WABA's state back
    /// as it was: what a dry run answers.
    pub fn rate_dry_run<E: Borrow<Event> + Sync>(&mut self, events: &[E]) -> Vec<RateOutcome> {
        let wabas: Vec<WabaId> = {
            let mut seen: Vec<&WabaId> = events.iter().map(|e| &e.borrow().waba).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.into_iter().cloned().collect()
        };
        for waba in &wabas {
            self.states.entry(waba.clone()).or_default().begin_journal();
        }
        let out = self.rate(events);
        for waba in &wabas {
            if let Some(state) = self.states.get_mut(waba) {
                state.rollback();
            }
        }
        out
    }

    /// A rater with the same policies, plugins and registry, holding a copy
    /// of `wabas`' state: to dry-rate their messages on another thread while
    /// this one goes on.
    pub fn copy_for<'w>(&self, wabas: impl IntoIterator<Item = &'w WabaId>) -> Rater {
        let states = wabas.into_iter().filter_map(|w| self.states.get(w).map(|s| (w.clone(), s.clone()))).collect();
        Rater {
            policies: self.policies.clone(),
            pipeline: self.pipeline.clone(),
            states,
            threads: 1,
            registry: self.registry.clone(),
        }
    }

    /// Journals what rating changes in `waba`'s state from now on, so that
    /// [`Rater::rollback`] can undo it (a group whose write may fail), until
    /// [`Rater::keep`].
    pub fn begin_journal(&mut self, waba: &WabaId) {
        self.states.entry(waba.clone()).or_default().begin_journal();
    }

    /// Keeps what rating changed in `waba` since [`Rater::begin_journal`].
    pub fn keep(&mut self, waba: &WabaId) {
        if let Some(state) = self.states.get_mut(waba) {
            state.keep();
        }
    }

    /// Undoes what rating changed in `waba` since [`Rater::begin_journal`].
    pub fn rollback(&mut self, waba: &WabaId) {
        if let Some(state) = self.states.get_mut(waba) {
            state.rollback();
        }
    }

    /// The state of a WABA, if it has been rated here.
    pub fn state(&self, waba: &WabaId) -> Option<&WabaState> {
        self.states.get(waba)
    }

    /// Takes a WABA's state out; the next event of it starts from nothing
    /// unless [`Rater::put_state`] brings one back.
    pub fn take_state(&mut self, waba: &WabaId) -> Option<WabaState> {
        self.states.remove(waba)
    }

    /// Sets a WABA's state, e.g. a snapshot to re-rate from.
    pub fn put_state(&mut self, waba: WabaId, state: WabaState) {
        self.states.insert(waba, state);
    }

    /// Rates `events` (owned or borrowed); the results come back in input order.
    pub fn rate<E: Borrow<Event> + Sync>(&mut self, events: &[E]) -> Vec<RateOutcome> {
        let mut groups: FxHashMap<&WabaId, Vec<usize>> = FxHashMap::default();
        for (i, e) in events.iter().enumerate() {
            groups.entry(&e.borrow().waba).or_default().push(i);
        }
        let mut work: Vec<(WabaId, Vec<usize>, WabaState)> = groups
            .into_iter()
            .map(|(waba, idx)| {
                let state = self.states.remove(waba).unwrap_or_default();
                (waba.clone(), idx, state)
            })
            .collect();
        // Largest first, so one huge WABA does not start last.
        work.sort_by_key(|(_, idx, _)| std::cmp::Reverse(idx.len()));

        let ctx = Context { policies: &self.policies, pipeline: &self.pipeline, registry: self.registry.as_deref() };
        let mut slots: Vec<Option<RateOutcome>> = vec![None; events.len()];
        let finished: Vec<Finished> = if work.len() <= 1 || self.threads == 1 {
            work.into_iter()
                .map(|(waba, idx, mut state)| {
                    let out = ctx.rate_waba(&waba, &mut state, events, idx);
                    (waba, state, out)
                })
                .collect()
        } else {
            let workers = self.threads.min(work.len());
            let queue = Mutex::new(work);
            let done = Mutex::new(Vec::new());
            // On rayon's pool: its threads live as long as the process, so a
            // call does not pay for new threads (and for wasmtime's
            // per-thread signal stack, mapped and unmapped with each one).
            rayon::scope(|s| {
                for _ in 0..workers {
                    s.spawn(|_| loop {
                        let next = queue.lock().map(|mut q| q.pop()).ok().flatten();
                        let Some((waba, idx, mut state)) = next else { break };
                        let out = ctx.rate_waba(&waba, &mut state, events, idx);
                        if let Ok(mut d) = done.lock() {
                            d.push((waba, state, out));
                        }
                    });
                }
            });
            done.into_inner().unwrap_or_default()
        };
        for (waba, state, out) in finished {
            self.states.insert(waba, state);
            for (i, r) in out {
                slots[i] = Some(r);
            }
        }
        slots
            .into_iter()
            .map(|s| {
                s.unwrap_or_else(|| Err(RateError::new("rating.internal", "a message was not rated (worker lost)")))
            })
            .collect()
    }
}

struct Context<'a> {
    policies: &'a Policies,
    pipeline: &'a Pipeline,
    registry: Option<&'a CoexistenceRegistry>,
}

/// What the host worked out about one message before the plugins run.
struct Prepared<'a> {
    index: usize,
    date: NaiveDate,
    local_day: i32,
    month: MonthKey,
    regime: &'a Regime,
    placement: Placement,
    windows: UserWindows,
    csw_open: bool,
    fep_open: bool,
    allowance_used: u32,
    coexistence: bool,
    auth_intl_eligible: bool,
}

impl<'a> Context<'a> {
    fn rate_waba<E: Borrow<Event>>(
        &self,
        waba: &WabaId,
        state: &mut WabaState,
        events: &[E],
        mut idx: Vec<usize>,
    ) -> Vec<(usize, RateOutcome)> {
        let Some(profile) = self.policies.profiles.profile(&waba.0) else {
            let err = RateError::new(
                "rating.unknown_waba",
                format!("WABA {waba} has no profile; add a [waba.{waba}] section (currency, timezone, primary_country) to the config file"),
            );
            return idx.into_iter().map(|i| (i, Err(err.clone()))).collect();
        };
        idx.sort_by_key(|&i| (events[i].borrow().at, i));
        let mut out = Vec::with_capacity(idx.len());
        for chunk in idx.chunks(BATCH_SIZE) {
            self.rate_chunk(profile, state, events, chunk, &mut out);
        }
        if let Some(last) = idx.last() {
            let now = events[*last].borrow().at.timestamp_millis();
            state.high_water_ms = state.high_water_ms.max(now);
            state.expire_windows(state.high_water_ms);
        }
        out
    }

    fn rate_chunk<E: Borrow<Event>>(
        &self,
        profile: &WabaProfile,
        state: &mut WabaState,
        events: &[E],
        chunk: &[usize],
        out: &mut Vec<(usize, RateOutcome)>,
    ) {
        let tz = profile.timezone;
        let mut prepared = Vec::with_capacity(chunk.len());
        for &i in chunk {
            match self.prepare(profile, tz, state, events[i].borrow(), i) {
                Ok(p) => prepared.push(p),
                Err(e) => out.push((i, Err(e))),
            }
        }
        let mut builder = BatchBuilder::default();
        for p in &prepared {
            builder.push(fact_of(events[p.index].borrow(), p));
        }
        builder.seal();
        let waba = chunk.first().map(|&i| events[i].borrow().waba.0.as_str()).unwrap_or_default();
        let batch = builder.batch(waba, &profile.primary_country);
        let decisions = match self.pipeline.evaluate(&batch) {
            Ok(d) => d,
            Err(e) => {
                let err = RateError::new(e.code(), e.to_string());
                out.extend(prepared.iter().map(|p| (p.index, Err(err.clone()))));
                return;
            }
        };
        let plugins = self.pipeline.versions();
        for (p, decision) in prepared.into_iter().zip(decisions) {
            let e = events[p.index].borrow();
            out.push((p.index, Ok(self.finish(profile, state, e, p, decision, plugins))));
        }
    }

    /// Computes the facts of one message and advances the host state.
    fn prepare(
        &self,
        profile: &WabaProfile,
        tz: Tz,
        state: &mut WabaState,
        e: &Event,
        index: usize,
    ) -> Result<Prepared<'a>, RateError> {
        let date = local_date(e.at, tz);
        let regime = self.policies.regimes.find(date).ok_or_else(|| {
            RateError::new(
                "rating.no_regime",
                format!("no pricing regime is in force on {date} ({}); check regimes.toml", tz.name()),
            )
        })?;
        let placement = self.policies.markets.place_user(&e.user, date).ok_or_else(|| {
            RateError::new("rating.no_user", "the message names no user: neither a phone number nor a BSUID country")
        })?;
        let month = date.year() * 12 + date.month0() as i32;
        state.remember_identities(&e.user);
        let resolved = state.identities.resolve(&e.user);
        if let Some(from) = resolved.merged_from {
            state.remember_all_windows();
            state.merge_users(from, resolved.user);
        }
        let number = state.number_key(&e.business_number);
        state.remember_window((number, resolved.user));
        let at = e.at.timestamp_millis();
        // API traffic moves windows; app-side and history messages never do.
        let api_traffic = e.side == Side::Api && e.source != Source::History;
        let w = state.windows.entry((number, resolved.user)).or_default();
        let mut csw_open = w.csw_open(at);
        let mut fep_open = w.fep_open(at);
        let mut allowance_counted = false;
        // The plugins see the conversations open *before* this message.
        let mut windows = *w;
        let conversation = regime.model == PricingModel::Conversation;
        if api_traffic && e.direction == Direction::Inbound {
            w.csw_until = at + CSW_MS;
            csw_open = true;
            if e.referral {
                w.referral_until = at + FEP_REPLY_MS;
            }
        } else if api_traffic {
            if !fep_open && at < w.referral_until {
                // The business answered a Click-to-WhatsApp arrival in time.
                w.fep_until = at + FEP_MS;
                w.referral_until = 0;
                fep_open = true;
                if conversation {
                    w.close_conversations();
                }
            }
            windows = *w;
            let template = e.template_category.is_some();
            let deliverable = template || csw_open || fep_open;
            if deliverable && !fep_open {
                let category = conversation_category(e.template_category);
                if conversation {
                    if template {
                        if !w.conversation_open(category, at) {
                            w.open_conversation(category, at);
                        }
                    } else if !w.any_conversation_open(at) {
                        w.open_conversation(BilledCategory::Service, at);
                        allowance_counted = regime.service_charged;
                    }
                } else if !template {
                    allowance_counted = regime.service_charged;
                }
            }
        }
        let mut allowance_used = 0;
        if regime.free_allowance > 0 || allowance_counted {
            let key = match regime.allowance_scope {
                AllowanceScope::Waba => AllowanceKey::Waba,
                AllowanceScope::Number => AllowanceKey::Number(number),
            };
            if allowance_counted {
                state.remember_allowance((key, month));
            }
            let counter = state.allowance.entry((key, month)).or_default();
            allowance_used = *counter;
            if allowance_counted {
                *counter += 1;
            }
        }
        let registered = self.registry.and_then(|r| r.in_coexistence(&e.business_number, e.at.timestamp_millis()));
        let coexistence = e.side == Side::App
            || registered
                .unwrap_or_else(|| profile.coexistence_since(&e.business_number).is_some_and(|since| since <= e.at));
        let auth_intl_eligible = profile.auth_international_from.is_some_and(|from| date >= from)
            && !profile.auth_international_exceptions.iter().any(|c| **c == *placement.country);
        Ok(Prepared {
            index,
            date,
            local_day: date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE,
            month,
            regime,
            placement,
            windows,
            csw_open,
            fep_open,
            allowance_used,
            coexistence,
            auth_intl_eligible,
        })
    }

    /// Prices a decided message and counts it toward its volume tier.
    fn finish(
        &self,
        profile: &WabaProfile,
        state: &mut WabaState,
        e: &Event,
        p: Prepared<'_>,
        decision: Decision,
        plugins: &'static [crate::plugin::PluginVersion],
    ) -> Rated {
        let charged = decision.billable && decision.pricing_type == PricingType::Regular;
        let mut tier_position = 0;
        if charged && p.regime.tiered.contains(&decision.category) {
            let column = rate_column(decision.category, p.regime);
            state.remember_tier((p.placement.market, column, p.month));
            let counter = state.tiers.entry((p.placement.market, column, p.month)).or_default();
            *counter += 1;
            tier_position = *counter;
        }
        let input = PriceInput {
            regime: p.regime,
            currency: profile.currency,
            date: p.date,
            tz_name: profile.timezone.name(),
            market: &p.placement.market,
            tier_position,
        };
        let priced = price(&decision, &input, &self.policies.rates, &self.policies.tiers);
        Rated {
            id: e.id.clone(),
            waba: state.waba_name(&e.waba),
            business_number: state.number_name(&e.business_number),
            user: e.user.shared(),
            direction: e.direction,
            side: e.side,
            timestamp: e.at,
            billable: decision.billable,
            category: decision.category,
            pricing_type: decision.pricing_type,
            market: p.placement.market,
            country: p.placement.country,
            currency: profile.currency,
            cost: priced.cost,
            unpriced_reason: priced.unpriced_reason,
            violations: decision.violations,
            regime: p.regime.id,
            rate_card: priced.rate_card,
            tier: priced.tier,
            note: decision.note,
            plugins,
            meta_pricing: None,
        }
    }
}

fn conversation_category(template: Option<TemplateCategory>) -> BilledCategory {
    match template {
        Some(TemplateCategory::Marketing) => BilledCategory::Marketing,
        Some(TemplateCategory::Utility) => BilledCategory::Utility,
        Some(TemplateCategory::Authentication) => BilledCategory::Authentication,
        None => BilledCategory::Service,
    }
}

/// The calendar date of an instant in a time zone.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

fn fact_of<'e>(e: &'e Event, p: &'e Prepared<'_>) -> Fact<'e> {
    let at = e.at.timestamp_millis();
    let mut open = 0u8;
    for (slot, category) in CONVERSATION_SLOTS.iter().enumerate() {
        if at < p.windows.conversation_until[slot] {
            open |= match category {
                BilledCategory::Marketing => conversation_bits::MARKETING,
                BilledCategory::Utility => conversation_bits::UTILITY,
                BilledCategory::Authentication => {
                    conversation_bits::AUTHENTICATION | conversation_bits::AUTHENTICATION_INTERNATIONAL
                }
                BilledCategory::AuthenticationInternational => conversation_bits::AUTHENTICATION_INTERNATIONAL,
                BilledCategory::Service | BilledCategory::None => conversation_bits::SERVICE,
            };
        }
    }
    let mut status = 0u8;
    for (on, bit) in [
        (p.csw_open, status_bits::CSW_OPEN),
        (p.fep_open, status_bits::FEP_OPEN),
        (p.auth_intl_eligible, status_bits::AUTH_INTL_ELIGIBLE),
        (p.coexistence, status_bits::COEXISTENCE),
        (e.source == Source::History, status_bits::HISTORY),
    ] {
        if on {
            status |= bit;
        }
    }
    Fact {
        business_number: &e.business_number,
        user: &e.user,
        kind: &e.kind,
        side: e.side,
        direction: e.direction,
        template_category: e.template_category,
        at_ms: at,
        local_day: p.local_day,
        regime: WitRegimeSource {
            id: p.regime.id,
            model: p.regime.model,
            service_charged: p.regime.service_charged,
            utility_in_window_charged: p.regime.utility_in_window_charged,
            free_allowance: p.regime.free_allowance,
        },
        recipient_country: p.placement.country,
        recipient_market: p.placement.market,
        status,
        open_conversations: open,
        features: e.features,
        allowance_used: p.allowance_used,
    }
}
