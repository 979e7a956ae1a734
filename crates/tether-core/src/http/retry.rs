//! Retries: what a failed exchange means and whether sending it again is safe.
//!
//! - 429: the provider did not process the request, so any method is retried, after the Retry-After it
//!   asks for (or a backoff), unless that is longer than `max_retry_wait`.
//! - Connection failures before anything was sent (connect, DNS, TLS): retried for any method.
//! - 5xx, resets and read timeouts: the request may have been processed. GET, PUT, PATCH and DELETE are
//!   retried with jittered exponential backoff. A POST is retried only when the connector declares an
//!   idempotency header: Tether sends one fresh key per write and the same key on every attempt, so the
//!   provider carries it out once. Otherwise the outcome is unknown and the error says so (08007).
//!
//! Waits happen on the helper thread in short slices; when the backend stops waiting (the statement was
//! cancelled) `abandoned` is set and no further attempt is made, so a cancelled write is never sent
//! again behind the user's back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::connector::model::RateLimitDef;
use crate::connector::template;
use crate::error::TetherError;
use crate::http::endpoint::RetryPolicy;
use crate::http::oauth;
use crate::http::wait::sleep;
use crate::http::{limit, provider_error, send_once, Endpoint, HttpResponse};

/// A request and its body, sent as many times as the policy allows.
pub struct Call<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Body and content type.
    pub body: Option<(&'a [u8], &'a str)>,
    /// Headers of this request (besides the server's and the credentials).
    pub headers: &'a [(String, String)],
    /// The request only reads (a search sent as POST): it is always safe to send again.
    pub read_only: bool,
    /// A rate limit of this endpoint besides the server's (HubSpot search): bucket key and limit.
    pub limit: Option<&'a (String, RateLimitDef)>,
    /// Return the provider's last answer whatever its status (after the retries the rules allow)
    /// instead of the error that describes it: `tether.request(..., raw => true)`.
    pub raw: bool,
}

