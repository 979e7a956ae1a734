//! Webhook deliveries in each provider's real shape: the payload, the signature scheme and the headers
//! (HubSpot v3 and v1, `Stripe-Signature`, Shopify's `X-Shopify-Hmac-Sha256`, BigCommerce's Standard Webhooks,
//! Tether's generic scheme for REST), and the deliberately broken variants tests need (`Mode`).
//!
//! Everything here is a pure function of an event, a key, a mode and a `Stamp` (clock and unique number):
//! no sockets and no server state. Sending, subscriptions and the delivery log live in `webhook_send`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::data::{iso_ms, iso_secs, push_json_str};
use crate::state::{splitmix64, uuid_like};

/// How far in the past a `stale` delivery is stamped.
pub const STALE_MS: u64 = 10 * 60 * 1000;
/// Stripe API version written in event bodies.
pub const STRIPE_EVENT_API_VERSION: &str = "2024-06-20";
/// BigCommerce's `store_id` in payloads (the store behind `bigcommerce::STORE_HASH`).
pub const BIGCOMMERCE_STORE_ID: &str = "1001";
/// HubSpot's portal (account) id in payloads.
pub const HUBSPOT_PORTAL_ID: u64 = 62515;
/// What a `bad` delivery appends to the key before signing.
const WRONG_KEY_SUFFIX: &[u8] = b"-not-the-secret";

type HmacSha256 = Hmac<Sha256>;

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

    fn user_agent(self) -> &'static str {
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
    fn past(self) -> &'static str {
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

    fn singular(&self) -> &str {
        self.provider.objects().iter().find(|(plural, _)| *plural == self.object).map_or(&self.object, |(_, s)| s)
    }
}

/// When a delivery is made and the unique number its ids derive from.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub now_ms: u64,
    pub seq: u64,
}

/// A delivery ready to send: its own headers (the transport adds `Host`, `Content-Length` and `Connection`)
/// and the exact body.
#[derive(Debug, Clone)]
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Builds the delivery of `event` to `url` (the URL exactly as configured: HubSpot signs it). `key` is the
/// signing key (`Provider::signing_key`); it is not used by `Mode::Missing`.
pub fn build(event: &Event, url: &str, key: &[u8], mode: Mode, stamp: Stamp) -> Signed {
    let at_ms = if mode == Mode::Stale { stamp.now_ms.saturating_sub(STALE_MS) } else { stamp.now_ms };
    let at_s = at_ms / 1000;
    let wrong_key;
    let key = if mode == Mode::Bad {
        wrong_key = [key, WRONG_KEY_SUFFIX].concat();
        wrong_key.as_slice()
    } else {
        key
    };
    let seq = stamp.seq;
    let mut meta: Vec<(&str, String)> = Vec::new();
    let mut signature: Vec<(&str, String)> = Vec::new();
    let body = match event.provider {
        Provider::Hubspot => {
            let body = hubspot_body(event, at_ms, seq);
            let v3 = hmac_sha256(key, &[b"POST", url.as_bytes(), body.as_bytes(), at_ms.to_string().as_bytes()]);
            let v1 = Sha256::new().chain_update(key).chain_update(body.as_bytes()).finalize();
            meta.push(("X-HubSpot-Request-Timestamp", at_ms.to_string()));
            signature.push(("X-HubSpot-Signature-v3", BASE64.encode(v3)));
            signature.push(("X-HubSpot-Signature-Version", "v1".into()));
            signature.push(("X-HubSpot-Signature", hex(&v1)));
            body
        }
        Provider::Stripe => {
            let body = stripe_body(event, at_s, seq);
            let v1 = hmac_sha256(key, &[at_s.to_string().as_bytes(), b".", body.as_bytes()]);
            signature.push(("Stripe-Signature", format!("t={at_s},v1={}", hex(&v1))));
            body
        }
        Provider::Shopify => {
            let body = shopify_body(event);
            meta.push(("X-Shopify-Topic", format!("{}/{}", event.object, event.op.name())));
            signature.push(("X-Shopify-Hmac-Sha256", BASE64.encode(hmac_sha256(key, &[body.as_bytes()]))));
            meta.push(("X-Shopify-Shop-Domain", format!("{}.myshopify.com", crate::shopify::SHOP)));
            meta.push(("X-Shopify-API-Version", crate::shopify::API_VERSION.into()));
            meta.push(("X-Shopify-Webhook-Id", uuid_like(seq)));
            meta.push(("X-Shopify-Event-Id", seq.to_string()));
            meta.push(("X-Shopify-Triggered-At", iso_ms(at_ms)));
            body
        }
        Provider::Bigcommerce => {
            let body = bigcommerce_body(event, at_s, seq);
            let id = format!("msg_{}", unique_hex(seq));
            let signed = hmac_sha256(key, &[id.as_bytes(), b".", at_s.to_string().as_bytes(), b".", body.as_bytes()]);
            meta.push(("webhook-id", id));
            meta.push(("webhook-timestamp", at_s.to_string()));
            signature.push(("webhook-signature", format!("v1,{}", BASE64.encode(signed))));
            body
        }
        Provider::Rest => {
            let body = rest_body(event, at_ms, seq);
            let signed = hmac_sha256(key, &[at_s.to_string().as_bytes(), b".", body.as_bytes()]);
            meta.push(("X-Signature-Timestamp", at_s.to_string()));
            signature.push(("X-Signature", format!("sha256={}", hex(&signed))));
            body
        }
    };
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("User-Agent".to_string(), event.provider.user_agent().to_string()),
    ];
    headers.extend(meta.into_iter().map(|(k, v)| (k.to_string(), v)));
    if mode != Mode::Missing {
        headers.extend(signature.into_iter().map(|(k, v)| (k.to_string(), v)));
    }
    let body = if mode == Mode::Tampered { tamper(&body) } else { body };
    Signed { headers, body }
}

