//! Webhook deliveries: each provider's payload and signature (recomputed here with the crates directly, not
//! with the fake's helpers), the broken modes, parameter checks, and automatic deliveries after API writes,
//! against a real receiver thread on 127.0.0.1: one delivery at a
//! time (`deliveries`) and subscriptions (`subscriptions`). The helpers are here.

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::*;
use crate::http::percent_encode;
use crate::webhooks::{self as webhook, Event, Mode, Op, Provider, Stamp};

mod deliveries;
mod subscriptions;

/// One request a receiver got.
#[derive(Debug)]
struct Captured {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A receiver on 127.0.0.1 that answers `count` requests with `status` and `answer`, handing each over.
fn receiver(count: usize, status: u16, answer: &'static str) -> (u16, mpsc::Receiver<Captured>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for _ in 0..count {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let (line, headers, body) = read_message(&mut reader);
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let target = parts.next().unwrap_or("").to_string();
            let reply = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            (&stream).write_all(reply.as_bytes()).expect("reply");
            let body = String::from_utf8(body).expect("utf-8 body");
            if tx.send(Captured { method, target, headers, body }).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

fn next(rx: &mpsc::Receiver<Captured>) -> Captured {
    rx.recv_timeout(Duration::from_secs(10)).expect("a delivery within 10 s")
}

/// Asserts nothing arrives for a while (the receiver is still listening).
fn assert_quiet(rx: &mpsc::Receiver<Captured>) {
    let got = rx.recv_timeout(Duration::from_millis(300));
    assert!(matches!(got, Err(mpsc::RecvTimeoutError::Timeout)), "{got:?}");
}

/// A control request with percent-encoded query parameters.
fn control(st: &State, endpoint: &str, params: &[(&str, &str)]) -> FakeResponse {
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
    handle(st, &FakeRequest::new("POST", &format!("/_control/{endpoint}?{}", query.join("&"))))
}

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

fn mac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn hexs(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn near(value: u64, expected: u64, slack: u64) -> bool {
    value.abs_diff(expected) <= slack
}

/// The body with the member `"tampered":true` taken out again.
fn untampered(body: &str) -> String {
    body.replacen("\"tampered\":true,", "", 1)
}

/// Asserts the `sent` part of a control answer is exactly what the receiver got.
fn assert_sent(answer: &Value, got: &Captured) {
    assert_eq!(answer["sent"]["body"], got.body);
    for (k, v) in &got.headers {
        assert_eq!(answer["sent"]["headers"][k.as_str()], v.as_str(), "header {k}");
    }
    assert_eq!(answer["sent"]["headers"].as_object().map(|o| o.len()), Some(got.headers.len()));
}

/// Polls the delivery log until it holds `n` deliveries (the delivery thread logs after the answer).
fn deliveries(st: &State, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let list =
            get(st, "/_control/webhook_deliveries").json_body()["deliveries"].as_array().cloned().unwrap_or_default();
        if list.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return list;
        }
        thread::sleep(Duration::from_millis(10));
    }
}
