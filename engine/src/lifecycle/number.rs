//! One business number's lifecycle state, and what it means at a given time.

use serde::{Deserialize, Serialize};

use super::{HistoryProgress, LifecycleError, LifecycleSettings, DAY_MS, HOUR_MS};

/// Which limit a number's API sends get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThroughputClass {
    /// 20/s in Coexistence, 80/s API-only (the defaults).
    #[default]
    Standard,
    /// A regional deployment with a lower Coexistence cap (5/s by default).
    Regional,
}

/// The two data syncs of an onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    /// `smb_app_state_sync`: the app's contacts.
    Contacts,
    /// `history`: the app's chats.
    History,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Contacts => "contacts",
            SyncKind::History => "history",
        }
    }

    /// Meta's `sync_type` for `POST /<PHONE_NUMBER_ID>/smb_app_data`.
    pub fn meta_sync_type(self) -> &'static str {
        match self {
            SyncKind::Contacts => "smb_app_state_sync",
            SyncKind::History => "history",
        }
    }
}

/// What is stored per number. Times are unix milliseconds (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberState {
    pub waba: String,
    pub coexistence: bool,
    pub throughput_class: ThroughputClass,
    /// The current onboarding (Embedded Signup QR scan).
    pub onboarded_at_ms: i64,
    /// 1 for the first onboarding, +1 for each re-registration after an offboarding.
    pub onboarding: u32,
    /// The latest app-side activity, and what it was (`echo`, `app_state_sync`,
    /// `history`, `app_opened`).
    pub last_app_activity_ms: Option<i64>,
    pub last_app_activity_source: Option<String>,
    pub contacts_sync_requested_ms: Option<i64>,
    pub history_sync_requested_ms: Option<i64>,
    pub history: HistoryProgress,
    pub offboarded_at_ms: Option<i64>,
    /// Companion devices (WhatsApp Web/Desktop) are all unlinked when a number
    /// joins Coexistence: recorded at onboarding.
    pub companions_unlinked_at_ms: Option<i64>,
}

/// Keep-alive status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepAliveStatus {
    Ok,
    Warning,
    Stale,
    /// Not in Coexistence, or offboarded: there is no link to keep alive.
    NotApplicable,
}

/// The keep-alive view of a number at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeepAlive {
    /// The latest app activity; the onboarding itself (done in the app) when none since.
    pub last_app_activity_ms: i64,
    pub source: String,
    /// Whole days since the last app activity.
    pub days_since: i64,
    /// Whole days left before the link goes stale (0 when stale).
    pub days_left: i64,
    /// Whole days past the limit (0 unless stale).
    pub days_stale: i64,
    pub limit_days: u32,
    pub status: KeepAliveStatus,
}

/// Whether a sync was requested in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Requested within the window.
    Requested,
    /// Not requested yet, and the window is still open.
    Open,
    /// Not requested, and the window has closed: offboard and onboard again.
    Missed,
}

/// One sync's status at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub kind: SyncKind,
    pub state: SyncState,
    pub requested_at_ms: Option<i64>,
    pub deadline_ms: i64,
    /// Hours left in the window, while it is open and nothing was requested.
    pub hours_left: Option<f64>,
    /// Hours since the window closed, when missed.
    pub hours_late: Option<f64>,
}

/// A recorded sync request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncRequest {
    pub kind: SyncKind,
    pub requested_at_ms: i64,
    pub deadline_ms: i64,
}

/// Hours as a number with two decimals, for people.
fn hours(ms: i64) -> f64 {
    (ms as f64 / HOUR_MS as f64 * 100.0).round() / 100.0
}

impl NumberState {
    /// A new onboarding at `onboarded_at_ms`. In Coexistence, companion
    /// devices are unlinked at that moment.
    pub fn onboard(waba: &str, coexistence: bool, onboarded_at_ms: i64, class: Option<ThroughputClass>) -> Self {
        Self {
            waba: waba.to_owned(),
            coexistence,
            throughput_class: class.unwrap_or_default(),
            onboarded_at_ms,
            onboarding: 1,
            last_app_activity_ms: None,
            last_app_activity_source: None,
            contacts_sync_requested_ms: None,
            history_sync_requested_ms: None,
            history: HistoryProgress::default(),
            offboarded_at_ms: None,
            companions_unlinked_at_ms: coexistence.then_some(onboarded_at_ms),
        }
    }

