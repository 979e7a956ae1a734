//! Incoming webhooks: the connector's `webhooks` section (how a provider signs its deliveries and where
//! an event names its object, record and action), signature verification, and reading the events of a
//! delivery. Plain Rust, no Postgres and no I/O: `sync::webhook` serves the HTTP endpoint and records
//! what this module accepts.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::connector::pointer::Pointer;
use crate::error::TetherError;

/// How long a signed timestamp stays acceptable (either way), unless `tether.webhook_tolerance` says
/// otherwise: the five minutes HubSpot, Stripe and Standard Webhooks all recommend.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A connector's `webhooks` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDef {
    pub signature: SignatureDef,
    /// JSON pointer to an array of events in the body (HubSpot sends a batch); absent: the body is one
    /// event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
    /// Where an event's unique id is: a JSON pointer into the event, or `header:<name>`. Deliveries are
    /// recorded once per id, so a provider's retries are not counted twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Where the topic is (`contact.propertyChange`, `customers/update`): its last `.` or `/` segment is
    /// the action, the rest names the provider's object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Where the changed record's id is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The provider's object names (from the topic) mapped to the connector's objects. A topic whose
    /// object is not listed refreshes no mirror; without a topic, every mirror of the server is refreshed.
    #[serde(default)]
    pub objects: BTreeMap<String, String>,
    /// Actions that mean the record was deleted (`deletion`, `deleted`, `delete`).
    #[serde(default)]
    pub delete_actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignatureDef {
    /// `X-HubSpot-Signature-v3`: base64 HMAC-SHA256 of method, full URL, body and
    /// `X-HubSpot-Request-Timestamp` (milliseconds).
    HubspotV3,
    /// `Stripe-Signature: t=<seconds>,v1=<hex>` over `"<t>.<body>"`.
    Stripe,
    /// `X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the body. The signature covers no timestamp, so
    /// staleness is judged from `X-Shopify-Triggered-At` and replays by `X-Shopify-Webhook-Id`.
    Shopify,
    /// Standard Webhooks (BigCommerce): `webhook-signature: v1,<base64>` over `"<id>.<timestamp>.<body>"`
    /// with the key in a `whsec_<base64>` secret.
    StandardWebhooks,
    /// A generic HMAC-SHA256 header: `<prefix><hex or base64>` over the body, or over
    /// `"<timestamp>.<body>"` when `timestamp_header` is set (seconds).
    HmacSha256 {
        header: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        encoding: SignatureEncoding,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp_header: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

impl SignatureDef {
    pub fn name(&self) -> &'static str {
        match self {
            SignatureDef::HubspotV3 => "hubspot_v3",
            SignatureDef::Stripe => "stripe",
            SignatureDef::Shopify => "shopify",
            SignatureDef::StandardWebhooks => "standard_webhooks",
            SignatureDef::HmacSha256 { .. } => "hmac_sha256",
        }
    }

    /// Whether the signature covers a timestamp. Where it does not (Shopify; the generic scheme without
    /// a timestamp header), a captured delivery can be sent again with any freshness or event id in
    /// its unsigned headers: the receiver then recognises a replay by its body.
    pub fn signs_time(&self) -> bool {
        match self {
            SignatureDef::HubspotV3 | SignatureDef::Stripe | SignatureDef::StandardWebhooks => true,
            SignatureDef::Shopify => false,
            SignatureDef::HmacSha256 { timestamp_header, .. } => timestamp_header.is_some(),
        }
    }

    /// Whether `secret` has the form this scheme needs (the webhook_secret option).
    pub fn check_secret(&self, secret: &str) -> Result<(), String> {
        if secret.is_empty() {
            return Err("webhook_secret must not be empty".into());
        }
        if let SignatureDef::StandardWebhooks = self {
            standard_webhooks_key(secret)?;
        }
        Ok(())
    }
}

impl WebhookDef {
    pub fn validate(&self, at: &str) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        if let Some(p) = &self.events {
            if let Err(m) = Pointer::parse(p) {
                return bad(format!("{at}/events"), m);
            }
        }
        for (name, place) in [("event_id", &self.event_id), ("topic", &self.topic), ("record_id", &self.record_id)] {
            if let Some(place) = place {
                if let Err(m) = Place::parse(place) {
                    return bad(format!("{at}/{name}"), m);
                }
            }
        }
        if let SignatureDef::HmacSha256 { header, timestamp_header, .. } = &self.signature {
            for (name, h) in [("header", Some(header)), ("timestamp_header", timestamp_header.as_ref())] {
                if let Some(h) = h {
                    if !is_header_name(h) {
                        return bad(format!("{at}/signature/{name}"), format!("\"{h}\" is not a header name"));
                    }
                }
            }
        }
        Ok(())
    }
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where a value of an event is read: a JSON pointer into the event, or a request header.
enum Place {
    Pointer(Pointer),
    Header(String),
}

impl Place {
    fn parse(text: &str) -> Result<Place, String> {
        match text.strip_prefix("header:") {
            Some(h) if is_header_name(h.trim()) => Ok(Place::Header(h.trim().to_ascii_lowercase())),
            Some(h) => Err(format!("\"{h}\" is not a header name")),
            None => Pointer::parse(text).map(Place::Pointer),
        }
    }

    fn read(&self, event: &Value, request: &Delivery) -> Option<String> {
        match self {
            Place::Header(h) => request.header(h).map(str::to_string),
            Place::Pointer(p) => match p.get(event)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
        }
    }
}

/// One HTTP delivery as received. Header names are lower case.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub method: String,
    /// The full URL the provider called (HubSpot signs it): the server's webhook_url option, or the
    /// address this request reached.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn header(&self, lower_name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == lower_name).map(|(_, v)| v.as_str())
    }
}

