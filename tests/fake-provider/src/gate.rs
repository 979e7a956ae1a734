//! Held answers: `/_control/hold` makes the next matching requests wait before they are answered, with
//! their answer already made from the provider's state when they arrived, until `/_control/release`.
//! A test uses it to have a page "in flight" (read by the provider, not yet received by the client)
//! while it changes the data, as a slow network would, and to release it at a point of its choosing.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an answer is held at most when no release comes (the test that held it has failed).
pub const HOLD_LIMIT: Duration = Duration::from_secs(120);

/// Longest wait `/_control/held?wait_ms=` accepts.
pub const MAX_WAIT_MS: u64 = 60_000;

#[derive(Debug, Default)]
struct Held {
    /// Answers waiting now.
    waiting: u64,
    /// Answers held since the last reset (waiting or released).
    total: u64,
    /// Incremented by every release: an answer waits while the number it saw is current.
    releases: u64,
}

#[derive(Debug, Default)]
pub struct Gate {
    held: Mutex<Held>,
    changed: Condvar,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hold the calling request's answer until the next release (or `HOLD_LIMIT`).
    pub fn wait(&self) {
        let start = Instant::now();
        let mut held = self.lock();
        let release = held.releases;
        held.waiting += 1;
        held.total += 1;
        self.changed.notify_all();
        while held.releases == release {
            let Some(left) = HOLD_LIMIT.checked_sub(start.elapsed()) else { break };
            held = self.changed.wait_timeout(held, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        held.waiting -= 1;
        self.changed.notify_all();
    }

    /// Release every answer held now; returns how many.
    pub fn release(&self) -> u64 {
        let mut held = self.lock();
        held.releases += 1;
        self.changed.notify_all();
        held.waiting
    }

    /// Wait up to `wait` until at least `at_least` answers were held since the last reset; returns
    /// (waiting now, held in all).
    pub fn held(&self, at_least: u64, wait: Duration) -> (u64, u64) {
        let start = Instant::now();
        let mut held = self.lock();
        while held.total < at_least {
            let Some(left) = wait.checked_sub(start.elapsed()) else { break };
            held = self.changed.wait_timeout(held, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        (held.waiting, held.total)
    }

    /// Release what is held and start counting again.
    pub fn reset(&self) {
        let mut held = self.lock();
        held.releases += 1;
        held.total = 0;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_held_answer_waits_for_the_release() {
        let gate = Arc::new(Gate::default());
        assert_eq!(gate.held(1, Duration::from_millis(10)), (0, 0), "nothing held: the wait times out");
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.wait())
        };
        assert_eq!(gate.held(1, Duration::from_secs(10)), (1, 1));
        assert!(!waiter.is_finished());
        assert_eq!(gate.release(), 1);
        waiter.join().unwrap();
        assert_eq!(gate.held(1, Duration::ZERO), (0, 1), "released, still counted until a reset");
        gate.reset();
        assert_eq!(gate.held(0, Duration::ZERO), (0, 0));
    }

    #[test]
    fn a_release_lets_only_the_answers_held_before_it_go() {
        let gate = Arc::new(Gate::default());
        gate.release();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.wait())
        };
        assert_eq!(gate.held(1, Duration::from_secs(10)).0, 1, "an earlier release does not let it through");
        gate.reset();
        waiter.join().unwrap();
    }
}
