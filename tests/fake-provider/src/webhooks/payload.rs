//! The bodies of deliveries, byte for byte as each provider sends them: HubSpot's event array, a Stripe `event`,
//! Shopify's record, BigCommerce's lightweight callback, Tether's generic REST event.

use sha2::{Digest, Sha256};

use super::event::{Event, Op};
use super::sign::{hex, unique_hex};
use crate::shared::json::push_json_str;
use crate::shared::time::iso_secs;

/// Stripe API version written in event bodies.
pub const STRIPE_EVENT_API_VERSION: &str = "2024-06-20";
/// BigCommerce's `store_id` in payloads (the store behind `bigcommerce::STORE_HASH`).
pub const BIGCOMMERCE_STORE_ID: &str = "1001";
/// HubSpot's portal (account) id in payloads.
pub const HUBSPOT_PORTAL_ID: u64 = 62515;

/// `[{"eventId": ..., "subscriptionType": "contact.propertyChange", ...}]`: HubSpot sends events in an array.
pub(super) fn hubspot_body(event: &Event, at_ms: u64, seq: u64) -> String {
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
pub(super) fn stripe_body(event: &Event, at_s: u64, seq: u64) -> String {
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
pub(super) fn shopify_body(event: &Event) -> String {
    match (&event.record, event.op) {
        (Some(record), Op::Create | Op::Update) => record.to_string(),
        _ => format!("{{\"id\":{}}}", event.id),
    }
}

/// BigCommerce's lightweight callback: the scope and the id, never the record.
pub(super) fn bigcommerce_body(event: &Event, at_s: u64, seq: u64) -> String {
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
pub(super) fn rest_body(event: &Event, at_ms: u64, seq: u64) -> String {
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
pub(super) fn tamper(body: &str) -> String {
    let at = if body.starts_with("[{") { 2 } else { usize::from(body.starts_with('{')) };
    if at == 0 {
        return format!("{body} ");
    }
    let (head, tail) = body.split_at(at);
    let sep = if tail.starts_with('}') { "" } else { "," };
    format!("{head}\"tampered\":true{sep}{tail}")
}
