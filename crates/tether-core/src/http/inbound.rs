//! The small HTTP/1.1 server the webhook receiver listens with. It owns the accept loop, one helper
//! thread per connection, the table of connection slots, reading one request per connection (limits on
//! head size, body size and time) and writing its answer, and `printable`, which makes request text safe
//! for a log line. Plain Rust threads, no Postgres: `sync::webhook` supplies the handler, which passes the
//! request to the process's main thread and waits for its answer.
//!
//! Slots are what a hostile client aims at, so two rules keep them from being held:
//! - a request has one deadline (REQUEST_BUDGET from accept), not a timeout per read: a client that
//!   trickles a byte every few seconds is answered 408 when the budget is spent, however steadily it sends;
//! - when every slot is taken, a new connection sheds the one that has been reading the longest (its
//!   socket is shut down, so its thread's read fails at once and frees the slot): idle or slow clients
//!   cannot lock out complete deliveries. Only a slot whose request is complete and in the handler is never
//!   shed; when all are, the newcomer is answered 503 and the provider retries.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::http::wait::{spawn_helper, spawn_small_helper};

/// Longest request line plus headers accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Connection slots. Shedding keeps slow clients from holding them, so this bounds the threads and sockets
/// in use and how many complete deliveries may wait for the main thread at once. It is also how many new
/// connections a flood must open before it sheds a delivery still being sent, so more is kinder to a slow
/// provider under attack; a slot costs a CONNECTION_STACK stack (mostly untouched) and two descriptors.
const MAX_CONNECTIONS: usize = 128;
/// The whole time a client has, from accept, to send its request line, headers and body.
const REQUEST_BUDGET: Duration = Duration::from_secs(10);
/// After the answer, unread input is drained this long at most: closing a socket with unread input
/// resets the connection, and the client could lose the answer.
const LINGER: Duration = Duration::from_secs(2);
/// A connection thread's stack: it parses one request and waits for the handler (default: 2 MiB).
const CONNECTION_STACK: usize = 256 * 1024;
/// The most unread input drained after an answer.
const MAX_DRAIN: u64 = 64 << 20;

type Handler = dyn Fn(Inbound) -> Answer + Send + Sync;

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
            .map_err(|e| read_error("could not read the request", &e))?;
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
            return Err(Answer::message(400, &format!("malformed header line: \"{}\"", printable(l, 200))));
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
    reader.read_exact(&mut body).map_err(|e| read_error("could not read the body", &e))?;
    Ok(Inbound { method, target, headers, body })
}

/// A failed read: 408 when the time ran out, else 400.
fn read_error(what: &str, e: &std::io::Error) -> Answer {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Answer::message(408, "the request did not arrive in time"),
        _ => Answer::message(400, &format!("{what}: {e}")),
    }
}

pub fn write_answer(stream: &mut impl Write, answer: &Answer) -> std::io::Result<()> {
    let reason = match answer.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
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

/// What `printable` appends when it leaves text out.
pub const TRUNCATED: &str = "...(truncated)";

/// `text` made safe for one server log line: a backslash is doubled, newline, carriage return and tab
/// read `\n`, `\r`, `\t`, and the other control characters (C0, DEL, C1), the Unicode line and paragraph
/// separators, bidirectional controls and zero-width characters read `\u{1b}`-style; so the escaping is
/// unambiguous and nothing can end the line, recolour the terminal or reorder or hide what is shown. Then
/// at most `max` characters are kept (an escape whole or not at all), followed by TRUNCATED when anything
/// was left out.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + TRUNCATED.len());
    let mut used = 0usize;
    for c in text.chars() {
        let mut utf8 = [0u8; 4];
        let escaped;
        let piece: &str = match c {
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if hides_or_breaks(c) => {
                escaped = c.escape_unicode().to_string();
                &escaped
            }
            c => c.encode_utf8(&mut utf8),
        };
        let n = piece.chars().count();
        if used + n > max {
            out.push_str(TRUNCATED);
            break;
        }
        out.push_str(piece);
        used += n;
    }
    out
}

/// Characters that could break a log line or change how it reads: controls, line and paragraph
/// separators, bidirectional marks, embeddings, overrides and isolates, zero-width characters.
fn hides_or_breaks(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Accept connections on helper threads (signals blocked) until the process ends. `max_body` may change
/// while serving (a configuration reload).
pub fn serve(
    listener: TcpListener,
    max_body: Arc<AtomicUsize>,
    handler: Arc<dyn Fn(Inbound) -> Answer + Send + Sync>,
) -> Result<(), crate::error::TetherError> {
    let limits = Limits { budget: REQUEST_BUDGET, linger: LINGER, max_connections: MAX_CONNECTIONS };
    serve_with(listener, max_body, handler, limits).map(|_| ())
}

/// The server's limits; tests shorten them.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Time to send the whole request.
    budget: Duration,
    /// Most time spent draining unread input after the answer.
    linger: Duration,
    max_connections: usize,
}

