//! The scan's single-page mode, for mirror refreshes (`sync::refresh`): a refresh reads its source
//! foreign table with `INSERT INTO stage SELECT ... FROM source`, one page at a time, so that each page
//! is applied and its position saved in its own transaction. Before the statement the refresh arms
//! this backend-local switch for the source table; the scan claims it, fetches a single page (from the
//! saved position when there is one) and reports where the listing continues. Plain Rust: no Postgres
//! calls.

use std::cell::RefCell;

use crate::connector::pager::PagerPosition;

#[derive(Debug, Default)]
struct Armed {
    relid: u32,
    resume: Option<PagerPosition>,
    claimed: bool,
    outcome: Option<Outcome>,
}

/// What the single-page scan saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Where the listing continues; None when this page was the last.
    pub next: Option<PagerPosition>,
    /// How many records match, when the provider reported it.
    pub total: Option<u64>,
    /// Requests the scan sent (retries not counted).
    pub requests: u64,
}

thread_local! {
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
}

/// Arm the switch for the next scan of `relid`.
pub fn arm(relid: u32, resume: Option<PagerPosition>) {
    ARMED.with(|a| *a.borrow_mut() = Some(Armed { relid, resume, claimed: false, outcome: None }));
}

/// Called by a scan of `relid` as it starts: Some(resume position) when this scan is a refresh's
/// single-page read. Only the first scan of the statement claims it.
pub fn claim(relid: u32) -> Option<Option<PagerPosition>> {
    ARMED.with(|a| {
        let mut a = a.borrow_mut();
        match a.as_mut() {
            Some(armed) if armed.relid == relid && !armed.claimed => {
                armed.claimed = true;
                Some(armed.resume.take())
            }
            _ => None,
        }
    })
}

/// Called by the claiming scan with what its one page said.
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

/// Disarm and return what the scan reported; Ok(None) when it claimed the switch but fetched nothing.
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
        arm(42, Some(position("http://127.0.0.1:9/a?after=2")));
        assert_eq!(claim(7), None, "another relation is not the refresh's source");
        assert_eq!(claim(42), Some(Some(position("http://127.0.0.1:9/a?after=2"))));
        assert_eq!(claim(42), None, "a second scan of the source (a rescan or a self-join) reads normally");
        report(Outcome { next: Some(position("http://127.0.0.1:9/a?after=3")), total: Some(10), requests: 1 });
        let out = disarm().unwrap().unwrap();
        assert_eq!(out.total, Some(10));
        assert_eq!(out.next.unwrap().next.url, "http://127.0.0.1:9/a?after=3");
        assert_eq!(disarm(), Err(Unclaimed), "disarming clears the switch");
    }

    #[test]
    fn an_unclaimed_switch_is_an_error_when_disarmed() {
        arm(42, None);
        assert_eq!(disarm(), Err(Unclaimed));
        assert_eq!(claim(42), None);
    }
}
