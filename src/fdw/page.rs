//! The scan's batch mode, for mirror refreshes (`sync::refresh`): a refresh reads its source foreign
//! table with `INSERT INTO stage SELECT ... FROM source`, a batch of pages at a time, so that each batch
//! is applied and its position saved in its own transaction. Before the statement the refresh arms
//! this backend-local switch for the source table; the scan claims it, reads at most the armed number
//! of pages (from the saved position when there is one) and reports, after each page, where the
//! listing continues.
//!
//! The stream goes on between batches: when a batch ends with more to read, the scan parks its stream
//! here, and its helper keeps fetching (up to a batch ahead) while the refresh merges and commits. The
//! next batch's scan takes the parked stream if it continues exactly where the batch was saved, and
//! starts anew otherwise. Plain Rust: no Postgres calls.

use std::cell::RefCell;

use crate::connector::pager::PagerPosition;
use crate::http::pages::PageStream;

#[derive(Debug, Default)]
struct Armed {
    relid: u32,
    resume: Option<PagerPosition>,
    max_pages: u64,
    claimed: bool,
    outcome: Option<Outcome>,
}

/// What the batch's scan saw, as of its last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Where the listing continues; None when the last page read was the listing's last.
    pub next: Option<PagerPosition>,
    /// Pages read.
    pub pages: u64,
    /// How many records match, when the provider reported it.
    pub total: Option<u64>,
    /// Requests the scan sent (retries not counted).
    pub requests: u64,
}

thread_local! {
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
    static PARKED: RefCell<Option<Parked>> = const { RefCell::new(None) };
}

/// A batch's stream, still fetching, where the listing continues after the batch, and how many of the
/// stream's requests the batches so far reported.
struct Parked {
    relid: u32,
    next: PagerPosition,
    stream: PageStream,
    reported: u64,
}

/// Keep `stream` (of a scan of `relid` whose batch ended before position `next`, having reported
/// `reported` of its requests) for the next batch.
pub fn park(relid: u32, next: PagerPosition, stream: PageStream, reported: u64) {
    PARKED.with(|p| *p.borrow_mut() = Some(Parked { relid, next, stream, reported }));
}

/// The parked stream and its requests reported so far, if it reads `relid` on from `resume`; any other
/// parked stream is dropped (its helper stops).
pub fn take_parked(relid: u32, resume: Option<&PagerPosition>) -> Option<(PageStream, u64)> {
    let parked = PARKED.with(|p| p.borrow_mut().take())?;
    (parked.relid == relid && Some(&parked.next) == resume).then_some((parked.stream, parked.reported))
}

/// Whether a stream is parked (a batch of it would have been requested early: during the batch
/// before).
pub fn is_parked() -> bool {
    PARKED.with(|p| p.borrow().is_some())
}

/// Drop the parked stream, if any.
pub fn drop_parked() {
    PARKED.with(|p| p.borrow_mut().take());
}

/// Arm the switch for the next scan of `relid`, to read at most `max_pages` pages (at least one).
pub fn arm(relid: u32, resume: Option<PagerPosition>, max_pages: u64) {
    let max_pages = max_pages.max(1);
    ARMED.with(|a| *a.borrow_mut() = Some(Armed { relid, resume, max_pages, claimed: false, outcome: None }));
}

/// What a claiming scan reads: from where, and how many pages at most.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub resume: Option<PagerPosition>,
    pub max_pages: u64,
}

/// Called by a scan of `relid` as it starts: Some when this scan is a refresh's batch read. Only the
/// first scan of the statement claims it.
pub fn claim(relid: u32) -> Option<Claim> {
    ARMED.with(|a| {
        let mut a = a.borrow_mut();
        match a.as_mut() {
            Some(armed) if armed.relid == relid && !armed.claimed => {
                armed.claimed = true;
                Some(Claim { resume: armed.resume.take(), max_pages: armed.max_pages })
            }
            _ => None,
        }
    })
}

/// Called by the claiming scan after each page with what the batch saw so far.
pub fn report(outcome: Outcome) {
    ARMED.with(|a| {
        if let Some(armed) = a.borrow_mut().as_mut() {
            armed.outcome = Some(outcome);
        }
    })
}

/// No scan claimed the switch: the statement did not read the source through Tether's listing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unclaimed;

/// Disarm and return what the scan reported after its last page; Ok(None) when it claimed the switch
/// but fetched nothing.
pub fn disarm() -> Result<Option<Outcome>, Unclaimed> {
    ARMED.with(|a| match a.borrow_mut().take() {
        Some(armed) if armed.claimed => Ok(armed.outcome),
        _ => Err(Unclaimed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::request::Request;

    fn position(url: &str) -> PagerPosition {
        PagerPosition { next: Request::get(url.into()), offset: 0, page: 0, max_page_len: 0, pages: 1 }
    }

    #[test]
    fn only_the_armed_relation_claims_once_and_reports() {
        arm(42, Some(position("http://127.0.0.1:9/a?after=2")), 20);
        assert_eq!(claim(7), None, "another relation is not the refresh's source");
        assert_eq!(claim(42), Some(Claim { resume: Some(position("http://127.0.0.1:9/a?after=2")), max_pages: 20 }));
        assert_eq!(claim(42), None, "a second scan of the source (a rescan or a self-join) reads normally");
        report(Outcome {
            next: Some(position("http://127.0.0.1:9/a?after=3")),
            pages: 1,
            total: Some(10),
            requests: 1,
        });
        report(Outcome {
            next: Some(position("http://127.0.0.1:9/a?after=4")),
            pages: 2,
            total: Some(10),
            requests: 2,
        });
        let out = disarm().unwrap().unwrap();
        assert_eq!((out.total, out.pages), (Some(10), 2), "the last report is the batch's");
        assert_eq!(out.next.unwrap().next.url, "http://127.0.0.1:9/a?after=4");
        assert_eq!(disarm(), Err(Unclaimed), "disarming clears the switch");
    }

    #[test]
    fn an_unclaimed_switch_is_an_error_when_disarmed() {
        arm(42, None, 0);
        assert_eq!(claim(42).map(|c| c.max_pages), Some(1), "a batch reads one page at least");
        arm(42, None, 5);
        assert_eq!(disarm(), Err(Unclaimed));
        assert_eq!(claim(42), None);
    }
}