/// `serve` with `limits`; returns the slot table (tests watch it).
fn serve_with(
    listener: TcpListener,
    max_body: Arc<AtomicUsize>,
    handler: Arc<Handler>,
    limits: Limits,
) -> Result<Arc<Slots>, crate::error::TetherError> {
    let slots = Arc::new(Slots::default());
    let table = slots.clone();
    spawn_helper("tether webhooks", move || {
        for stream in listener.incoming() {
            let stream = match stream {
                Ok(s) => s,
                Err(_) => {
                    // Out of descriptors (say): the connection stays queued; do not spin on it.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let Some(ticket) = slots.admit(&stream, limits.max_connections) else {
                refuse(stream);
                continue;
            };
            let (handler, max_body) = (handler.clone(), max_body.clone());
            // A failed spawn drops the closure, and with it the ticket (freeing the slot) and the socket.
            let _ = spawn_small_helper("tether webhook", CONNECTION_STACK, move || {
                connection(stream, ticket, limits, max_body.load(Ordering::Relaxed), &*handler)
            });
        }
    })?;
    Ok(table)
}

/// Serve one connection: read its request by the deadline, hand it to the handler, answer, close.
fn connection(mut stream: TcpStream, ticket: Ticket, limits: Limits, max_body: usize, handler: &Handler) {
    let mut input = Deadline { socket: &stream, at: ticket.started + limits.budget, expired: false };
    let read = read_request(&mut input, max_body);
    // A shed connection's socket is shut down, so there is nobody to answer (a request it had read in full
    // is dropped unhandled, and the provider retries).
    let answer = match read {
        Ok(request) => {
            if !ticket.enter(Phase::Handling) {
                return;
            }
            let answer = handler(request);
            ticket.enter(Phase::Closing);
            answer
        }
        Err(refusal) => {
            if !ticket.enter(Phase::Closing) {
                return;
            }
            if input.expired {
                Answer::message(408, &format!("the request was not complete within {:?}", limits.budget))
            } else {
                refusal
            }
        }
    };
    let _ = stream.set_write_timeout(Some(limits.budget));
    let _ = write_answer(&mut stream, &answer);
    // Closing with unread input (a refused oversized body) would reset the connection before the client
    // reads the answer: end our side, then drain for a moment.
    let _ = stream.shutdown(Shutdown::Write);
    let rest = Deadline { socket: &stream, at: Instant::now() + limits.linger, expired: false };
    let _ = std::io::copy(&mut rest.take(MAX_DRAIN), &mut std::io::sink());
}

/// Answer 503 on the accepting thread without waiting on the client.
fn refuse(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = write_answer(&mut stream, &Answer::message(503, "too many webhook deliveries at once; retry"));
    let _ = stream.shutdown(Shutdown::Write);
    // Read what has already arrived, so that closing does not reset the connection under the answer.
    let _ = stream.set_nonblocking(true);
    let mut buf = [0u8; 4096];
    for _ in 0..16 {
        if !matches!(stream.read(&mut buf), Ok(n) if n > 0) {
            break;
        }
    }
}

/// Reads from a socket until a deadline: each read waits at most for the time left, so the deadline
/// holds however the input is spread. Past it, reads fail with TimedOut and `expired` is set.
struct Deadline<'a> {
    socket: &'a TcpStream,
    at: Instant,
    expired: bool,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let left = self.at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.expired = true;
                return Err(ErrorKind::TimedOut.into());
            }
            self.socket.set_read_timeout(Some(left))?;
            let mut socket = self.socket;
            match socket.read(buf) {
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                done => return done,
            }
        }
    }
}

/// Where a connection is: only Reading and Closing ones may be shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Receiving its request.
    Reading,
    /// Its complete request is in the handler.
    Handling,
    /// Answering and draining.
    Closing,
}

struct Slot {
    id: u64,
    started: Instant,
    phase: Phase,
    /// A clone of the connection's socket, to shut it down when shed.
    socket: TcpStream,
}

