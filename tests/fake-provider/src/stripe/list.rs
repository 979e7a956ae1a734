//! Listing and retrieving: Stripe's list object (`{"object": "list", "data", "has_more", "url"}`) with `limit`,
//! `starting_after`, `ending_before` and `created` ranges, each resource's own filters, and `GET .../{id}`.

use serde_json::{json, Value};

use super::errors::{api_error, coded, invalid, invalid_integer, no_such, unknown_param, ApiError};
use super::params::{
    check_known, first_nested_name, list_of_strings, optional_bool, optional_string, parse_int, string_param, Params, P,
};
use super::store::{rec_created, rec_id, Rec, Store};

const LIST_COMMON: &[&str] = &["created", "ending_before", "expand", "limit", "starting_after"];

/// `created` as an exact epoch or a `gt|gte|lt|lte` range.
#[derive(Debug, Default)]
struct Range {
    gt: Option<i64>,
    gte: Option<i64>,
    lt: Option<i64>,
    lte: Option<i64>,
}

impl Range {
    fn parse(p: Option<&P>) -> Result<Range, ApiError> {
        let mut r = Range::default();
        match p {
            None => {}
            Some(P::S(s)) => {
                let v = s.trim().parse::<i64>().map_err(|_| invalid_integer(s, "created"))?;
                r.gte = Some(v);
                r.lte = Some(v);
            }
            Some(P::M(m)) => {
                for (k, v) in m {
                    let name = format!("created[{k}]");
                    let n = parse_int(&name, v)?;
                    match k.as_str() {
                        "gt" => r.gt = Some(n),
                        "gte" => r.gte = Some(n),
                        "lt" => r.lt = Some(n),
                        "lte" => r.lte = Some(n),
                        _ => return Err(unknown_param(&name)),
                    }
                }
            }
            Some(other @ P::L(_)) => return Err(unknown_param(&first_nested_name("created", other))),
        }
        Ok(r)
    }

    fn contains(&self, t: i64) -> bool {
        self.gt.is_none_or(|v| t > v)
            && self.gte.is_none_or(|v| t >= v)
            && self.lt.is_none_or(|v| t < v)
            && self.lte.is_none_or(|v| t <= v)
    }
}

fn cursor<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(p) => string_param(name, p).map(Some),
    }
}

/// One page of `all` (already in list order) restricted by `keep`, as a Stripe list object.
fn list_page(
    all: &[Rec],
    params: &Params,
    url: &str,
    kind: &str,
    keep: &dyn Fn(&Rec) -> bool,
) -> Result<Value, ApiError> {
    let limit = match params.get("limit") {
        None => 10,
        Some(p) => {
            let n = parse_int("limit", p)?;
            if n < 1 {
                return Err(coded(
                    "parameter_invalid_integer",
                    "This value must be greater than or equal to 1.",
                    "limit",
                ));
            }
            if n > 100 {
                return Err(coded(
                    "parameter_invalid_integer",
                    "This value must be less than or equal to 100.",
                    "limit",
                ));
            }
            n as usize
        }
    };
    let created = Range::parse(params.get("created"))?;
    let after = cursor(params, "starting_after")?;
    let before = cursor(params, "ending_before")?;
    if after.is_some() && before.is_some() {
        return Err(api_error(
            400,
            "invalid_request_error",
            Some("parameters_exclusive"),
            "You may only specify one of these parameters: ending_before, starting_after.",
            None,
        ));
    }
    let position = |id: &str, param: &str| -> Result<usize, ApiError> {
        all.iter().position(|r| rec_id(r) == id).ok_or_else(|| no_such(400, kind, id, param))
    };
    let matching = |(_, r): &(usize, &Rec)| keep(r) && created.contains(rec_created(r));
    let (page, has_more): (Vec<&Rec>, bool) = if let Some(id) = before {
        let end = position(id, "ending_before")?;
        let earlier: Vec<&Rec> = all.iter().enumerate().take(end).filter(matching).map(|(_, r)| r).collect();
        let start = earlier.len().saturating_sub(limit);
        (earlier[start..].to_vec(), start > 0)
    } else {
        let start = match after {
            Some(id) => position(id, "starting_after")? + 1,
            None => 0,
        };
        let mut rest = all.iter().enumerate().skip(start).filter(matching).map(|(_, r)| r);
        let page: Vec<&Rec> = rest.by_ref().take(limit).collect();
        (page, rest.next().is_some())
    };
    let data: Vec<Value> = page.into_iter().map(|r| Value::Object(r.clone())).collect();
    Ok(json!({ "object": "list", "data": data, "has_more": has_more, "url": url }))
}

