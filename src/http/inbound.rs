//! The small HTTP/1.1 server the webhook receiver listens with: reads one request per connection (with
//! limits on header size, body size and time), hands it to a handler and writes its answer. Plain Rust
//! threads, no Postgres: `sync::webhook` supplies the handler, which passes the request to the process's
//! main thread and waits for its answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::http::wait::spawn_helper;

/// Longest request line plus headers accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Connections served at once; more are answered 503 at once.
const MAX_CONNECTIONS: usize = 32;
/// A client has this long to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One request as received. Header names are lower case.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub method: String,
    /// The request target: path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Inbound {
    pub fn header(&self, lower_name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == lower_name).map(|(_, v)| v.as_str())
    }
}

/// An answer: status and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// `{"message": ...}` with the status; what refusals look like.
    pub fn message(status: u16, message: &str) -> Answer {
        Answer { status, body: serde_json::json!({ "message": message }).to_string() }
    }
}

/// Read one request. An error is the answer to give instead (400, 411, 413, 431 ...).
pub fn read_request(stream: &mut impl Read, max_body: usize) -> Result<Inbound, Answer> {
    let mut reader = BufReader::new(stream);
    let mut head = 0usize;
    let mut line = String::new();
    let mut read_line = |reader: &mut BufReader<_>, line: &mut String| -> Result<(), Answer> {
        line.clear();
        let n = reader
            .by_ref()
            .take((MAX_HEAD - head + 1) as u64)
            .read_line(line)
            .map_err(|e| Answer::message(400, &format!("could not read the request: {e}")))?;
        head += n;
        if head > MAX_HEAD {
            return Err(Answer::message(431, &format!("request headers are larger than {MAX_HEAD} bytes")));
        }
        if n == 0 {
            return Err(Answer::message(400, "the connection closed before the request was complete"));
        }
        Ok(())
    };
    read_line(&mut reader, &mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return Err(Answer::message(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Answer::message(505, "only HTTP/1.x is served"));
    }
    let (method, target) = (method.to_string(), target.to_string());
    let mut headers = Vec::new();
    loop {
        read_line(&mut reader, &mut line)?;
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(Answer::message(400, &format!("malformed header line: \"{l}\"")));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v): &(String, String)| v.clone());
    if find("transfer-encoding").is_some() {
        return Err(Answer::message(411, "send the body with a Content-Length (chunked bodies are not accepted)"));
    }
    let length = match find("content-length") {
        None if method == "POST" => return Err(Answer::message(411, "a Content-Length header is required")),
        None => 0,
        Some(v) => v.trim().parse::<usize>().map_err(|_| Answer::message(400, "invalid Content-Length"))?,
    };
    if length > max_body {
        return Err(Answer::message(
            413,
            &format!("the body ({length} bytes) is larger than tether.webhook_max_body ({max_body} bytes)"),
        ));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).map_err(|e| Answer::message(400, &format!("could not read the body: {e}")))?;
    Ok(Inbound { method, target, headers, body })
}

pub fn write_answer(stream: &mut impl Write, answer: &Answer) -> std::io::Result<()> {
    let reason = match answer.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.status,
        answer.body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(answer.body.as_bytes())?;
    stream.flush()
}

/// Accept connections on helper threads (signals blocked) until the process ends. `max_body` may change
/// while serving (a configuration reload).
pub fn serve(
    listener: TcpListener,
    max_body: Arc<AtomicUsize>,
    handler: Arc<dyn Fn(Inbound) -> Answer + Send + Sync>,
) -> Result<(), crate::error::TetherError> {
    let active = Arc::new(AtomicUsize::new(0));
    spawn_helper("tether webhooks", move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                active.fetch_sub(1, Ordering::AcqRel);
                let _ = write_answer(&mut stream, &Answer::message(503, "too many webhook deliveries at once; retry"));
                continue;
            }
            let (counter, handler, max_body) = (active.clone(), handler.clone(), max_body.clone());
            let spawned = spawn_helper("tether webhook", move || {
                let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
                let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
                let answer = match read_request(&mut stream, max_body.load(Ordering::Relaxed)) {
                    Ok(request) => handler(request),
                    Err(answer) => answer,
                };
                let _ = write_answer(&mut stream, &answer);
                // Closing with unread input (a refused oversized body) would reset the connection
                // before the client reads the answer: end our side, then drain for a moment.
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = std::io::copy(&mut (&stream).take(64 << 20), &mut std::io::sink());
                counter.fetch_sub(1, Ordering::AcqRel);
            });
            if spawned.is_err() {
                // The closure (and its counter decrement) was dropped with the failed spawn.
                active.fetch_sub(1, Ordering::AcqRel);
            }
        }
    })
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    /// Send raw bytes, return everything the server answers.
    fn exchange(addr: std::net::SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(raw).expect("write");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    fn parse(raw: &str, max: usize) -> Result<Inbound, Answer> {
        read_request(&mut raw.as_bytes(), max)
    }

    #[test]
    fn reads_a_post_with_its_body() {
        let r =
            parse("POST /webhooks/hs?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nX-A: b c\r\n\r\nbodyEXTRA", 10)
                .unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/webhooks/hs?x=1"));
        assert_eq!(r.header("x-a"), Some("b c"));
        assert_eq!(r.body, b"body");
    }

    #[test]
    fn refuses_what_it_cannot_take() {
        assert_eq!(parse("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", 10).unwrap_err().status, 413);
        assert_eq!(parse("POST / HTTP/1.1\r\n\r\n", 10).unwrap_err().status, 411);
        assert_eq!(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 10).unwrap_err().status, 411);
        assert_eq!(parse("garbage\r\n\r\n", 10).unwrap_err().status, 400);
        assert_eq!(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 10).unwrap_err().status, 400);
        let huge = format!("POST / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse(&huge, 10).unwrap_err().status, 431);
        assert_eq!(parse("POST / HTTP/2\r\n\r\n", 10).unwrap_err().status, 505);
    }

    #[test]
    fn serves_each_connection_with_the_handler() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Arc<dyn Fn(Inbound) -> Answer + Send + Sync> =
            Arc::new(|r: Inbound| Answer { status: 200, body: format!("{{\"len\":{}}}", r.body.len()) });
        serve(listener, Arc::new(AtomicUsize::new(100)), handler).unwrap();
        let out = exchange(addr, b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.ends_with("{\"len\":3}"), "{out}");
        let out = exchange(addr, b"POST /x HTTP/1.1\r\nContent-Length: 300\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
        assert!(out.contains("tether.webhook_max_body"), "{out}");
    }
}
