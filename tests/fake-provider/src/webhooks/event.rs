//! What a delivery is about: the provider (and what its payloads can name), the operation, the signing mode and
//! the event (a change to one record).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    Hubspot,
    Stripe,
    Shopify,
    Bigcommerce,
    Rest,
}

pub const PROVIDERS: &[Provider] =
    &[Provider::Hubspot, Provider::Stripe, Provider::Shopify, Provider::Bigcommerce, Provider::Rest];

impl Provider {
    pub fn parse(s: &str) -> Result<Provider, String> {
        PROVIDERS.iter().copied().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<&str> = PROVIDERS.iter().map(|p| p.name()).collect();
            format!("provider must be one of {}, got '{s}'", names.join(", "))
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Hubspot => "hubspot",
            Provider::Stripe => "stripe",
            Provider::Shopify => "shopify",
            Provider::Bigcommerce => "bigcommerce",
            Provider::Rest => "rest",
        }
    }

    pub(super) fn user_agent(self) -> &'static str {
        match self {
            Provider::Hubspot => "HubSpot Connect 2.0 (fake)",
            Provider::Stripe => "Stripe/1.0 (+https://stripe.com/docs/webhooks) (fake)",
            Provider::Shopify => "Shopify-Captain-Hook (fake)",
            Provider::Bigcommerce => "BigCommerce-Webhooks (fake)",
            Provider::Rest => "Tether-REST-Webhooks (fake)",
        }
    }

    /// The objects a webhook can be about, in the fake's plural naming, with the singular the payload uses.
    /// Empty: any name (the generic REST provider).
    fn objects(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Provider::Hubspot => &[("contacts", "contact"), ("companies", "company"), ("deals", "deal")],
            Provider::Stripe => {
                &[("customers", "customer"), ("products", "product"), ("prices", "price"), ("invoices", "invoice")]
            }
            Provider::Shopify | Provider::Bigcommerce => {
                &[("customers", "customer"), ("products", "product"), ("orders", "order")]
            }
            Provider::Rest => &[],
        }
    }

    /// The object a delivery is about when the request names none.
    pub fn default_object(self) -> &'static str {
        match self {
            Provider::Hubspot => "contacts",
            Provider::Rest => "items",
            _ => "customers",
        }
    }

    /// Whether record ids are numbers in this provider's payloads.
    fn numeric_ids(self) -> bool {
        matches!(self, Provider::Hubspot | Provider::Shopify | Provider::Bigcommerce)
    }

    /// The signing key from the `secret` as a user gives it: its bytes, except for BigCommerce (Standard
    /// Webhooks), whose secret is `whsec_` followed by the base64 of the key.
    pub fn signing_key(self, secret: &str) -> Result<Vec<u8>, String> {
        if secret.is_empty() {
            return Err("secret must not be empty".into());
        }
        if self != Provider::Bigcommerce {
            return Ok(secret.as_bytes().to_vec());
        }
        let form = "bigcommerce secrets have the Standard Webhooks form whsec_<base64 of the key>, e.g. \
                    whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let Some(encoded) = secret.strip_prefix("whsec_") else {
            return Err(format!("secret does not start with whsec_: {form}"));
        };
        match BASE64.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(key),
            _ => Err(format!("the part of secret after whsec_ is not base64: {form}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    pub fn parse(s: &str) -> Result<Op, String> {
        match s {
            "create" => Ok(Op::Create),
            "update" => Ok(Op::Update),
            "delete" => Ok(Op::Delete),
            _ => Err(format!("op must be create, update or delete, got '{s}'")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    /// `created`, `updated`, `deleted` (Stripe, BigCommerce and REST event types).
    pub(super) fn past(self) -> &'static str {
        match self {
            Op::Create => "created",
            Op::Update => "updated",
            Op::Delete => "deleted",
        }
    }
}

/// How a delivery is signed: correctly, or broken in one way a receiver must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Good,
    /// Signed with a wrong secret.
    Bad,
    /// No signature headers at all (timestamp and id headers are still sent).
    Missing,
    /// Stamped `STALE_MS` in the past, correctly signed for that time.
    Stale,
    /// Correctly signed, then the body changed (still valid JSON) before sending.
    Tampered,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode, String> {
        match s {
            "good" => Ok(Mode::Good),
            "bad" => Ok(Mode::Bad),
            "missing" => Ok(Mode::Missing),
            "stale" => Ok(Mode::Stale),
            "tampered" => Ok(Mode::Tampered),
            _ => Err(format!("mode must be good, bad, missing, stale or tampered, got '{s}'")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Good => "good",
            Mode::Bad => "bad",
            Mode::Missing => "missing",
            Mode::Stale => "stale",
            Mode::Tampered => "tampered",
        }
    }
}

/// A change to one record, as a webhook announces it.
#[derive(Debug, Clone)]
pub struct Event {
    pub provider: Provider,
    /// The fake's plural name (`contacts`, `customers`, `items`).
    pub object: String,
    pub id: String,
    pub op: Op,
    /// The record as the provider's API returns it (`None`: deleted or unknown). HubSpot reads the e-mail of
    /// a property change from it, Stripe and Shopify send it.
    pub record: Option<Value>,
}

impl Event {
    /// Checks the object name and the id against what the provider's payloads can carry.
    pub fn new(provider: Provider, object: &str, id: &str, op: Op, record: Option<Value>) -> Result<Event, String> {
        let objects = provider.objects();
        if objects.is_empty() {
            let plain =
                !object.is_empty() && object.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !plain {
                return Err(format!("object must be a name of letters, digits, _ and - for rest, got '{object}'"));
            }
        } else if !objects.iter().any(|(plural, _)| *plural == object) {
            let names: Vec<&str> = objects.iter().map(|(plural, _)| *plural).collect();
            return Err(format!("object must be one of {} for {}, got '{object}'", names.join(", "), provider.name()));
        }
        let id = id.trim();
        if id.is_empty() {
            return Err("id must not be empty".into());
        }
        let id = if provider.numeric_ids() {
            match id.parse::<u64>() {
                Ok(n) => n.to_string(),
                Err(_) => return Err(format!("id must be a number for {}, got '{id}'", provider.name())),
            }
        } else {
            id.to_string()
        };
        Ok(Event { provider, object: object.to_string(), id, op, record })
    }

    pub(super) fn singular(&self) -> &str {
        self.provider.objects().iter().find(|(plural, _)| *plural == self.object).map_or(&self.object, |(_, s)| s)
    }
}