impl<'a> Call<'a> {
    pub fn get(url: &'a str) -> Call<'a> {
        Call { method: "GET", url, body: None, headers: &[], read_only: true, limit: None, raw: false }
    }
}

/// Send `call`, retrying as the module documentation says. A 2xx answer is Ok; anything else is the
/// error that describes it.
pub fn execute(endpoint: &Endpoint, call: &Call, abandoned: &AtomicBool) -> Result<HttpResponse, TetherError> {
    let shown = format!("{} {}", call.method, template::display_path(call.url));
    let is_post = call.method.eq_ignore_ascii_case("POST");
    let mut headers: Vec<(String, String)> = call.headers.to_vec();
    let keyed = endpoint.idempotency_header.as_ref().filter(|_| is_post && !call.read_only);
    // A key the caller chose (the same on every run of a job) is kept: it makes the write once-only
    // across statements too, not only across the retries of this one.
    if let Some(h) = keyed.filter(|h| !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(h))) {
        headers.push((h.clone(), idempotency_key()));
    }
    // May this request be sent again after it possibly reached the provider?
    let replayable = !is_post || keyed.is_some() || call.read_only;
    let policy = endpoint.retry;
    let mut attempt: u32 = 0;
    let mut renewed_token = false;
    loop {
        if abandoned.load(Ordering::Relaxed) {
            return Err(TetherError::Internal("request abandoned: the statement stopped waiting".into()));
        }
        for (key, limit) in endpoint.rate_limit.iter().chain(call.limit.filter(|_| endpoint.pacing)) {
            if !limit::acquire(key, limit, abandoned) {
                return Err(TetherError::Internal("request abandoned: the statement stopped waiting".into()));
            }
        }
        attempt += 1;
        let retries_left = attempt <= policy.max_retries;
        let wait = match send_once(endpoint, call.method, call.url, call.body, &headers) {
            Ok(resp) if (200..300).contains(&resp.status) => return Ok(resp),
            // An OAuth2 access token the API refuses (expired early, revoked): get a new one and send
            // again, once. The request was not carried out, so this is safe for any method.
            Ok(resp) if resp.status == 401 && endpoint.credentials.is_oauth() && !renewed_token => {
                if let Some(cfg) = endpoint.credentials.oauth() {
                    oauth::invalidate(cfg);
                }
                renewed_token = true;
                attempt -= 1;
                continue;
            }
            Ok(resp) if resp.status == 429 => {
                let asked = retry_after(&resp).or_else(|| connector_wait(endpoint, &resp));
                let wait = asked.unwrap_or_else(|| backoff(policy, attempt));
                if !retries_left || wait > policy.max_wait {
                    if call.raw {
                        return Ok(resp);
                    }
                    return Err(gave_up(endpoint, &shown, &resp, attempt, asked, policy));
                }
                wait
            }
            Ok(resp) if resp.status >= 500 && call.raw && (!replayable || !retries_left) => return Ok(resp),
            Ok(resp) if resp.status >= 500 => {
                if !replayable {
                    return Err(unknown_outcome(
                        endpoint,
                        &shown,
                        &format!("the provider answered HTTP {}", resp.status),
                        Some(&resp),
                    ));
                }
                if !retries_left {
                    return Err(gave_up(endpoint, &shown, &resp, attempt, None, policy));
                }
                backoff(policy, attempt)
            }
            Ok(resp) if call.raw => return Ok(resp),
            Ok(resp) => return Err(provider_error(endpoint, &shown, &resp)),
            Err(TetherError::Transport { connect: true, .. }) if retries_left => backoff(policy, attempt),
            Err(TetherError::Transport { connect: false, message, .. }) if !replayable => {
                return Err(unknown_outcome(endpoint, &shown, &message, None));
            }
            Err(TetherError::Transport { connect: false, .. }) if retries_left => backoff(policy, attempt),
            Err(e) => return Err(with_attempts(e, attempt)),
        };
        if !sleep(wait, abandoned) {
            return Err(TetherError::Internal("request abandoned: the statement stopped waiting".into()));
        }
    }
}

/// Exponential backoff with jitter: a random wait in [d/2, d] where d = base * 2^(attempt-1), capped by
/// max_wait.
fn backoff(policy: RetryPolicy, attempt: u32) -> Duration {
    let exp = policy.base_backoff.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
    let d = exp.min(policy.max_wait);
    let half = d / 2;
    let jitter = random_u64() % (half.as_micros().max(1) as u64 + 1);
    half + Duration::from_micros(jitter)
}

