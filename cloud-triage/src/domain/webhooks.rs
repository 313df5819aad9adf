//! The webhook delivery rules, with no I/O: which endpoint takes which
//! event kind, the per-endpoint states of an event (`pending`,
//! `delivered`, `skipped`, `failed`), how one case's events queue behind
//! each other, and what follows an attempt: delivered on a 2xx, else
//! retried after an exponential backoff with jitter until the attempts run
//! out (or at once given up when the stored event cannot be sent at all).
//! The store keeps the states; the notifier sends.

use std::fmt;

/// An event's delivery state at one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookState {
    /// Waiting to be sent (or re-sent).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// The endpoint does not take this event's kind.
    Skipped,
    /// Attempts ran out; the row no longer holds back its case.
    Failed,
}

impl WebhookState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    /// Whether the endpoint owes nothing more for the event.
    pub const fn is_settled(self) -> bool {
        matches!(self, Self::Delivered | Self::Skipped)
    }
}

impl fmt::Display for WebhookState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an endpoint subscribed to `kinds` (`None`: every kind) takes
/// events of `kind`.
pub fn takes(kinds: Option<&[String]>, kind: &str) -> bool {
    kinds.is_none_or(|kinds| kinds.iter().any(|k| k == kind))
}

/// The state a new event starts in at an endpoint subscribed to `kinds`.
pub fn initial_state(kinds: Option<&[String]>, kind: &str) -> WebhookState {
    if takes(kinds, kind) {
        WebhookState::Pending
    } else {
        WebhookState::Skipped
    }
}

/// The queue an event waits in at each endpoint: its case's (events of one
/// case arrive in order; a failing one holds back only its own case), or
/// the shared queue of events about no case.
pub fn queue_of(case_id: Option<i64>) -> String {
    case_id.map(|c| c.to_string()).unwrap_or_default()
}

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// The endpoint acknowledged (2xx).
    Delivered,
    /// It failed; try again at this time (Unix ms).
    RetryAt(i64),
    /// It failed and no attempts are left.
    GiveUp,
}

/// An event's row at an endpoint after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterAttempt {
    /// Its new state.
    pub state: WebhookState,
    /// The next attempt's time, when it changes.
    pub next_attempt_at_ms: Option<i64>,
    /// When it was delivered, if it was.
    pub delivered_at_ms: Option<i64>,
}

impl NextStep {
    /// The row after an attempt made at `at_ms` that led here.
    pub fn row(self, at_ms: i64) -> AfterAttempt {
        let (state, next_attempt_at_ms, delivered_at_ms) = match self {
            Self::Delivered => (WebhookState::Delivered, None, Some(at_ms)),
            Self::RetryAt(at) => (WebhookState::Pending, Some(at), None),
            Self::GiveUp => (WebhookState::Failed, None, None),
        };
        AfterAttempt {
            state,
            next_attempt_at_ms,
            delivered_at_ms,
        }
    }
}

/// How often and how patiently a failed event is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per event and endpoint before it is given up.
    pub max_attempts: u32,
    /// Wait after the first failure, ms; doubles per failure.
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts, ms.
    pub max_backoff_ms: u64,
}

/// Wait before attempt `failures + 1`, ms: `initial · 2^(failures-1)` capped
/// at `max`, of which the upper half is scaled by `jitter` (0..=1).
pub fn backoff_ms(initial: u64, max: u64, failures: u32, jitter: f64) -> u64 {
    let doubling = 1u64 << failures.saturating_sub(1).min(40);
    let full = initial.saturating_mul(doubling).min(max);
    let half = full / 2;
    half + ((full - half) as f64 * jitter.clamp(0.0, 1.0)) as u64
}

/// What follows a failed attempt number `attempt` (from 1) finished at
/// `now_ms`: given up when it was `permanent` (the stored event cannot be
/// sent) or the attempts ran out, else a retry after the backoff (`jitter`
/// in 0..=1).
pub fn after_failure(
    policy: &RetryPolicy,
    attempt: i64,
    permanent: bool,
    jitter: f64,
    now_ms: i64,
) -> NextStep {
    if permanent || attempt >= i64::from(policy.max_attempts) {
        return NextStep::GiveUp;
    }
    let wait = backoff_ms(
        policy.initial_backoff_ms,
        policy.max_backoff_ms,
        u32::try_from(attempt).unwrap_or(u32::MAX),
        jitter,
    );
    NextStep::RetryAt(now_ms.saturating_add(i64::try_from(wait).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        initial_backoff_ms: 1_000,
        max_backoff_ms: 5_000,
    };

    #[test]
    fn an_endpoint_takes_the_kinds_it_names_or_all() {
        let kinds = vec!["breached".to_string()];
        assert!(takes(None, "case_opened"));
        assert!(takes(Some(&kinds), "breached"));
        assert!(!takes(Some(&kinds), "case_opened"));
        assert_eq!(
            initial_state(Some(&kinds), "case_opened"),
            WebhookState::Skipped
        );
        assert_eq!(initial_state(None, "case_opened"), WebhookState::Pending);
    }

    #[test]
    fn states_have_their_stored_names_and_only_two_settle_an_event() {
        let names: Vec<_> = [
            WebhookState::Pending,
            WebhookState::Delivered,
            WebhookState::Skipped,
            WebhookState::Failed,
        ]
        .iter()
        .map(|s| (s.as_str(), s.is_settled()))
        .collect();
        assert_eq!(
            names,
            [
                ("pending", false),
                ("delivered", true),
                ("skipped", true),
                ("failed", false)
            ]
        );
    }

    #[test]
    fn events_queue_by_case() {
        assert_eq!(queue_of(Some(42)), "42");
        assert_eq!(queue_of(None), "");
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() {
        assert_eq!(backoff_ms(1_000, 60_000, 1, 1.0), 1_000);
        assert_eq!(backoff_ms(1_000, 60_000, 1, 0.0), 500);
        assert_eq!(backoff_ms(1_000, 60_000, 3, 1.0), 4_000);
        assert_eq!(backoff_ms(1_000, 60_000, 30, 1.0), 60_000);
        assert_eq!(backoff_ms(1_000, 60_000, u32::MAX, 2.0), 60_000);
        assert_eq!(backoff_ms(u64::MAX, u64::MAX, 64, 1.0), u64::MAX);
    }

    #[test]
    fn a_failure_is_retried_until_the_attempts_run_out() {
        assert_eq!(
            after_failure(&POLICY, 1, false, 1.0, 10_000),
            NextStep::RetryAt(11_000)
        );
        assert_eq!(
            after_failure(&POLICY, 2, false, 0.0, 10_000),
            NextStep::RetryAt(11_000)
        );
        assert_eq!(
            after_failure(&POLICY, 3, false, 1.0, 10_000),
            NextStep::GiveUp
        );
    }

    #[test]
    fn an_event_that_cannot_be_sent_is_given_up_at_once() {
        assert_eq!(after_failure(&POLICY, 1, true, 1.0, 0), NextStep::GiveUp);
    }

    #[test]
    fn each_step_moves_the_row_on() {
        assert_eq!(
            NextStep::Delivered.row(7),
            AfterAttempt {
                state: WebhookState::Delivered,
                next_attempt_at_ms: None,
                delivered_at_ms: Some(7)
            }
        );
        assert_eq!(
            NextStep::RetryAt(99).row(7),
            AfterAttempt {
                state: WebhookState::Pending,
                next_attempt_at_ms: Some(99),
                delivered_at_ms: None
            }
        );
        assert_eq!(NextStep::GiveUp.row(7).state, WebhookState::Failed);
    }
}
