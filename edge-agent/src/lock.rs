//! Locks that outlive a panic.
//!
//! A thread that panics while it holds a `std::sync::Mutex` poisons it, and
//! `lock().expect(..)` then panics in every later caller: one bad message
//! would stop the uplink, the control socket and every capture for good.
//! The state behind our locks stays usable after such a panic — the
//! outbox's truth is its files (a half-done change in memory at worst
//! resends an entry or waits for the next start to find it), and the hub's
//! held events are a plain queue — so [`lock_or_recover`] logs the poison,
//! clears it and goes on, as the cloud's store does with its policy lock.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`; if a thread panicked while holding it, logs that once
/// (`what` names the lock), clears the poison and returns the guard anyway.
pub fn lock_or_recover<'a, T>(mutex: &'a Mutex<T>, what: &'static str) -> MutexGuard<'a, T> {
    mutex.lock().unwrap_or_else(|poisoned| {
        tracing::error!(
            lock = what,
            "a thread panicked while holding this lock; carrying on with its state"
        );
        mutex.clear_poison();
        poisoned.into_inner()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::outbox::{Outbox, QuotaRule};

    /// Panics on another thread while holding `mutex`.
    fn panic_under<T: Send + 'static>(mutex: &Arc<Mutex<T>>) {
        let held = mutex.clone();
        let joined = std::thread::spawn(move || {
            let _guard = lock_or_recover(&held, "test");
            panic!("panic under the lock");
        })
        .join();
        assert!(joined.is_err(), "the thread should have panicked");
    }

    #[test]
    fn a_panic_under_the_lock_does_not_break_later_calls() {
        let counter = Arc::new(Mutex::new(1));
        panic_under(&counter);
        assert!(counter.is_poisoned());
        *lock_or_recover(&counter, "test") += 1;
        assert!(!counter.is_poisoned(), "the poison is cleared");
        assert_eq!(*lock_or_recover(&counter, "test"), 2);
    }

    #[test]
    fn the_outbox_works_after_a_panic_under_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (outbox, _) = Outbox::open_shared(dir.path(), 1 << 20, QuotaRule::Refuse).unwrap();
        let message = qloop_protocol::encode(&qloop_protocol::Message::Satisfaction(
            qloop_protocol::SatisfactionReply {
                vin: "5YJ3E1EA7KF000001".into(),
                case_number: 1,
                score: 5,
                comment: None,
                answered_at_ms: 1,
            },
        ));
        let first = lock_or_recover(&outbox, "outbox").commit(&message).unwrap();
        panic_under(&outbox);
        let mut open = lock_or_recover(&outbox, "outbox");
        let second = open.commit(&message).unwrap();
        assert_eq!(open.pending().collect::<Vec<_>>(), vec![first, second]);
        assert_eq!(open.read(first).unwrap(), message);
        assert!(open.remove(first).unwrap());
        assert_eq!(open.len(), 1);
    }
}