    /// Registering again. A number that was offboarded, or registered with a
    /// new onboarding time, starts a new onboarding: new sync windows, new
    /// history, no offboarding. Otherwise only the registration fields change.
    pub fn reregister(
        &self,
        waba: &str,
        coexistence: bool,
        onboarded_at_ms: i64,
        class: Option<ThroughputClass>,
    ) -> Self {
        if self.offboarded_at_ms.is_some() || self.onboarded_at_ms != onboarded_at_ms {
            let mut fresh = Self::onboard(waba, coexistence, onboarded_at_ms, class);
            fresh.onboarding = self.onboarding + 1;
            return fresh;
        }
        let mut same = self.clone();
        same.waba = waba.to_owned();
        if coexistence && !same.coexistence {
            same.companions_unlinked_at_ms = Some(onboarded_at_ms);
        }
        same.coexistence = coexistence;
        same.throughput_class = class.unwrap_or(self.throughput_class);
        same
    }

    /// Whether Coexistence rules apply now.
    pub fn in_coexistence(&self) -> bool {
        self.coexistence && self.offboarded_at_ms.is_none()
    }

    /// Records app activity at `at_ms` (an event time; later wins).
    pub fn app_activity(&mut self, at_ms: i64, source: &str) {
        if self.last_app_activity_ms.is_none_or(|last| at_ms > last) {
            self.last_app_activity_ms = Some(at_ms);
            self.last_app_activity_source = Some(source.to_owned());
        }
    }

    /// `account_update` `ACCOUNT_OFFBOARDED`. The first one counts.
    pub fn offboard(&mut self, at_ms: i64) {
        if self.offboarded_at_ms.is_none() {
            self.offboarded_at_ms = Some(at_ms);
        }
    }

    pub fn keep_alive(&self, settings: &LifecycleSettings, now_ms: i64) -> KeepAlive {
        let (last, source) = match (self.last_app_activity_ms, &self.last_app_activity_source) {
            (Some(at), Some(src)) if at >= self.onboarded_at_ms => (at, src.clone()),
            _ => (self.onboarded_at_ms, "onboarding".to_owned()),
        };
        let limit = i64::from(settings.keep_alive.days) * DAY_MS;
        let elapsed = (now_ms - last).max(0);
        let left = limit - elapsed;
        let status = if !self.in_coexistence() {
            KeepAliveStatus::NotApplicable
        } else if left <= 0 {
            KeepAliveStatus::Stale
        } else if left <= i64::from(settings.keep_alive.warn_days_left) * DAY_MS {
            KeepAliveStatus::Warning
        } else {
            KeepAliveStatus::Ok
        };
        KeepAlive {
            last_app_activity_ms: last,
            source,
            days_since: elapsed / DAY_MS,
            days_left: if left > 0 { (left + DAY_MS - 1) / DAY_MS } else { 0 },
            days_stale: if left < 0 { -left / DAY_MS } else { 0 },
            limit_days: settings.keep_alive.days,
            status,
        }
    }

    fn requested_ms(&self, kind: SyncKind) -> Option<i64> {
        match kind {
            SyncKind::Contacts => self.contacts_sync_requested_ms,
            SyncKind::History => self.history_sync_requested_ms,
        }
    }

    /// The end of the sync window of the current onboarding.
    pub fn sync_deadline_ms(&self, settings: &LifecycleSettings) -> i64 {
        self.onboarded_at_ms + i64::from(settings.sync.window_hours) * HOUR_MS
    }

    pub fn sync_status(&self, settings: &LifecycleSettings, kind: SyncKind, now_ms: i64) -> SyncStatus {
        let deadline = self.sync_deadline_ms(settings);
        let requested = self.requested_ms(kind);
        let state = match requested {
            Some(_) => SyncState::Requested,
            None if now_ms <= deadline => SyncState::Open,
            None => SyncState::Missed,
        };
        SyncStatus {
            kind,
            state,
            requested_at_ms: requested,
            deadline_ms: deadline,
            hours_left: (state == SyncState::Open).then(|| hours(deadline - now_ms)),
            hours_late: (state == SyncState::Missed).then(|| hours(now_ms - deadline)),
        }
    }