/// The connections being served. A connection holds a slot from accept until its thread ends or it is shed;
/// the table never holds more than the limit (a shed connection's thread may take a moment longer to end).
#[derive(Default)]
struct Slots {
    table: Mutex<Vec<Slot>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Slots {
    fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection. When all `max` are taken, shed the connection that has been reading
    /// the longest (else the oldest closing one). None when every slot is handling a request, or the socket
    /// cannot be cloned.
    fn admit(self: &Arc<Self>, stream: &TcpStream, max: usize) -> Option<Ticket> {
        let socket = stream.try_clone().ok()?;
        let mut table = self.lock();
        while table.len() >= max.max(1) {
            let victim = (0..table.len())
                .filter(|&i| table[i].phase != Phase::Handling)
                .min_by_key(|&i| (table[i].phase != Phase::Reading, table[i].started))?;
            let _ = table.swap_remove(victim).socket.shutdown(Shutdown::Both);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        table.push(Slot { id, started, phase: Phase::Reading, socket });
        Some(Ticket { slots: self.clone(), id, started })
    }
}

/// A connection's hold on its slot; dropping it (the thread ends, or panics) frees the slot.
struct Ticket {
    slots: Arc<Slots>,
    id: u64,
    started: Instant,
}

impl Ticket {
    /// Move to `phase`. False when the connection was shed.
    fn enter(&self, phase: Phase) -> bool {
        match self.slots.lock().iter_mut().find(|s| s.id == self.id) {
            Some(slot) => {
                slot.phase = phase;
                true
            }
            None => false,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.slots.lock().retain(|s| s.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;

    /// Send raw bytes, return everything the server answers.
    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
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

    fn limits(budget: Duration, max_connections: usize) -> Limits {
        Limits { budget, linger: Duration::from_millis(200), max_connections }
    }

    fn start(limits: Limits, handler: Arc<Handler>) -> (SocketAddr, Arc<Slots>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let slots = serve_with(listener, Arc::new(AtomicUsize::new(100)), handler, limits).unwrap();
        (addr, slots)
    }

    fn answers_200() -> Arc<Handler> {
        Arc::new(|r: Inbound| Answer { status: 200, body: format!("{{\"len\":{}}}", r.body.len()) })
    }

    /// Wait (5 s at most) until the slots' phases are as `ready` wants.
    fn wait_for(slots: &Slots, what: &str, ready: impl Fn(&[Phase]) -> bool) {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let phases: Vec<Phase> = slots.lock().iter().map(|s| s.phase).collect();
            if ready(&phases) {
                return;
            }
            assert!(Instant::now() < until, "{what}: the slots are {phases:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn is_timeout(r: &std::io::Result<usize>) -> bool {
        matches!(r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
    }

    #[test]
    fn a_trickling_client_is_cut_off_when_its_budget_is_spent() {
        let (addr, slots) = start(limits(Duration::from_secs(1), 4), answers_200());
        let started = Instant::now();
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
        let mut writer = client.try_clone().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        // One byte every 300 ms, forever: each read is quick, only the whole request is slow.
        let trickle = std::thread::spawn(move || {
            let _ = writer.write_all(b"POST /x HTTP/1.1\r\nX-Slow: ");
            while !halt.load(Ordering::Relaxed) && writer.write_all(b"a").is_ok() {
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out);
        let took = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        trickle.join().unwrap();
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
        assert!(out.contains("not complete within 1s"), "{out}");
        assert!(took >= Duration::from_millis(900), "cut off after {took:?}, before the 1 s budget");
        assert!(took < Duration::from_secs(6), "cut off after {took:?}, long after the 1 s budget");
        wait_for(&slots, "the slot is freed", |p| p.is_empty());
    }

    #[test]
    fn slow_clients_are_shed_for_a_complete_request() {
        let (addr, slots) = start(limits(Duration::from_secs(10), 3), answers_200());
        // Every slot held by a client that has not finished: part of a head, nothing, part of a body.
        let partial: [&[u8]; 3] =
            [b"POST /x HTTP/1.1\r\nHost: a", b"", b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"];
        let slow: Vec<TcpStream> = partial
            .iter()
            .enumerate()
            .map(|(n, raw)| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(raw).unwrap();
                wait_for(&slots, "the slow client holds a slot", |p| p.len() == n + 1);
                s
            })
            .collect();
        let started = Instant::now();
        let out = exchange(addr, b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("{\"len\":3}"), "{out}");
        // Well under the 10 s budget the slow clients could otherwise hold their slots for.
        assert!(started.elapsed() < Duration::from_secs(3), "answered after {:?}", started.elapsed());
        // The oldest was shed: closed without an answer. The others still wait for the rest of their request.
        let mut buf = [0u8; 64];
        slow[0].set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let r = (&slow[0]).read(&mut buf);
        assert!(matches!(r, Ok(0)) || (r.is_err() && !is_timeout(&r)), "the oldest slow client read {r:?}");
        for s in &slow[1..] {
            s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
            let r = (&*s).read(&mut buf);
            assert!(is_timeout(&r), "a younger slow client read {r:?}");
        }
        wait_for(&slots, "two slow clients keep their slots", |p| p == [Phase::Reading, Phase::Reading]);
    }

    #[test]
    fn newcomers_get_503_only_while_every_slot_is_in_the_handler() {
        let (entered_tx, entered) = mpsc::channel::<()>();
        let (release, release_rx) = mpsc::channel::<()>();
        let (entered_tx, release_rx) = (Mutex::new(entered_tx), Mutex::new(release_rx));
        // Blocks until `release` is dropped.
        let handler: Arc<Handler> = Arc::new(move |_| {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv_timeout(Duration::from_secs(20));
            Answer { status: 200, body: "{}".into() }
        });
        let (addr, slots) = start(limits(Duration::from_secs(10), 2), handler);
        let busy: Vec<_> = (0..2)
            .map(|_| std::thread::spawn(move || exchange(addr, b"POST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\na")))
            .collect();
        for _ in 0..2 {
            entered.recv_timeout(Duration::from_secs(5)).expect("a request reached the handler");
        }
        wait_for(&slots, "both slots are in the handler", |p| p == [Phase::Handling, Phase::Handling]);
        // The newcomer sends nothing: the answer comes at once, and no unread input can reset it.
        let mut newcomer = TcpStream::connect(addr).unwrap();
        newcomer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = String::new();
        let _ = newcomer.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{out}");
        assert!(out.contains("retry"), "{out}");
        drop(release);
        for b in busy {
            let out = b.join().unwrap();
            assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        }
        let out = exchange(addr, b"POST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\na");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "service resumes: {out}");
    }

    #[test]
    fn printable_escapes_controls_and_backslashes() {
        assert_eq!(printable("plain text, ünïcode ✓", 100), "plain text, ünïcode ✓");
        assert_eq!(printable("a\nb\r\nc\td", 100), "a\\nb\\r\\nc\\td");
        assert_eq!(printable("\u{1b}[31mred\u{0}", 100), "\\u{1b}[31mred\\u{0}");
        assert_eq!(printable("x\u{2028}y\u{2029}z\u{85}", 100), "x\\u{2028}y\\u{2029}z\\u{85}");
        assert_eq!(printable("evil\u{202e}gnp.exe\u{200b}", 100), "evil\\u{202e}gnp.exe\\u{200b}");
        // A backslash is doubled, so text that looks like an escape stays distinct from one.
        assert_eq!(printable("a\\nb", 100), "a\\\\nb");
        assert_ne!(printable("a\\nb", 100), printable("a\nb", 100));
        for c in (0..0x3000).filter_map(char::from_u32) {
            let out = printable(&c.to_string(), 100);
            let unsafe_out = out.chars().any(|o| o.is_control() || hides_or_breaks(o));
            assert!(!unsafe_out, "U+{:04X} is printed as {out:?}", c as u32);
            if c.is_control() {
                assert!(out.starts_with('\\') && out.len() > 1, "U+{:04X} is printed as {out:?}", c as u32);
            }
        }
    }

    #[test]
    fn printable_truncates_on_character_boundaries() {
        assert_eq!(printable("abc", 3), "abc");
        assert_eq!(printable("", 0), "");
        assert_eq!(printable("abcd", 3), "abc...(truncated)");
        assert_eq!(printable("héllo wörld", 5), "héllo...(truncated)");
        assert_eq!(printable("日本語のテキスト", 3), "日本語...(truncated)");
        assert_eq!(printable("😀😀😀", 2), "😀😀...(truncated)");
        // An escape is kept whole or left out.
        assert_eq!(printable("ab\ncd", 3), "ab...(truncated)");
        assert_eq!(printable("ab\u{1b}cd", 7), "ab...(truncated)");
        assert_eq!(printable("ab\u{1b}cd", 8), "ab\\u{1b}...(truncated)");
        let long = "ä\n".repeat(10_000);
        let out = printable(&long, 200);
        assert!(out.ends_with(TRUNCATED) && out.chars().count() <= 200 + TRUNCATED.len(), "{out}");
    }
}
