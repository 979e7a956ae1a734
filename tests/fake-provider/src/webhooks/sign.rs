//! Building a delivery: its body (`payload`), headers and signature in the provider's scheme, and the broken
//! variants of `Mode`. A pure function of the event, the key, the mode and a `Stamp`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::event::{Event, Mode, Provider};
use super::payload::{bigcommerce_body, hubspot_body, rest_body, shopify_body, stripe_body, tamper};
use crate::shared::seed::{splitmix64, uuid_like};
use crate::shared::time::iso_ms;

/// How far in the past a `stale` delivery is stamped.
pub const STALE_MS: u64 = 10 * 60 * 1000;

/// What a `bad` delivery appends to the key before signing.
const WRONG_KEY_SUFFIX: &[u8] = b"-not-the-secret";

type HmacSha256 = Hmac<Sha256>;

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
pub(super) fn unique_hex(seq: u64) -> String {
    format!("{:016x}{:08x}", splitmix64(seq), splitmix64(!seq) >> 32)
}
