//! Client-side rate limits: a token bucket per key (a server's base URL, or its search endpoint),
//! shared by the statements and helper threads of one database session. A request takes a token; when
//! none is left it waits for one instead of sending and collecting a 429. Sessions do not share buckets
//! (see docs/sql.md: several sessions on one account add up).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use crate::connector::model::RateLimitDef;

struct Bucket {
    /// Tokens available now; negative when requests have reserved tokens not yet refilled.
    tokens: f64,
    last: Instant,
}

static BUCKETS: Lazy<Mutex<HashMap<String, Bucket>>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// The share of each limit this process may use, as f64 bits (1.0 unless a mirror refresh set less, so
/// that syncing leaves budget for the users' own queries).
static SHARE: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000);

/// Use `share` (0 < share <= 1) of every limit from now on in this process.
pub fn set_share(share: f64) {
    let share = if share.is_finite() { share.clamp(0.01, 1.0) } else { 1.0 };
    SHARE.store(share.to_bits(), Ordering::Relaxed);
}

fn share() -> f64 {
    f64::from_bits(SHARE.load(Ordering::Relaxed))
}

/// `limit` scaled to this process's share: fewer requests per second and a smaller burst.
fn scaled(limit: &RateLimitDef) -> RateLimitDef {
    scaled_by(limit, share())
}

fn scaled_by(limit: &RateLimitDef, share: f64) -> RateLimitDef {
    RateLimitDef { per_second: limit.per_second * share, burst: ((limit.burst as f64 * share).floor() as u32).max(1) }
}

/// How long a request made now must wait under `limit` for bucket `key`; takes its token.
pub fn reserve(key: &str, limit: &RateLimitDef) -> Duration {
    reserve_at(key, &scaled(limit), Instant::now())
}

fn reserve_at(key: &str, limit: &RateLimitDef, now: Instant) -> Duration {
    let mut buckets = BUCKETS.lock().unwrap_or_else(|p| p.into_inner());
    let burst = limit.burst.max(1) as f64;
    let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: burst, last: now });
    let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(burst);
    bucket.last = now;
    bucket.tokens -= 1.0;
    if bucket.tokens >= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(-bucket.tokens / limit.per_second)
    }
}

/// Wait for a token of bucket `key`; false when abandoned meanwhile (the statement was cancelled).
pub fn acquire(key: &str, limit: &RateLimitDef, abandoned: &AtomicBool) -> bool {
    crate::http::wait::sleep(reserve(key, limit), abandoned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_share_scales_the_rate_and_the_burst() {
        let limit = RateLimitDef { per_second: 10.0, burst: 10 };
        let half = scaled_by(&limit, 0.5);
        assert_eq!((half.per_second, half.burst), (5.0, 5));
        let tiny = scaled_by(&RateLimitDef { per_second: 4.0, burst: 1 }, 0.25);
        assert_eq!((tiny.per_second, tiny.burst), (1.0, 1), "the burst never drops below one request");
        assert_eq!(scaled_by(&limit, 1.0), limit);
    }

    #[test]
    fn a_burst_goes_at_once_then_requests_are_spaced() {
        let limit = RateLimitDef { per_second: 4.0, burst: 2 };
        let t0 = Instant::now();
        let key = "test:burst";
        assert_eq!(reserve_at(key, &limit, t0), Duration::ZERO);
        assert_eq!(reserve_at(key, &limit, t0), Duration::ZERO);
        // The third and fourth requests at the same instant wait one and two refill periods.
        assert_eq!(reserve_at(key, &limit, t0), Duration::from_millis(250));
        assert_eq!(reserve_at(key, &limit, t0), Duration::from_millis(500));
        // A second later the debt (2 tokens) is repaid and 2 more refilled (capped at the burst).
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(reserve_at(key, &limit, t1), Duration::ZERO);
        assert_eq!(reserve_at(key, &limit, t1), Duration::ZERO);
        assert_eq!(reserve_at(key, &limit, t1), Duration::from_millis(250));
    }

    #[test]
    fn buckets_are_separate_per_key() {
        let limit = RateLimitDef { per_second: 1.0, burst: 1 };
        let t0 = Instant::now();
        assert_eq!(reserve_at("test:a", &limit, t0), Duration::ZERO);
        assert_eq!(reserve_at("test:b", &limit, t0), Duration::ZERO);
        assert_eq!(reserve_at("test:a", &limit, t0), Duration::from_secs(1));
    }

    #[test]
    fn acquire_stops_when_abandoned() {
        let limit = RateLimitDef { per_second: 0.1, burst: 1 };
        let abandoned = AtomicBool::new(false);
        assert!(acquire("test:abandon", &limit, &abandoned));
        abandoned.store(true, Ordering::Relaxed);
        assert!(!acquire("test:abandon", &limit, &abandoned), "a 10 s wait is cut short");
    }

    #[test]
    fn limits_parse_from_server_options() {
        assert_eq!(RateLimitDef::parse("5/s"), Some(RateLimitDef { per_second: 5.0, burst: 1 }));
        assert_eq!(RateLimitDef::parse("120/min"), Some(RateLimitDef { per_second: 2.0, burst: 1 }));
        assert_eq!(RateLimitDef::parse(" 0.5 / s "), Some(RateLimitDef { per_second: 0.5, burst: 1 }));
        for bad in ["5", "0/s", "-1/s", "5/day", "x/s", "inf/s"] {
            assert_eq!(RateLimitDef::parse(bad), None, "{bad}");
        }
    }
}
