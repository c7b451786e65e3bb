//! Why a lifecycle request is refused: a stable code, a sentence, and the
//! numbers behind it.

use serde_json::{json, Value};

use super::SyncKind;

/// A refused lifecycle request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "the {} sync was not requested within {window_hours} h of onboarding; it is {hours_late} h late. \
         The business must offboard and onboard again to get a new window",
        kind.as_str()
    )]
    SyncWindowMissed { kind: SyncKind, onboarded_at_ms: i64, deadline_ms: i64, window_hours: u32, hours_late: f64 },
    #[error("the {} sync was already requested for this onboarding; Meta allows each sync type once", kind.as_str())]
    SyncAlreadyRequested { kind: SyncKind, requested_at_ms: i64 },
    #[error("the number was offboarded; register it again to start a new onboarding")]
    Offboarded { offboarded_at_ms: i64 },
    #[error("the number is not in Coexistence, so it has no app-side data to sync")]
    NotCoexistence,
    #[error("{file}: {message}")]
    Settings { file: String, message: String },
}

impl LifecycleError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LifecycleError::SyncWindowMissed { .. } => "coexistence.sync_window_missed",
            LifecycleError::SyncAlreadyRequested { .. } => "coexistence.sync_already_requested",
            LifecycleError::Offboarded { .. } => "coexistence.offboarded",
            LifecycleError::NotCoexistence => "coexistence.not_coexistence",
            LifecycleError::Settings { .. } => "settings.invalid",
        }
    }

    /// The numbers behind the refusal.
    pub fn details(&self) -> Value {
        let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339());
        match self {
            LifecycleError::SyncWindowMissed { kind, onboarded_at_ms, deadline_ms, window_hours, hours_late } => {
                json!({
                    "type": kind, "onboarded_at": time(*onboarded_at_ms), "deadline": time(*deadline_ms),
                    "window_hours": window_hours, "hours_late": hours_late,
                    "remedy": "offboard and onboard again",
                })
            }
            LifecycleError::SyncAlreadyRequested { kind, requested_at_ms } => {
                json!({ "type": kind, "requested_at": time(*requested_at_ms) })
            }
            LifecycleError::Offboarded { offboarded_at_ms } => json!({ "offboarded_at": time(*offboarded_at_ms) }),
            LifecycleError::NotCoexistence => json!({ "coexistence": false }),
            LifecycleError::Settings { file, .. } => json!({ "file": file }),
        }
    }
}