/// The wait a 429 asks for in the connector's own header (BigCommerce `X-Rate-Limit-Time-Reset-Ms`).
fn connector_wait(endpoint: &Endpoint, resp: &HttpResponse) -> Option<Duration> {
    let def = endpoint.retry_after.as_ref()?;
    let n: f64 = resp.header(&def.header)?.trim().parse().ok().filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let secs = match def.unit {
        crate::connector::model::TimeUnit::Seconds => n,
        crate::connector::model::TimeUnit::Milliseconds => n / 1000.0,
    };
    Some(Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The wait a 429 (or 503) asks for: `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(resp: &HttpResponse) -> Option<Duration> {
    let value = resp.header("retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let at = parse_http_date(value)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Duration::from_secs((at - now).max(0) as u64))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 IMF-fixdate) to Unix seconds.
fn parse_http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: i64 = parts[1].parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == parts[2])? as i64
        + 1;
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<i64> = parts[4].split(':').map(|x| x.parse().ok()).collect::<Option<Vec<_>>>()?;
    if hms.len() != 3 {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    let pg_micros = crate::connector::mapping::parse_date_or_timestamp(&date)?;
    let unix_days_offset = 10_957 * 86_400;
    Some(pg_micros / 1_000_000 + unix_days_offset + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

/// " (after N attempts)" when the request was retried. Waits are not shown: they vary with jitter.
fn attempts_text(attempt: u32) -> String {
    if attempt <= 1 {
        String::new()
    } else {
        format!(" (after {attempt} attempts)")
    }
}

/// The error once retries are exhausted (or a Retry-After is too long).
fn gave_up(
    endpoint: &Endpoint,
    shown: &str,
    resp: &HttpResponse,
    attempt: u32,
    asked: Option<Duration>,
    policy: RetryPolicy,
) -> TetherError {
    let mut err = provider_error(endpoint, shown, resp);
    if let TetherError::Provider { detail, hint, .. } = &mut err {
        detail.push_str(&attempts_text(attempt));
        if let Some(asked) = asked.filter(|a| *a > policy.max_wait) {
            *hint = Some(format!(
                "the provider asked to wait {}s before retrying, longer than max_retry_wait ({}s); raise the server option max_retry_wait or try later",
                asked.as_secs(),
                policy.max_wait.as_secs()
            ));
        }
    }
    err
}

fn with_attempts(err: TetherError, attempt: u32) -> TetherError {
    match err {
        TetherError::Transport { connector, message, detail, connect } if attempt > 1 => {
            TetherError::Transport { connector, message, detail: format!("{detail} ({attempt} attempts)"), connect }
        }
        other => other,
    }
}

/// A create (POST without idempotency key) that failed after it may have reached the provider.
fn unknown_outcome(endpoint: &Endpoint, shown: &str, what: &str, resp: Option<&HttpResponse>) -> TetherError {
    let detail = match resp {
        Some(r) => provider_error(endpoint, shown, r).detail().unwrap_or_default().to_string(),
        None => format!("while sending {shown} to server \"{}\"", endpoint.server_name),
    };
    TetherError::OutcomeUnknown {
        connector: endpoint.connector.clone(),
        message: format!("{shown} failed ({what}); the provider may or may not have carried it out"),
        detail,
        hint: "Tether does not resend a create without an idempotency key, so as not to create it twice: \
               check whether the record exists before running the statement again \
               (or set the server option idempotency_header if the API supports one)"
            .to_string(),
    }
}

/// A fresh idempotency key (a random UUID).
pub fn idempotency_key() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: getrandom writes at most buf.len() bytes into buf.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    if n == buf.len() as isize {
        return u64::from_ne_bytes(buf);
    }
    // getrandom is always there on Linux 3.17+; fall back to the clock just in case.
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    t ^ (std::process::id() as u64).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(retry_after(&resp(429, &[("Retry-After", "3")])), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&resp(429, &[("retry-after", "0.5")])), Some(Duration::from_millis(500)));
        assert_eq!(retry_after(&resp(429, &[])), None);
        assert_eq!(retry_after(&resp(429, &[("Retry-After", "soon")])), None);
        assert_eq!(retry_after(&resp(429, &[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")])), Some(Duration::ZERO));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p =
            RetryPolicy { max_retries: 5, max_wait: Duration::from_secs(2), base_backoff: Duration::from_millis(100) };
        for _ in 0..50 {
            let b1 = backoff(p, 1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100), "{b1:?}");
            let b3 = backoff(p, 3);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400), "{b3:?}");
            assert!(backoff(p, 12) <= Duration::from_secs(2));
        }
    }

    #[test]
    fn keys_are_uuid_shaped_and_distinct() {
        let (a, b) = (idempotency_key(), idempotency_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
    }

    use crate::connector;
    use crate::connector::options::Options;
    use crate::connector::server::resolve_server;
    use crate::http::testing::{ok, scripted, status};
    use crate::http::{test_defaults, Credentials};
    use std::net::TcpListener;
    use std::sync::Arc;

    fn endpoint(url: &str, idempotency: Option<&str>) -> Endpoint {
        let mut opts: Options =
            [("connector", "rest"), ("base_url", url)].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(h) = idempotency {
            opts.insert("idempotency_header".into(), h.into());
        }
        let server = resolve_server(&opts, connector::find).unwrap();
        Arc::try_unwrap(Endpoint::new(&server, "s", Credentials::none(), test_defaults())).unwrap()
    }

    fn run(url: &str, method: &str, idempotency: Option<&str>) -> Result<HttpResponse, TetherError> {
        let e = endpoint(url, idempotency);
        let target = format!("{url}/items");
        let body = br#"{"name":"x"}"#;
        execute(
            &e,
            &Call {
                method,
                url: &target,
                body: Some((body, "application/json")),
                headers: &[],
                read_only: false,
                limit: None,
                raw: false,
            },
            &AtomicBool::new(false),
        )
    }

    #[test]
    fn get_is_retried_after_5xx() {
        let (url, seen) = scripted(&[&status(500, ""), &status(503, ""), &ok("[]")]);
        assert_eq!(run(&url, "GET", None).unwrap().status, 200);
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn retries_are_bounded() {
        let (url, seen) = scripted(&[&status(500, ""), &status(500, ""), &status(500, ""), &ok("[]")]);
        let e = run(&url, "PATCH", None).unwrap_err();
        assert_eq!(e.sqlstate().code(), "08006");
        assert!(e.detail().unwrap().contains("after 3 attempts"), "{:?}", e.detail());
        assert_eq!(seen.lock().unwrap().len(), 3, "max_retries 2 means 3 attempts");
    }

    #[test]
    fn post_without_key_is_not_retried_after_5xx() {
        let (url, seen) = scripted(&[&status(500, ""), &ok("{}")]);
        let e = run(&url, "POST", None).unwrap_err();
        assert_eq!(e.sqlstate().code(), "08007");
        assert!(e.to_string().contains("may or may not have carried it out"), "{e}");
        assert!(e.hint().unwrap().contains("check whether the record exists"));
        assert_eq!(seen.lock().unwrap().len(), 1, "exactly one create attempt");
    }

    #[test]
    fn post_with_key_is_retried_with_the_same_key() {
        let (url, seen) = scripted(&[&status(502, ""), &ok("{}")]);
        assert_eq!(run(&url, "POST", Some("Idempotency-Key")).unwrap().status, 200);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let key = |head: &str| {
            head.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("idempotency-key:"))
                .map(|l| l[16..].trim().to_string())
        };
        assert!(key(&seen[0]).is_some());
        assert_eq!(key(&seen[0]), key(&seen[1]));
    }

    fn run_raw(url: &str, method: &str, headers: &[(String, String)]) -> Result<HttpResponse, TetherError> {
        let e = endpoint(url, Some("Idempotency-Key"));
        let target = format!("{url}/items");
        let call = Call {
            method,
            url: &target,
            body: Some((b"{}", "application/json")),
            headers,
            read_only: false,
            limit: None,
            raw: true,
        };
        execute(&e, &call, &AtomicBool::new(false))
    }

    #[test]
    fn raw_calls_return_the_last_answer_after_the_allowed_retries() {
        let (url, seen) = scripted(&[&status(422, ""), &ok("{}")]);
        assert_eq!(run_raw(&url, "PUT", &[]).unwrap().status, 422);
        assert_eq!(seen.lock().unwrap().len(), 1, "a 422 is not retried");
        let r = status(429, "Retry-After: 0\r\n");
        let (url, seen) = scripted(&[&r, &r, &r, &ok("{}")]);
        assert_eq!(run_raw(&url, "GET", &[]).unwrap().status, 429);
        assert_eq!(seen.lock().unwrap().len(), 3, "the retries still happen");
        let (url, seen) = scripted(&[&status(503, ""), &ok("{}")]);
        assert_eq!(run_raw(&url, "GET", &[]).unwrap().status, 200);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_raw_post_without_key_returns_its_5xx_without_resending() {
        let (url, seen) = scripted(&[&status(500, ""), &ok("{}")]);
        let e = endpoint(&url, None);
        let target = format!("{url}/items");
        let call = Call {
            method: "POST",
            url: &target,
            body: Some((b"{}", "application/json")),
            headers: &[],
            read_only: false,
            limit: None,
            raw: true,
        };
        assert_eq!(execute(&e, &call, &AtomicBool::new(false)).unwrap().status, 500);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_key_the_caller_gives_is_sent_on_every_attempt() {
        let (url, seen) = scripted(&[&status(502, ""), &ok("{}")]);
        let mine = vec![("idempotency-key".to_string(), "order-42".to_string())];
        assert_eq!(run_raw(&url, "POST", &mine).unwrap().status, 200);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        for head in seen.iter() {
            let keys: Vec<&str> =
                head.lines().filter(|l| l.to_ascii_lowercase().starts_with("idempotency-key:")).collect();
            assert_eq!(keys.len(), 1, "{head}");
            assert!(keys[0].ends_with("order-42"), "{head}");
        }
    }

    #[test]
    fn rate_limits_are_waited_out_even_for_posts() {
        let (url, seen) = scripted(&[&status(429, "Retry-After: 0\r\n"), &ok("{}")]);
        assert_eq!(run(&url, "POST", None).unwrap().status, 200);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_retry_after_longer_than_max_wait_fails_at_once() {
        let (url, seen) = scripted(&[&status(429, "Retry-After: 30\r\n"), &ok("{}")]);
        let e = run(&url, "GET", None).unwrap_err();
        assert_eq!(e.sqlstate().code(), "53400");
        assert!(e.hint().unwrap().contains("longer than max_retry_wait"), "{:?}", e.hint());
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn rate_limit_exhausted() {
        let r = status(429, "Retry-After: 0\r\n");
        let (url, seen) = scripted(&[&r, &r, &r, &ok("{}")]);
        let e = run(&url, "GET", None).unwrap_err();
        assert_eq!(e.sqlstate().code(), "53400");
        assert!(e.detail().unwrap().contains("after 3 attempts"), "{:?}", e.detail());
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn a_connector_wait_header_is_honoured() {
        let (url, seen) = scripted(&[&status(429, "X-Rate-Limit-Time-Reset-Ms: 5000\r\n"), &ok("{}")]);
        let mut e = endpoint(&url, None);
        e.retry_after = Some(crate::connector::model::RetryAfterDef {
            header: "X-Rate-Limit-Time-Reset-Ms".into(),
            unit: crate::connector::model::TimeUnit::Milliseconds,
        });
        let target = format!("{url}/items");
        let err = execute(&e, &Call::get(&target), &AtomicBool::new(false)).unwrap_err();
        assert_eq!(err.sqlstate().code(), "53400");
        assert!(err.hint().unwrap().contains("asked to wait 5s"), "{:?}", err.hint());
        assert_eq!(seen.lock().unwrap().len(), 1, "a 5 s wait is longer than max_retry_wait: no retry");
    }

    #[test]
    fn client_errors_are_not_retried() {
        let (url, seen) = scripted(&[&status(422, ""), &ok("{}")]);
        let e = run(&url, "PUT", None).unwrap_err();
        assert_eq!(e.to_string(), "[rest] failure 422");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn refused_connections_are_retried_then_reported() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let e = run(&url, "POST", None).unwrap_err();
        assert_eq!(e.sqlstate().code(), "08001");
        assert!(e.detail().unwrap().contains("3 attempts"), "{:?}", e.detail());
    }

    #[test]
    fn an_abandoned_call_makes_no_request() {
        let (url, seen) = scripted(&[&ok("{}")]);
        let e = endpoint(&url, None);
        let target = format!("{url}/items");
        let r = execute(&e, &Call::get(&target), &AtomicBool::new(true));
        assert!(r.is_err());
        std::thread::sleep(Duration::from_millis(50));
        assert!(seen.lock().unwrap().is_empty());
    }
}