/// Why a delivery is refused: each becomes a 4xx answer (and a log line) naming the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No signature where the scheme requires one (401).
    Unsigned(String),
    /// A signature that does not match (401).
    BadSignature(String),
    /// A timestamp outside the replay window (401).
    Stale(String),
    /// A body that is not the JSON the connector describes (400).
    Malformed(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            _ => 401,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Refusal::Unsigned(m) | Refusal::BadSignature(m) | Refusal::Stale(m) | Refusal::Malformed(m) => m,
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Comparison whose time does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn standard_webhooks_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix("whsec_").ok_or_else(|| {
        "a Standard Webhooks secret has the form whsec_<base64>, as the provider shows it".to_string()
    })?;
    b64().decode(encoded).map_err(|_| "the part after whsec_ of the webhook secret is not valid base64".to_string())
}

/// Check a signed timestamp (seconds since the epoch) against the replay window.
fn check_fresh(what: &str, signed: Duration, now: SystemTime, tolerance: Duration) -> Result<(), Refusal> {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let skew = now.abs_diff(signed);
    if skew > tolerance {
        return Err(Refusal::Stale(format!(
            "{what} is {} s away from this server's clock, outside the {} s replay window",
            skew.as_secs(),
            tolerance.as_secs()
        )));
    }
    Ok(())
}

fn required<'a>(delivery: &'a Delivery, header: &str) -> Result<&'a str, Refusal> {
    delivery.header(&header.to_ascii_lowercase()).ok_or_else(|| Refusal::Unsigned(format!("missing header {header}")))
}

fn seconds(header: &str, text: &str) -> Result<Duration, Refusal> {
    text.trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| Refusal::BadSignature(format!("header {header} is not a number of seconds: \"{text}\"")))
}

