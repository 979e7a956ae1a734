//! Test support: a scripted HTTP server on 127.0.0.1 that answers each connection with the next
//! canned response.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::connector;
use crate::connector::options::Options;
use crate::connector::server::resolve_server;
use crate::http::credentials::{Credentials, ALICE};
use crate::http::endpoint::{test_defaults, Endpoint};

/// A server answering each connection with the next scripted response (then closing it), and
/// recording each request (first line, headers and body).
pub fn scripted(responses: &[&str]) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let script: Vec<String> = responses.iter().map(|r| r.to_string()).collect();
    std::thread::spawn(move || {
        for (conn, answer) in listener.incoming().zip(script) {
            let Ok(mut conn) = conn else { return };
            let (mut head, body) = read_request(&conn);
            head.push_str("\r\n");
            head.push_str(&String::from_utf8_lossy(&body));
            log.lock().unwrap().push(head);
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    (url, seen)
}

/// Read one request from `conn`: its request line and headers (as sent), and its body.
pub fn read_request(conn: &TcpStream) -> (String, Vec<u8>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (head, body)
}

pub fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

pub fn status(code: u16, extra: &str) -> String {
    let body = format!("{{\"message\":\"failure {code}\"}}");
    format!("HTTP/1.1 {code} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

/// An endpoint of the generic REST connector on a closed port, with server `auth` options and user
/// mapping options.
pub fn rest_endpoint(auth: &[(&str, &str)], mapping: &[(&str, &str)]) -> Endpoint {
    let mut opts: Options = [("connector", "rest"), ("base_url", "http://127.0.0.1:1")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    opts.extend(auth.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let server = resolve_server(&opts, connector::find).unwrap();
    let m: Options = mapping.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let creds = Credentials::new(&server, "s", "alice", ALICE, Some(&m), None).unwrap();
    Arc::try_unwrap(Endpoint::new(&server, "s", creds, test_defaults())).unwrap()
}