    /// Records that `kind` was triggered at `now_ms`, or says why it may not be.
    pub fn request_sync(
        &mut self,
        settings: &LifecycleSettings,
        kind: SyncKind,
        now_ms: i64,
    ) -> Result<SyncRequest, LifecycleError> {
        if let Some(at) = self.offboarded_at_ms {
            return Err(LifecycleError::Offboarded { offboarded_at_ms: at });
        }
        if !self.coexistence {
            return Err(LifecycleError::NotCoexistence);
        }
        let deadline = self.sync_deadline_ms(settings);
        if let Some(at) = self.requested_ms(kind) {
            return Err(LifecycleError::SyncAlreadyRequested { kind, requested_at_ms: at });
        }
        if now_ms > deadline {
            return Err(LifecycleError::SyncWindowMissed {
                kind,
                onboarded_at_ms: self.onboarded_at_ms,
                deadline_ms: deadline,
                window_hours: settings.sync.window_hours,
                hours_late: hours(now_ms - deadline),
            });
        }
        match kind {
            SyncKind::Contacts => self.contacts_sync_requested_ms = Some(now_ms),
            SyncKind::History => self.history_sync_requested_ms = Some(now_ms),
        }
        Ok(SyncRequest { kind, requested_at_ms: now_ms, deadline_ms: deadline })
    }

    /// The API send limit, in messages per second.
    pub fn limit_per_second(&self, settings: &LifecycleSettings) -> u32 {
        let t = &settings.throughput;
        match (self.in_coexistence(), self.throughput_class) {
            (true, ThroughputClass::Regional) => t.regional_per_second,
            (true, ThroughputClass::Standard) => t.coexistence_per_second,
            (false, _) => t.api_per_second,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::KeepAliveStatus::*;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn keep_alive_goes_ok_warning_stale_and_back() {
        let s = LifecycleSettings::default();
        let mut n = NumberState::onboard("W1", true, T0, None);
        let at = |days: i64| n.keep_alive(&s, T0 + days * DAY_MS);
        assert_eq!((at(0).status, at(0).days_left, at(0).source.as_str()), (Ok, 13, "onboarding"));
        assert_eq!((at(10).status, at(10).days_left), (Warning, 3));
        assert_eq!((at(12).status, at(12).days_since, at(12).days_left), (Warning, 12, 1));
        assert_eq!((at(14).status, at(14).days_left, at(14).days_stale), (Stale, 0, 1));
        n.app_activity(T0 + 14 * DAY_MS, "echo");
        n.app_activity(T0 + 2 * DAY_MS, "history");
        let k = n.keep_alive(&s, T0 + 14 * DAY_MS);
        assert_eq!((k.status, k.source.as_str(), k.days_since), (Ok, "echo", 0));
        n.offboard(T0 + 15 * DAY_MS);
        assert_eq!(n.keep_alive(&s, T0 + 40 * DAY_MS).status, NotApplicable);
    }

    #[test]
    fn sync_requests_in_time_late_and_twice() {
        let s = LifecycleSettings::default();
        let mut n = NumberState::onboard("W1", true, T0, None);
        let open = n.sync_status(&s, SyncKind::History, T0 + 6 * HOUR_MS);
        assert_eq!((open.state, open.hours_left), (SyncState::Open, Some(18.0)));
        assert!(n.request_sync(&s, SyncKind::History, T0 + 6 * HOUR_MS).is_ok());
        let again = n.request_sync(&s, SyncKind::History, T0 + 7 * HOUR_MS).unwrap_err();
        assert_eq!(again.code(), "coexistence.sync_already_requested");
        let late = n.request_sync(&s, SyncKind::Contacts, T0 + 30 * HOUR_MS).unwrap_err();
        assert_eq!(late.code(), "coexistence.sync_window_missed");
        assert_eq!(late.details()["hours_late"], 6.0);
        assert_eq!(n.sync_status(&s, SyncKind::Contacts, T0 + 30 * HOUR_MS).state, SyncState::Missed);
        assert_eq!(n.sync_status(&s, SyncKind::History, T0 + 30 * HOUR_MS).state, SyncState::Requested);
    }

    #[test]
    fn reregistering_after_offboarding_starts_a_new_onboarding() {
        let s = LifecycleSettings::default();
        let mut n = NumberState::onboard("W1", true, T0, None);
        n.request_sync(&s, SyncKind::History, T0 + HOUR_MS).unwrap();
        assert_eq!(n.reregister("W1", true, T0, Some(ThroughputClass::Regional)).onboarding, 1);
        n.offboard(T0 + 2 * DAY_MS);
        assert_eq!(n.limit_per_second(&s), 80);
        let again = n.reregister("W1", true, T0 + 3 * DAY_MS, None);
        assert_eq!((again.onboarding, again.history_sync_requested_ms, again.offboarded_at_ms), (2, None, None));
        assert_eq!(again.companions_unlinked_at_ms, Some(T0 + 3 * DAY_MS));
        assert_eq!(again.sync_status(&s, SyncKind::History, T0 + 3 * DAY_MS + HOUR_MS).state, SyncState::Open);
        assert_eq!(again.limit_per_second(&s), 20);
    }
}
