//! Per-second rate limits (HubSpot's searches, Airtable's requests per base): a sliding window of the
//! requests accepted within the last second.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// When the requests of the last second were accepted.
#[derive(Debug, Default)]
pub struct PerSecond {
    accepted: VecDeque<Instant>,
}

impl PerSecond {
    /// Accepts a request arriving at `now` unless `limit` requests were accepted in the second before it.
    pub fn accept(&mut self, now: Instant, limit: u64) -> bool {
        while self.accepted.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            self.accepted.pop_front();
        }
        if self.accepted.len() as u64 >= limit {
            return false;
        }
        self.accepted.push_back(now);
        true
    }

    /// Forgets the requests accepted so far.
    pub fn clear(&mut self) {
        self.accepted.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sliding_second() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = PerSecond::default();
        assert!(w.accept(t0, 2));
        assert!(w.accept(t0 + ms(400), 2));
        assert!(!w.accept(t0 + ms(999), 2), "a third within the second is refused");
        assert!(w.accept(t0 + ms(1000), 2), "the first left the window");
        assert!(!w.accept(t0 + ms(1001), 2));
        w.clear();
        assert!(w.accept(t0 + ms(1002), 2));
        assert!(!PerSecond::default().accept(t0, 0));
    }
}