// ------------------------------------------------------------------------------------------------ payloads

/// `[{"eventId": ..., "subscriptionType": "contact.propertyChange", ...}]`: HubSpot sends events in an array.
fn hubspot_body(event: &Event, at_ms: u64, seq: u64) -> String {
    let kind = match event.op {
        Op::Create => "creation",
        Op::Update => "propertyChange",
        Op::Delete => "deletion",
    };
    let mut out = format!(
        "[{{\"eventId\":{seq},\"subscriptionId\":1,\"portalId\":{HUBSPOT_PORTAL_ID},\"appId\":1,\"occurredAt\":{at_ms},\
         \"subscriptionType\":\"{}.{kind}\",\"attemptNumber\":0,\"objectId\":{}",
        event.singular(),
        event.id
    );
    if event.op == Op::Update {
        out.push_str(",\"propertyName\":\"email\"");
        let email = event.record.as_ref().and_then(|r| r["properties"]["email"].as_str());
        if let Some(email) = email {
            out.push_str(",\"propertyValue\":");
            push_json_str(&mut out, email);
        }
    }
    out.push_str(",\"changeSource\":\"CRM\"}]");
    out
}

/// A Stripe `event` whose `data.object` is the record (a deletion stub for deleted or unknown records).
fn stripe_body(event: &Event, at_s: u64, seq: u64) -> String {
    let object = match (&event.record, event.op) {
        (Some(record), Op::Create | Op::Update) => record.to_string(),
        _ => {
            let mut stub = String::from("{\"id\":");
            push_json_str(&mut stub, &event.id);
            stub.push_str(",\"object\":");
            push_json_str(&mut stub, event.singular());
            stub.push_str(",\"deleted\":true}");
            stub
        }
    };
    format!(
        "{{\"id\":\"evt_{}\",\"object\":\"event\",\"api_version\":\"{STRIPE_EVENT_API_VERSION}\",\"created\":{at_s},\
         \"type\":\"{}.{}\",\"livemode\":false,\"pending_webhooks\":1,\
         \"request\":{{\"id\":null,\"idempotency_key\":null}},\"data\":{{\"object\":{object}}}}}",
        unique_hex(seq),
        event.singular(),
        event.op.past()
    )
}

/// Shopify sends the record itself; a deletion carries only the id.
fn shopify_body(event: &Event) -> String {
    match (&event.record, event.op) {
        (Some(record), Op::Create | Op::Update) => record.to_string(),
        _ => format!("{{\"id\":{}}}", event.id),
    }
}

/// BigCommerce's lightweight callback: the scope and the id, never the record.
fn bigcommerce_body(event: &Event, at_s: u64, seq: u64) -> String {
    let singular = event.singular();
    let hash = Sha256::new()
        .chain_update(seq.to_be_bytes())
        .chain_update(event.object.as_bytes())
        .chain_update(event.id.as_bytes())
        .finalize();
    let hash = hex(&hash);
    format!(
        "{{\"created_at\":{at_s},\"store_id\":\"{BIGCOMMERCE_STORE_ID}\",\"producer\":\"stores/{}\",\
         \"scope\":\"store/{singular}/{}\",\"hash\":\"{}\",\"data\":{{\"type\":\"{singular}\",\"id\":{}}}}}",
        crate::bigcommerce::STORE_HASH,
        event.op.past(),
        &hash[..40],
        event.id
    )
}

/// Tether's generic event: which record of which object changed, never the record.
fn rest_body(event: &Event, at_ms: u64, seq: u64) -> String {
    let mut out = format!("{{\"id\":\"evt_{}\",\"type\":", unique_hex(seq));
    push_json_str(&mut out, &format!("{}.{}", event.object, event.op.past()));
    out.push_str(",\"object\":");
    push_json_str(&mut out, &event.object);
    out.push_str(",\"record_id\":");
    push_json_str(&mut out, &event.id);
    out.push_str(",\"occurred_at\":\"");
    out.push_str(&iso_secs(at_ms));
    out.push_str("\"}");
    out
}

/// The body with a `"tampered":true` member added to its (first) object: still JSON, no longer what was signed.
fn tamper(body: &str) -> String {
    let at = if body.starts_with("[{") { 2 } else { usize::from(body.starts_with('{')) };
    if at == 0 {
        return format!("{body} ");
    }
    let (head, tail) = body.split_at(at);
    let sep = if tail.starts_with('}') { "" } else { "," };
    format!("{head}\"tampered\":true{sep}{tail}")
}

// ------------------------------------------------------------------------------------------------ helpers

/// HMAC-SHA256 of the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// 24 hex digits, distinct for distinct `seq` (the first 16 are a bijection of it).
fn unique_hex(seq: u64) -> String {
    format!("{:016x}{:08x}", splitmix64(seq), splitmix64(!seq) >> 32)
}
