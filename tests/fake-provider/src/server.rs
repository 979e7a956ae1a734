//! Thin glue between sockets / tiny_http and the transport-independent `app::handle`.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tiny_http::{Header, Response, Server};

use crate::app;
use crate::control;
use crate::http::{FakeRequest, FakeResponse};
use crate::state::State;

/// Largest request body we read; the rest is ignored.
const MAX_BODY: u64 = 16 * 1024 * 1024;
/// How long a stalled request is held before it is finally answered.
const STALL_LIMIT: Duration = Duration::from_secs(300);
const STALL_STEP: Duration = Duration::from_millis(100);
const BACKLOG: i32 = 4096;

/// Creates the listening socket: IPv4 TCP with TCP_NODELAY (inherited by
/// accepted sockets, avoiding ~40 ms delayed-ACK stalls on keep-alive) and
/// SO_REUSEADDR, bound and listening with a large backlog.
pub fn bind_listener(host: Ipv4Addr, port: u16) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nodelay(true)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from((host, port)).into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Wraps a listener in a tiny_http server.
pub fn start(listener: TcpListener) -> io::Result<Arc<Server>> {
    Server::from_listener(listener, None).map(Arc::new).map_err(|e| io::Error::other(e.to_string()))
}

/// Accepts requests until the server is unblocked. Each request runs on a
/// worker thread of its own: idle workers are reused, and a new one is
/// spawned whenever none is idle, so a stalled or slow request never holds
/// up the others.
pub fn serve(server: &Server, state: &Arc<State>) {
    let pool = Pool::new(Arc::clone(state));
    for request in server.incoming_requests() {
        pool.dispatch(request);
    }
}

/// Grow-only worker pool (threads live as long as the server).
struct Pool {
    state: Arc<State>,
    tx: mpsc::Sender<tiny_http::Request>,
    rx: Arc<Mutex<mpsc::Receiver<tiny_http::Request>>>,
    /// Workers waiting for a job and not yet promised one.
    idle: Arc<AtomicUsize>,
}

impl Pool {
    fn new(state: Arc<State>) -> Pool {
        let (tx, rx) = mpsc::channel();
        Pool { state, tx, rx: Arc::new(Mutex::new(rx)), idle: Arc::new(AtomicUsize::new(0)) }
    }

    fn dispatch(&self, request: tiny_http::Request) {
        // Only this thread dispatches, so reserving an idle worker here
        // guarantees the job is picked up by a worker that is free.
        let reserved = self.idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
        if reserved {
            if let Err(mpsc::SendError(request)) = self.tx.send(request) {
                self.spawn_worker(request);
            }
        } else {
            self.spawn_worker(request);
        }
    }

    fn spawn_worker(&self, first: tiny_http::Request) {
        let (state, rx, idle) = (Arc::clone(&self.state), Arc::clone(&self.rx), Arc::clone(&self.idle));
        let spawned = thread::Builder::new().name("fake-provider-worker".into()).spawn(move || {
            serve_one(&state, first);
            loop {
                idle.fetch_add(1, Ordering::AcqRel);
                let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                match next {
                    Ok(request) => serve_one(&state, request),
                    Err(_) => break,
                }
            }
        });
        if let Err(e) = spawned {
            // The request was dropped with the closure; tiny_http answers 500.
            eprintln!("fake-provider: cannot spawn a worker thread: {e}");
        }
    }
}

fn serve_one(state: &State, mut request: tiny_http::Request) {
    let fake = to_fake(&mut request);
    // A non-control request counts as in flight from here until its answer is about to be written (held, delayed
    // and stalled answers included); the guard also ends the count if anything below panics.
    let in_flight = (!fake.path.starts_with(control::PREFIX)).then(|| state.begin_request());
    let resp = app::handle(state, &fake);
    if resp.hold {
        state.gate.wait();
    }
    if resp.delay_ms > 0 {
        thread::sleep(Duration::from_millis(resp.delay_ms));
    }
    if resp.stall {
        let start = Instant::now();
        while start.elapsed() < STALL_LIMIT {
            thread::sleep(STALL_STEP);
        }
    }
    let answer = to_tiny(resp);
    drop(in_flight);
    let _ = request.respond(answer);
}

fn to_fake(request: &mut tiny_http::Request) -> FakeRequest {
    let mut fake = FakeRequest::new(request.method().as_str(), request.url());
    fake.headers = request
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
        .collect();
    fake.remote_addr = request.remote_addr().copied();
    // A broken body read just leaves what was read so far.
    let _ = request.as_reader().take(MAX_BODY).read_to_end(&mut fake.body);
    fake
}

fn to_tiny(resp: FakeResponse) -> Response<io::Cursor<Vec<u8>>> {
    // Always send Content-Length (tiny_http would switch to chunked encoding
    // above 32 KiB, which costs extra writes for no benefit here).
    let mut out = Response::from_data(resp.body).with_status_code(resp.status).with_chunked_threshold(usize::MAX);
    for (name, value) in &resp.headers {
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out.add_header(h);
        }
    }
    out
}
