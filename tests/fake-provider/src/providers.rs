//! The providers added on top of HubSpot and the generic REST resource. Each lives in its own module
//! and is listed in `MODULES`: the router, `/_control/seed` and `/_control/reset` go through this list,
//! so a provider needs no change anywhere else. A provider keeps its data in a store of its own type
//! inside `State` (`State::with_store`).

use crate::http::{FakeRequest, FakeResponse};
use crate::state::State;
use crate::{airtable, bigcommerce, oauth, salesforce, shopify, stripe};

pub struct ProviderModule {
    pub name: &'static str,
    /// Whether a request path belongs to this provider.
    pub handles: fn(&str) -> bool,
    /// Serve a request (None: no such endpoint, answered with the generic 404).
    pub handle: fn(&State, &FakeRequest) -> Option<FakeResponse>,
    /// The body of an injected failure, in this provider's error shape.
    pub injected_error: fn(&State, u16) -> FakeResponse,
    /// Regenerate one of this provider's data sets (`/_control/seed?object=...`); false if unknown.
    pub seed: fn(&State, &str, u64) -> bool,
    /// Called by `/_control/reset` (e.g. to forget idempotency keys); data is kept.
    pub reset: fn(&State),
}

pub const MODULES: &[&ProviderModule] =
    &[&oauth::MODULE, &salesforce::MODULE, &airtable::MODULE, &stripe::MODULE, &shopify::MODULE, &bigcommerce::MODULE];

pub fn find(path: &str) -> Option<&'static ProviderModule> {
    MODULES.iter().copied().find(|m| (m.handles)(path))
}
