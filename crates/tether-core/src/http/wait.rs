//! Helper threads and the interruptible wait. HTTP never blocks the backend thread: the request runs on a
//! helper thread that touches no Postgres API, and the backend waits for it in ~50 ms slices, calling
//! `check` (CHECK_FOR_INTERRUPTS in the backend) between slices so statement_timeout and
//! pg_cancel_backend stop a stalled call promptly. A cancelled wait leaves the helper to finish (or time
//! out) on its own; its result is dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::TetherError;

/// How often the backend checks for interrupts while waiting.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// Spawn a helper thread with every signal blocked, so Postgres' signal handlers (cancel, timeouts)
/// always run on the backend's own thread.
pub fn spawn_helper(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, TetherError> {
    spawn_blocked(std::thread::Builder::new().name(name.to_string()), f)
}

/// `spawn_helper` with a stack of `stack_size` bytes instead of the default (2 MiB), for the many small
/// threads that run little code (the webhook receiver's connections).
pub fn spawn_small_helper(
    name: &str,
    stack_size: usize,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, TetherError> {
    spawn_blocked(std::thread::Builder::new().name(name.to_string()).stack_size(stack_size), f)
}

fn spawn_blocked(
    builder: std::thread::Builder,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, TetherError> {
    // SAFETY: plain libc signal-mask calls on initialised sigset_t values; the mask is restored before
    // returning, so the backend thread is left exactly as it was.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        let spawned = builder.spawn(f);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        spawned.map_err(|e| TetherError::Internal(format!("could not start a helper thread: {e}")))
    }
}

/// Text of a caught panic, for the error that reports it.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Wait for a message, calling `check` every CHECK_INTERVAL. `None` when the sender is gone.
pub fn recv_interruptible<T>(rx: &Receiver<T>, check: &mut dyn FnMut()) -> Option<T> {
    loop {
        match rx.recv_timeout(CHECK_INTERVAL) {
            Ok(v) => return Some(v),
            Err(RecvTimeoutError::Timeout) => check(),
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Sets the flag when dropped: the wait ended, normally or because the statement was cancelled.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Run `f` on a helper thread and wait for its result interruptibly. `f` gets a flag that is set when
/// the backend stops waiting (a cancelled statement): it must then make no further request. A panic in
/// `f` becomes an Internal error instead of crossing into Postgres.
pub fn run<T: Send + 'static>(
    f: impl FnOnce(&AtomicBool) -> Result<T, TetherError> + Send + 'static,
    check: &mut dyn FnMut(),
) -> Result<T, TetherError> {
    let (tx, rx) = mpsc::channel();
    let abandoned = Arc::new(AtomicBool::new(false));
    let flag = abandoned.clone();
    spawn_helper("tether-http", move || {
        let result = catch_unwind(AssertUnwindSafe(|| f(&flag)))
            .unwrap_or_else(|p| Err(TetherError::Internal(format!("panic in HTTP helper: {}", panic_message(&*p)))));
        let _ = tx.send(result);
    })?;
    let _guard = Abandon(abandoned);
    recv_interruptible(&rx, check)
        .unwrap_or_else(|| Err(TetherError::Internal("the HTTP helper thread ended without an answer".into())))
}

/// How often a sleeping helper thread looks whether its statement gave up on it.
const SLICE: Duration = Duration::from_millis(50);

/// Sleep in short slices (a Retry-After, a backoff, a rate-limit wait) on a helper thread; false when
/// `abandoned` was set meanwhile, so that a cancelled statement's thread ends soon.
pub fn sleep(total: Duration, abandoned: &AtomicBool) -> bool {
    let mut left = total;
    while !left.is_zero() {
        if abandoned.load(Ordering::Relaxed) {
            return false;
        }
        let step = left.min(SLICE);
        std::thread::sleep(step);
        left -= step;
    }
    !abandoned.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn returns_the_helpers_result() {
        let mut checks = 0;
        let v = run(|_| Ok(41 + 1), &mut || checks += 1).unwrap();
        assert_eq!(v, 42);
    }

    #[test]
    fn checks_for_interrupts_while_waiting() {
        let mut checks = 0;
        run(
            |_| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            },
            &mut || checks += 1,
        )
        .unwrap();
        assert!(checks >= 2, "check ran {checks} times during a 300 ms wait");
    }

    #[test]
    fn a_cancelling_check_stops_the_wait_early() {
        // The backend's check raises an ERROR, which unwinds out of the wait; model it with a panic.
        let started = std::time::Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut n = 0;
            run(
                |_| {
                    std::thread::sleep(Duration::from_secs(30));
                    Ok(())
                },
                &mut || {
                    n += 1;
                    if n == 3 {
                        panic!("canceling statement due to statement timeout");
                    }
                },
            )
        }));
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(5), "the wait ended in {:?}", started.elapsed());
    }

    #[test]
    fn a_panic_in_the_helper_becomes_an_error() {
        let e = run::<()>(|_| panic!("boom"), &mut || {}).unwrap_err();
        assert!(e.to_string().contains("panic in HTTP helper: boom"), "{e}");
    }

    #[test]
    fn helper_threads_block_signals() {
        let blocked = Arc::new(AtomicUsize::new(0));
        let check = |b: Arc<AtomicUsize>| {
            move || unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
                if libc::sigismember(&set, libc::SIGINT) == 1 && libc::sigismember(&set, libc::SIGALRM) == 1 {
                    b.fetch_add(1, Ordering::SeqCst);
                }
            }
        };
        spawn_helper("t", check(blocked.clone())).unwrap().join().unwrap();
        spawn_small_helper("t", 64 * 1024, check(blocked.clone())).unwrap().join().unwrap();
        assert_eq!(blocked.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn abandoned_sleep_stops_early() {
        let flag = AtomicBool::new(true);
        let t = std::time::Instant::now();
        assert!(!sleep(Duration::from_secs(5), &flag));
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
