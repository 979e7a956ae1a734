//! Several writes in flight at once: for objects without a batch endpoint (Stripe, Shopify), a push
//! and an `INSERT ... SELECT` send their creates `concurrency` at a time instead of one after another.
//! Each request goes through `retry::execute` (its retries, the server's pacing: the rate limit is
//! shared by every thread of the process), on threads of the calling helper thread (so with every
//! signal blocked, as `wait::spawn_helper` makes them).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::connector::writes::WriteRequest;
use crate::error::TetherError;
use crate::http::endpoint::Endpoint;
use crate::http::retry::{self, Call};
use crate::http::transport::HttpResponse;

/// A write to send: what `retry::Call` borrows, owned.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    /// Body and content type.
    pub body: Option<(Vec<u8>, &'static str)>,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A write request of a table, with `headers` of its own (an idempotency key).
    pub fn write(req: WriteRequest, headers: Vec<(String, String)>) -> Request {
        Request { body: req.encoded_body(), method: req.method, url: req.url, headers }
    }
}

/// Send `requests` with at most `concurrency` in flight (at least one), each with its retries, and
/// return their results in the order of `requests`. Once `abandoned` is set no new request starts (its
/// result is the abandonment error); those in flight end as `retry::execute` ends them.
pub fn execute_all(
    endpoint: &Endpoint,
    requests: &[Request],
    concurrency: usize,
    abandoned: &AtomicBool,
) -> Vec<Result<HttpResponse, TetherError>> {
    let n = requests.len();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<HttpResponse, TetherError>>>> = Mutex::new((0..n).map(|_| None).collect());
    let send = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(r) = requests.get(i) else { break };
        let result = if abandoned.load(Ordering::Relaxed) {
            Err(TetherError::Internal("request abandoned: the statement stopped waiting".into()))
        } else {
            let call = Call {
                method: &r.method,
                url: &r.url,
                body: r.body.as_ref().map(|(b, t)| (b.as_slice(), *t)),
                headers: &r.headers,
                read_only: false,
                limit: None,
                raw: false,
            };
            retry::execute(endpoint, &call, abandoned)
        };
        if let Ok(mut all) = results.lock() {
            all[i] = Some(result);
        }
    };
    let threads = concurrency.clamp(1, n.max(1));
    if threads == 1 {
        send();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(send);
            }
        });
    }
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(TetherError::Internal("a request of the group was not sent".into()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;
    use std::sync::atomic::AtomicI64;
    use std::sync::Arc;

    /// A server that answers every request after holding it `hold_ms`, on a thread per connection,
    /// and records the most requests it held at once. Requests whose path ends in `/bad` get a 400.
    fn holding_server(hold_ms: u64) -> (String, Arc<AtomicI64>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (now, most) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
        let seen = most.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let (now, most) = (now.clone(), most.clone());
                std::thread::spawn(move || {
                    let (head, _) = crate::http::testing::read_request(&conn);
                    let held = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(held, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(hold_ms));
                    now.fetch_sub(1, Ordering::SeqCst);
                    let answer = if head.lines().next().unwrap_or("").contains("/bad ") {
                        crate::http::testing::status(400, "")
                    } else {
                        crate::http::testing::ok("{\"id\": 1}")
                    };
                    let _ = conn.write_all(answer.as_bytes());
                });
            }
        });
        (url, seen)
    }

    fn requests(url: &str, paths: &[&str]) -> Vec<Request> {
        paths
            .iter()
            .map(|p| Request {
                method: "POST".into(),
                url: format!("{url}{p}"),
                body: Some((b"{}".to_vec(), "application/json")),
                headers: vec![],
            })
            .collect()
    }

    #[test]
    fn at_most_concurrency_requests_are_in_flight_and_results_keep_their_order() {
        let (url, most) = holding_server(150);
        let endpoint = crate::http::testing::rest_endpoint(&[], &[]);
        let paths = ["/a", "/b", "/bad", "/c", "/d", "/e", "/f", "/g"];
        let results = execute_all(&endpoint, &requests(&url, &paths), 3, &AtomicBool::new(false));
        assert_eq!(results.len(), 8);
        for (p, r) in paths.iter().zip(&results) {
            match (p, r) {
                (&"/bad", Err(TetherError::Provider { status: 400, .. })) => {}
                (&"/bad", other) => panic!("/bad: {other:?}"),
                (_, Ok(resp)) => assert_eq!(resp.status, 200),
                (p, Err(e)) => panic!("{p}: {e}"),
            }
        }
        assert_eq!(most.load(Ordering::SeqCst), 3, "three in flight at most, and three at some point");
    }

    #[test]
    fn one_at_a_time_when_concurrency_is_one_and_nothing_starts_once_abandoned() {
        let (url, most) = holding_server(20);
        let endpoint = crate::http::testing::rest_endpoint(&[], &[]);
        let results = execute_all(&endpoint, &requests(&url, &["/a", "/b", "/c"]), 1, &AtomicBool::new(false));
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(most.load(Ordering::SeqCst), 1);
        let results = execute_all(&endpoint, &requests(&url, &["/a", "/b"]), 4, &AtomicBool::new(true));
        assert!(results.iter().all(|r| matches!(r, Err(TetherError::Internal(m)) if m.contains("abandoned"))));
    }
}