/// HubSpot decodes these in the request URI before signing it.
fn hubspot_uri(url: &str) -> String {
    const DECODED: &[(&str, char)] = &[
        ("%3A", ':'),
        ("%2F", '/'),
        ("%3F", '?'),
        ("%40", '@'),
        ("%21", '!'),
        ("%24", '$'),
        ("%27", '\''),
        ("%28", '('),
        ("%29", ')'),
        ("%2A", '*'),
        ("%2C", ','),
        ("%3B", ';'),
    ];
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i..i + 3).unwrap_or("");
        match DECODED.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)) {
            Some((_, ch)) => {
                out.push(*ch);
                rest = &rest[i + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Verify a delivery's signature and freshness with the server's secret.
pub fn verify(
    scheme: &SignatureDef,
    secret: &str,
    delivery: &Delivery,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), Refusal> {
    let body = delivery.body.as_slice();
    match scheme {
        SignatureDef::HubspotV3 => {
            let signature = required(delivery, "X-HubSpot-Signature-v3")?;
            let timestamp = required(delivery, "X-HubSpot-Request-Timestamp")?;
            let millis = timestamp.trim().parse::<u64>().map_err(|_| {
                Refusal::BadSignature(format!(
                    "header X-HubSpot-Request-Timestamp is not a number of milliseconds: \"{timestamp}\""
                ))
            })?;
            check_fresh("X-HubSpot-Request-Timestamp", Duration::from_millis(millis), now, tolerance)?;
            let uri = hubspot_uri(&delivery.url);
            let expected =
                hmac(secret.as_bytes(), &[delivery.method.as_bytes(), uri.as_bytes(), body, timestamp.as_bytes()]);
            let given = b64().decode(signature.trim()).unwrap_or_default();
            if !same(&expected, &given) {
                return Err(Refusal::BadSignature(format!(
                    "X-HubSpot-Signature-v3 does not match the body signed for {uri} with the server's webhook_secret (set webhook_url if HubSpot calls a different URL)"
                )));
            }
        }
        SignatureDef::Stripe => {
            let header = required(delivery, "Stripe-Signature")?;
            let mut t = None;
            let mut v1 = Vec::new();
            for part in header.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", v)) => t = Some(v),
                    Some(("v1", v)) => v1.push(v),
                    _ => {}
                }
            }
            let t = t.ok_or_else(|| Refusal::Unsigned("Stripe-Signature has no timestamp (t=)".into()))?;
            if v1.is_empty() {
                return Err(Refusal::Unsigned("Stripe-Signature has no v1 signature".into()));
            }
            check_fresh("the Stripe-Signature timestamp", seconds("Stripe-Signature t", t)?, now, tolerance)?;
            let expected = hex(&hmac(secret.as_bytes(), &[t.as_bytes(), b".", body]));
            if !v1.iter().any(|s| same(s.as_bytes(), expected.as_bytes())) {
                return Err(Refusal::BadSignature(
                    "no v1 signature in Stripe-Signature matches the body signed with the server's webhook_secret"
                        .into(),
                ));
            }
        }
        SignatureDef::Shopify => {
            let signature = required(delivery, "X-Shopify-Hmac-Sha256")?;
            let expected = hmac(secret.as_bytes(), &[body]);
            let given = b64().decode(signature.trim()).unwrap_or_default();
            if !same(&expected, &given) {
                return Err(Refusal::BadSignature(
                    "X-Shopify-Hmac-Sha256 does not match the body signed with the server's webhook_secret".into(),
                ));
            }
            if let Some(at) = delivery.header("x-shopify-triggered-at") {
                let when = parse_rfc3339(at).ok_or_else(|| {
                    Refusal::Malformed(format!("X-Shopify-Triggered-At is not an RFC 3339 time: \"{at}\""))
                })?;
                check_fresh("X-Shopify-Triggered-At", when, now, tolerance)?;
            }
        }
        SignatureDef::StandardWebhooks => {
            let id = required(delivery, "webhook-id")?;
            let timestamp = required(delivery, "webhook-timestamp")?;
            let signatures = required(delivery, "webhook-signature")?;
            check_fresh("webhook-timestamp", seconds("webhook-timestamp", timestamp)?, now, tolerance)?;
            let key = standard_webhooks_key(secret).map_err(Refusal::BadSignature)?;
            let expected = hmac(&key, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
            let matches = signatures.split_whitespace().filter_map(|s| s.strip_prefix("v1,")).any(|s| {
                let given = b64().decode(s).unwrap_or_default();
                same(&expected, &given)
            });
            if !matches {
                return Err(Refusal::BadSignature(
                    "no v1 signature in webhook-signature matches the body signed with the server's webhook_secret"
                        .into(),
                ));
            }
        }
        SignatureDef::HmacSha256 { header, prefix, encoding, timestamp_header } => {
            let signature = required(delivery, header)?;
            let given = signature
                .trim()
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| Refusal::BadSignature(format!("header {header} does not start with \"{prefix}\"")))?;
            let expected = match timestamp_header {
                Some(th) => {
                    let t = required(delivery, th)?;
                    check_fresh(&format!("header {th}"), seconds(th, t)?, now, tolerance)?;
                    hmac(secret.as_bytes(), &[t.trim().as_bytes(), b".", body])
                }
                None => hmac(secret.as_bytes(), &[body]),
            };
            let ok = match encoding {
                SignatureEncoding::Hex => same(hex(&expected).as_bytes(), given.to_ascii_lowercase().as_bytes()),
                SignatureEncoding::Base64 => same(&expected, &b64().decode(given).unwrap_or_default()),
            };
            if !ok {
                return Err(Refusal::BadSignature(format!(
                    "header {header} does not match the body signed with the server's webhook_secret"
                )));
            }
        }
    }
    Ok(())
}

/// `2026-11-21T10:00:00Z`, `2026-11-21T10:00:00.123+01:00`: seconds since the epoch.
fn parse_rfc3339(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (date, time) = t.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (y, mo, da) = (d.next()?.parse::<i64>().ok()?, d.next()?.parse::<i64>().ok()?, d.next()?.parse::<i64>().ok()?);
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => return None,
    };
    let mut c = clock.split(':');
    let (h, mi) = (c.next()?.parse::<i64>().ok()?, c.next()?.parse::<i64>().ok()?);
    let s = c.next()?.split('.').next()?.parse::<i64>().ok()?;
    let offset_secs = match offset {
        "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':')?;
            let (oh, om) = (oh.parse::<i64>().ok()?, om.parse::<i64>().ok()?);
            if !(0..=23).contains(&oh) || !(0..=59).contains(&om) {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    // The header is not signed: anything out of a calendar's range is refused before the arithmetic
    // below could overflow.
    let in_range = (0..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && (1..=31).contains(&da)
        && (0..=23).contains(&h)
        && (0..=59).contains(&mi)
        && (0..=60).contains(&s);
    if !in_range {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), as in Howard Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
    u64::try_from(secs).ok().map(Duration::from_secs)
}

/// The SHA-256 of a delivery's body, in hex: what a replay of it is recognised by.
pub fn body_digest(body: &[u8]) -> String {
    use sha2::Digest;
    hex(&Sha256::digest(body))
}

/// One event of a delivery, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: Option<String>,
    pub topic: Option<String>,
    /// The connector object the event is about (None: unknown, or no topic).
    pub object: Option<String>,
    /// The provider's object name from the topic, kept when it maps to no connector object.
    pub provider_object: Option<String>,
    pub record_id: Option<String>,
    pub deleted: bool,
    pub payload: Value,
}

/// Read the events of a verified delivery.
pub fn events(def: &WebhookDef, delivery: &Delivery) -> Result<Vec<Event>, Refusal> {
    let body: Value =
        serde_json::from_slice(&delivery.body).map_err(|e| Refusal::Malformed(format!("the body is not JSON: {e}")))?;
    let list = match &def.events {
        Some(p) => {
            let pointer = Pointer::parse(p).map_err(Refusal::Malformed)?;
            match pointer.get(&body) {
                Some(Value::Array(items)) => items.clone(),
                _ => return Err(Refusal::Malformed(format!("the body has no array of events at \"{p}\""))),
            }
        }
        None => vec![body],
    };
    let place = |p: &Option<String>| p.as_deref().map(Place::parse).transpose().map_err(Refusal::Malformed);
    let (id_at, topic_at, record_at) = (place(&def.event_id)?, place(&def.topic)?, place(&def.record_id)?);
    Ok(list
        .into_iter()
        .map(|event| {
            let read = |p: &Option<Place>| p.as_ref().and_then(|p| p.read(&event, delivery));
            let topic = read(&topic_at);
            let (provider_object, action) = match topic.as_deref().and_then(|t| t.rfind(['.', '/']).map(|i| (t, i))) {
                Some((t, i)) => (Some(t[..i].to_string()), Some(t[i + 1..].to_string())),
                None => (topic.clone(), None),
            };
            let object = provider_object.as_ref().and_then(|o| def.objects.get(o)).cloned();
            Event {
                event_id: read(&id_at),
                record_id: read(&record_at),
                deleted: action.is_some_and(|a| def.delete_actions.contains(&a)),
                object,
                provider_object,
                topic,
                payload: event.clone(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn delivery(url: &str, headers: &[(&str, String)], body: &str) -> Delivery {
        Delivery {
            method: "POST".into(),
            url: url.into(),
            headers: headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const NOW: u64 = 1_763_700_000;

    #[test]
    fn schemes_that_sign_no_time_are_known() {
        assert!(SignatureDef::HubspotV3.signs_time() && SignatureDef::Stripe.signs_time());
        assert!(SignatureDef::StandardWebhooks.signs_time());
        assert!(!SignatureDef::Shopify.signs_time());
        let generic = |ts: Option<&str>| SignatureDef::HmacSha256 {
            header: "X-Signature".into(),
            prefix: String::new(),
            encoding: SignatureEncoding::Hex,
            timestamp_header: ts.map(str::to_string),
        };
        assert!(generic(Some("X-Timestamp")).signs_time() && !generic(None).signs_time());
        assert_eq!(body_digest(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn stripe_signature_good_bad_missing_stale() {
        let body = r#"{"id":"evt_1","type":"customer.updated"}"#;
        let sig = hex(&hmac(b"whsec_test", &[format!("{NOW}.").as_bytes(), body.as_bytes()]));
        let good = delivery("", &[("Stripe-Signature", format!("t={NOW},v0=00,v1=ff,v1={sig}"))], body);
        assert_eq!(verify(&SignatureDef::Stripe, "whsec_test", &good, at(NOW + 10), DEFAULT_TOLERANCE), Ok(()));
        let wrong = verify(&SignatureDef::Stripe, "other", &good, at(NOW), DEFAULT_TOLERANCE).unwrap_err();
        assert!(matches!(wrong, Refusal::BadSignature(_)), "{wrong:?}");
        let stale = verify(&SignatureDef::Stripe, "whsec_test", &good, at(NOW + 301), DEFAULT_TOLERANCE).unwrap_err();
        assert!(matches!(stale, Refusal::Stale(_)), "{stale:?}");
        assert!(stale.message().contains("301 s"), "{}", stale.message());
        let missing = delivery("", &[], body);
        let err = verify(&SignatureDef::Stripe, "whsec_test", &missing, at(NOW), DEFAULT_TOLERANCE).unwrap_err();
        assert_eq!(err, Refusal::Unsigned("missing header Stripe-Signature".into()));
        let tampered = delivery("", &[("Stripe-Signature", format!("t={NOW},v1={sig}"))], &body.replace('1', "2"));
        assert!(verify(&SignatureDef::Stripe, "whsec_test", &tampered, at(NOW), DEFAULT_TOLERANCE).is_err());
    }

    /// The example from HubSpot's v3 validation guide is not published with a signature, so the vector
    /// is computed here independently of `hmac()` by the RFC 4231 test case 2 check below.
    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn hubspot_v3_signs_method_decoded_uri_body_and_timestamp() {
        let body = r#"[{"eventId":1,"subscriptionType":"contact.creation","objectId":7}]"#;
        let ms = (NOW * 1000).to_string();
        let url = "https://example.com/webhooks/hs?x=a%3Ab";
        let signed = b64().encode(hmac(
            b"secret",
            &[b"POST", b"https://example.com/webhooks/hs?x=a:b", body.as_bytes(), ms.as_bytes()],
        ));
        let d = delivery(
            url,
            &[("X-HubSpot-Signature-v3", signed.clone()), ("X-HubSpot-Request-Timestamp", ms.clone())],
            body,
        );
        assert_eq!(verify(&SignatureDef::HubspotV3, "secret", &d, at(NOW + 299), DEFAULT_TOLERANCE), Ok(()));
        let stale = verify(&SignatureDef::HubspotV3, "secret", &d, at(NOW + 600), DEFAULT_TOLERANCE).unwrap_err();
        assert!(matches!(stale, Refusal::Stale(_)));
        let other_url = Delivery { url: "http://127.0.0.1:9/webhooks/hs".into(), ..d.clone() };
        let err = verify(&SignatureDef::HubspotV3, "secret", &other_url, at(NOW), DEFAULT_TOLERANCE).unwrap_err();
        assert!(err.message().contains("webhook_url"), "{}", err.message());
        let no_ts = delivery(url, &[("X-HubSpot-Signature-v3", signed)], body);
        assert!(matches!(
            verify(&SignatureDef::HubspotV3, "secret", &no_ts, at(NOW), DEFAULT_TOLERANCE),
            Err(Refusal::Unsigned(_))
        ));
    }

    #[test]
    fn shopify_signs_the_body_and_judges_staleness_by_triggered_at() {
        let body = r#"{"id":5,"email":"a@b.c"}"#;
        let sig = b64().encode(hmac(b"shh", &[body.as_bytes()]));
        let d = delivery(
            "",
            &[("X-Shopify-Hmac-Sha256", sig.clone()), ("X-Shopify-Triggered-At", "2025-11-21T04:40:00.000Z".into())],
            body,
        );
        let when = parse_rfc3339("2025-11-21T04:40:00.000Z").unwrap().as_secs();
        assert_eq!(when, 1_763_700_000);
        assert_eq!(verify(&SignatureDef::Shopify, "shh", &d, at(when + 5), DEFAULT_TOLERANCE), Ok(()));
        assert!(matches!(
            verify(&SignatureDef::Shopify, "shh", &d, at(when + 3600), DEFAULT_TOLERANCE),
            Err(Refusal::Stale(_))
        ));
        assert!(matches!(
            verify(&SignatureDef::Shopify, "nope", &d, at(when), DEFAULT_TOLERANCE),
            Err(Refusal::BadSignature(_))
        ));
        assert_eq!(parse_rfc3339("2025-11-21T05:40:00+01:00").unwrap().as_secs(), when);
    }

    #[test]
    fn standard_webhooks_use_the_decoded_whsec_key() {
        let key = b"0123456789abcdef";
        let secret = format!("whsec_{}", b64().encode(key));
        let body = r#"{"scope":"store/customer/updated","data":{"type":"customer","id":3}}"#;
        let sig = b64().encode(hmac(key, &[format!("msg_1.{NOW}.").as_bytes(), body.as_bytes()]));
        let d = delivery(
            "",
            &[
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", NOW.to_string()),
                ("webhook-signature", format!("v1,bm90IGl0 v1,{sig}")),
            ],
            body,
        );
        assert_eq!(verify(&SignatureDef::StandardWebhooks, &secret, &d, at(NOW), DEFAULT_TOLERANCE), Ok(()));
        assert!(SignatureDef::StandardWebhooks.check_secret("plain").is_err());
        let raw_key_used = format!("whsec_{}", b64().encode(b"other key"));
        assert!(verify(&SignatureDef::StandardWebhooks, &raw_key_used, &d, at(NOW), DEFAULT_TOLERANCE).is_err());
    }

    #[test]
    fn generic_hmac_with_prefix_and_timestamp() {
        let scheme = SignatureDef::HmacSha256 {
            header: "X-Signature".into(),
            prefix: "sha256=".into(),
            encoding: SignatureEncoding::Hex,
            timestamp_header: Some("X-Signature-Timestamp".into()),
        };
        let body = r#"{"id":"evt_1"}"#;
        let sig = hex(&hmac(b"k", &[format!("{NOW}.").as_bytes(), body.as_bytes()]));
        let d =
            delivery("", &[("X-Signature", format!("sha256={sig}")), ("X-Signature-Timestamp", NOW.to_string())], body);
        assert_eq!(verify(&scheme, "k", &d, at(NOW), DEFAULT_TOLERANCE), Ok(()));
        let unprefixed = delivery("", &[("X-Signature", sig), ("X-Signature-Timestamp", NOW.to_string())], body);
        assert!(matches!(verify(&scheme, "k", &unprefixed, at(NOW), DEFAULT_TOLERANCE), Err(Refusal::BadSignature(_))));
    }

    #[test]
    fn events_name_object_record_and_deletion() {
        let def: WebhookDef = serde_json::from_value(serde_json::json!({
            "signature": {"scheme": "hubspot_v3"},
            "events": "",
            "event_id": "/eventId",
            "topic": "/subscriptionType",
            "record_id": "/objectId",
            "objects": {"contact": "contacts"},
            "delete_actions": ["deletion"]
        }))
        .unwrap();
        def.validate("/webhooks").unwrap();
        let body = r#"[{"eventId":1,"subscriptionType":"contact.deletion","objectId":7},
                       {"eventId":2,"subscriptionType":"ticket.creation","objectId":8}]"#;
        let got = events(&def, &delivery("", &[], body)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].object.as_deref(), Some("contacts"));
        assert_eq!(got[0].record_id.as_deref(), Some("7"));
        assert_eq!(got[0].event_id.as_deref(), Some("1"));
        assert!(got[0].deleted);
        assert_eq!(got[1].object, None);
        assert_eq!(got[1].provider_object.as_deref(), Some("ticket"));
        assert!(!got[1].deleted);
        let err = events(&def, &delivery("", &[], r#"{"not":"a list"}"#)).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(events(&def, &delivery("", &[], "not json")).is_err());
    }

    #[test]
    fn header_places_and_bad_definitions() {
        let def: WebhookDef = serde_json::from_value(serde_json::json!({
            "signature": {"scheme": "shopify"},
            "event_id": "header:X-Shopify-Webhook-Id",
            "topic": "header:X-Shopify-Topic",
            "record_id": "/id",
            "objects": {"customers": "customers"},
            "delete_actions": ["delete"]
        }))
        .unwrap();
        let d = delivery(
            "",
            &[("X-Shopify-Topic", "customers/delete".into()), ("X-Shopify-Webhook-Id", "w-1".into())],
            r#"{"id":42}"#,
        );
        let got = events(&def, &d).unwrap();
        assert_eq!((got[0].object.as_deref(), got[0].record_id.as_deref()), (Some("customers"), Some("42")));
        assert_eq!(got[0].event_id.as_deref(), Some("w-1"));
        assert!(got[0].deleted);
        let bad: WebhookDef =
            serde_json::from_value(serde_json::json!({"signature": {"scheme": "stripe"}, "topic": "type"})).unwrap();
        let err = bad.validate("/webhooks").unwrap_err().to_string();
        assert!(err.contains("/webhooks/topic"), "{err}");
    }
}