fn allowed<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = LIST_COMMON.to_vec();
    v.extend_from_slice(extra);
    v
}

pub(super) fn list_customers(store: &Store, params: &Params) -> Result<Value, ApiError> {
    let email = optional_string(params, "email")?;
    let clock = optional_string(params, "test_clock")?;
    let keep = |r: &Rec| email.is_none_or(|e| r.get("email").and_then(Value::as_str) == Some(e)) && clock.is_none();
    list_page(&store.customers, params, "/v1/customers", "customer", &keep)
}

pub(super) fn list_products(store: &Store, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &allowed(&["active", "ids", "shippable", "url"]))?;
    let active = optional_bool(params, "active")?;
    let shippable = optional_bool(params, "shippable")?;
    let url = optional_string(params, "url")?;
    let ids = params.get("ids").map(|p| list_of_strings("ids", p)).transpose()?;
    let keep = |r: &Rec| {
        active.is_none_or(|a| r.get("active") == Some(&json!(a)))
            && shippable.is_none_or(|s| r.get("shippable") == Some(&json!(s)))
            && url.is_none_or(|u| r.get("url").and_then(Value::as_str) == Some(u))
            && ids.as_ref().is_none_or(|ids| ids.iter().any(|i| i == rec_id(r)))
    };
    list_page(&store.products, params, "/v1/products", "product", &keep)
}

pub(super) fn list_prices(store: &Store, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &allowed(&["active", "currency", "product", "type"]))?;
    let active = optional_bool(params, "active")?;
    let currency = optional_string(params, "currency")?.map(str::to_ascii_lowercase);
    let product = optional_string(params, "product")?;
    let kind = optional_string(params, "type")?;
    if let Some(k) = kind {
        if k != "one_time" && k != "recurring" {
            return Err(invalid("Invalid type: must be one of one_time or recurring", Some("type")));
        }
    }
    let keep = |r: &Rec| {
        active.is_none_or(|a| r.get("active") == Some(&json!(a)))
            && currency.as_deref().is_none_or(|c| r.get("currency").and_then(Value::as_str) == Some(c))
            && product.is_none_or(|p| r.get("product").and_then(Value::as_str) == Some(p))
            && kind.is_none_or(|k| r.get("type").and_then(Value::as_str) == Some(k))
    };
    list_page(&store.prices, params, "/v1/prices", "price", &keep)
}

pub(super) fn list_invoices(store: &Store, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &allowed(&["collection_method", "customer", "due_date", "status", "subscription"]))?;
    let customer = optional_string(params, "customer")?;
    let status = optional_string(params, "status")?;
    if let Some(s) = status {
        if !["draft", "open", "paid", "uncollectible", "void"].contains(&s) {
            return Err(invalid(
                "Invalid status: must be one of draft, open, paid, uncollectible, or void",
                Some("status"),
            ));
        }
    }
    let method = optional_string(params, "collection_method")?;
    let subscription = optional_string(params, "subscription")?;
    let keep = |r: &Rec| {
        customer.is_none_or(|c| r.get("customer").and_then(Value::as_str) == Some(c))
            && status.is_none_or(|s| r.get("status").and_then(Value::as_str) == Some(s))
            && method.is_none_or(|m| r.get("collection_method").and_then(Value::as_str) == Some(m))
            && subscription.is_none_or(|s| r.get("subscription").and_then(Value::as_str) == Some(s))
    };
    list_page(&store.invoices, params, "/v1/invoices", "invoice", &keep)
}

pub(super) fn get_one(all: &[Rec], kind: &str, id: &str, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &["expand"])?;
    all.iter().find(|r| rec_id(r) == id).map(|r| Value::Object(r.clone())).ok_or_else(|| no_such(404, kind, id, "id"))
}
