//! The real server: requests over one keep-alive TCP connection, connection counting, TCP_NODELAY, held answers
//! and the requests in flight at once.

use std::io::{BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::read_message;
use crate::server;
use crate::state::{Config, State};

/// Reads one HTTP/1.1 response with a Content-Length body (header names in lower case).
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let (status_line, headers, body) = read_message(reader);
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(), body)
}

fn request(stream: &mut TcpStream, port: u16, path: &str, extra: &str) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n");
    stream.write_all(req.as_bytes()).expect("write request");
}

#[test]
fn keep_alive_counts_one_connection() {
    let listener = server::bind_listener(Ipv4Addr::LOCALHOST, 0).expect("bind");
    assert!(socket2::SockRef::from(&listener).nodelay().expect("nodelay"), "TCP_NODELAY must be set on the listener");
    assert!(socket2::SockRef::from(&listener).reuse_address().expect("reuseaddr"));
    let port = listener.local_addr().expect("addr").port();
    let srv = server::start(listener).expect("start");
    let state = Arc::new(State::new(Config::default()));
    let (srv2, state2) = (Arc::clone(&srv), Arc::clone(&state));
    let handle = thread::spawn(move || server::serve(&srv2, &state2));

    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));

    request(&mut stream, port, "/rest/plain/items/1", "");
    let (status, headers, body) = read_response(&mut reader);
    assert_eq!(status, 200);
    assert!(headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"));
    let item: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(item["id"], 1);

    request(&mut stream, port, "/crm/v3/objects/contacts?limit=100", "Authorization: Bearer test-token\r\n");
    let (status, _, body) = read_response(&mut reader);
    assert_eq!(status, 200);
    let page: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(page["results"].as_array().map(Vec::len), Some(25));

    // Stats over the same connection: control requests are not counted.
    request(&mut stream, port, "/_control/stats", "");
    let (status, _, body) = read_response(&mut reader);
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(stats["requests"], 2, "{stats}");
    assert_eq!(stats["connections"], 1, "{stats}");

    // A second TCP connection counts as a new connection.
    let mut other = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    other.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut other_reader = BufReader::new(other.try_clone().expect("clone"));
    request(&mut other, port, "/rest/plain/items", "");
    assert_eq!(read_response(&mut other_reader).0, 200);
    request(&mut stream, port, "/_control/stats", "");
    let (_, _, body) = read_response(&mut reader);
    let stats: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(stats["requests"], 3, "{stats}");
    assert_eq!(stats["connections"], 2, "{stats}");

    srv.unblock();
    handle.join().expect("server thread");
}

#[test]
fn a_held_answer_is_sent_once_released() {
    let listener = server::bind_listener(Ipv4Addr::LOCALHOST, 0).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let srv = server::start(listener).expect("start");
    let state = Arc::new(State::new(Config::default()));
    let (srv2, state2) = (Arc::clone(&srv), Arc::clone(&state));
    let handle = thread::spawn(move || server::serve(&srv2, &state2));
    let connect = || {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        (stream, reader)
    };
    let (mut control, mut control_reader) = connect();
    let mut ask = |path: &str| {
        request(&mut control, port, path, "");
        let (status, _, body) = read_response(&mut control_reader);
        assert_eq!(status, 200);
        serde_json::from_slice::<Value>(&body).expect("json")
    };
    ask("/_control/hold?path_prefix=/rest/plain");

    let (mut client, mut client_reader) = connect();
    request(&mut client, port, "/rest/plain/items/1", "");
    // The request is in flight: held, and the client has no answer.
    assert_eq!(ask("/_control/held?at_least=1&wait_ms=10000")["waiting"], 1);
    client.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    let mut byte = [0u8; 1];
    assert!(std::io::Read::read(client_reader.get_mut(), &mut byte).is_err(), "no answer before the release");
    client.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");

    assert_eq!(ask("/_control/release")["released"], 1);
    assert_eq!(read_response(&mut client_reader).0, 200);
    assert_eq!(ask("/_control/held"), serde_json::json!({ "waiting": 0, "held": 1 }));

    srv.unblock();
    handle.join().expect("server thread");
}

#[test]
fn requests_in_flight_at_once() {
    let listener = server::bind_listener(Ipv4Addr::LOCALHOST, 0).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let srv = server::start(listener).expect("start");
    let state = Arc::new(State::new(Config::default()));
    let (srv2, state2) = (Arc::clone(&srv), Arc::clone(&state));
    let handle = thread::spawn(move || server::serve(&srv2, &state2));
    let connect = move || {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        (stream, reader)
    };
    let (mut control, mut control_reader) = connect();
    let mut ask = |path: &str| {
        request(&mut control, port, path, "");
        let (status, _, body) = read_response(&mut control_reader);
        assert_eq!(status, 200);
        serde_json::from_slice::<Value>(&body).expect("json")
    };
    let fetch = move |path: &'static str| {
        thread::spawn(move || {
            let (mut client, mut reader) = connect();
            request(&mut client, port, path, "");
            read_response(&mut reader).0
        })
    };
    assert_eq!(ask("/_control/stats")["max_in_flight"], 0);

    // One after the other, over one connection: never more than one at once.
    let (mut client, mut client_reader) = connect();
    for _ in 0..3 {
        request(&mut client, port, "/rest/plain/items/1", "");
        assert_eq!(read_response(&mut client_reader).0, 200);
    }
    assert_eq!(ask("/_control/stats")["max_in_flight"], 1);

    // Two at once, each delayed by the latency setting.
    ask("/_control/reset");
    ask("/_control/latency?ms=500");
    let both = [fetch("/rest/plain/items/1"), fetch("/rest/plain/items/2")];
    for c in both {
        assert_eq!(c.join().expect("client"), 200);
    }
    assert_eq!(ask("/_control/stats")["max_in_flight"], 2);
    let log = ask("/_control/requests");
    let at: Vec<u64> = log["requests"].as_array().into_iter().flatten().filter_map(|r| r["at_ms"].as_u64()).collect();
    assert_eq!(at.len(), 2, "{log}");
    assert!(at[0] <= at[1] && at[1] - at[0] < 500, "the second arrived while the first was delayed: {at:?}");

    // A held answer counts until it is written: one request overtakes it.
    ask("/_control/reset");
    ask("/_control/hold?path_prefix=/rest/plain/items/1");
    let held = fetch("/rest/plain/items/1");
    assert_eq!(ask("/_control/held?at_least=1&wait_ms=10000")["waiting"], 1);
    request(&mut client, port, "/rest/plain/items/2", "");
    assert_eq!(read_response(&mut client_reader).0, 200);
    assert_eq!(ask("/_control/stats")["max_in_flight"], 2);
    ask("/_control/release");
    assert_eq!(held.join().expect("client"), 200);
    assert_eq!(ask("/_control/stats")["max_in_flight"], 2);
    ask("/_control/reset");
    assert_eq!(ask("/_control/stats")["max_in_flight"], 0);

    srv.unblock();
    handle.join().expect("server thread");
}
