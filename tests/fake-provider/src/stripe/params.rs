//! Stripe's form parameters: `a=1`, `a[b]=1`, `a[]=1` and `a[0]=1` decoded into nested values (Rack's rules),
//! and typed readers that answer Stripe's parameter errors. Also `metadata`, shared by customers and products.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::errors::{invalid, invalid_integer, unknown_param, ApiError};

const METADATA_MAX_KEYS: usize = 50;
const METADATA_MAX_KEY: usize = 40;
const METADATA_MAX_VALUE: usize = 500;

/// A decoded form parameter: `a=1` is a string, `a[b]=1` a map, `a[]=1` a list. `a[0]=1` is a map with the
/// key "0" (as in Rack); list parameters accept such maps (`list_of_strings`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum P {
    S(String),
    M(BTreeMap<String, P>),
    L(Vec<P>),
}

pub(crate) type Params = BTreeMap<String, P>;

/// Splits `a[b][]` into `["a", "b", ""]`; a malformed key is one segment.
fn key_path(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    let (name, mut rest) = key.split_at(open);
    let mut out = vec![name.to_string()];
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return vec![key.to_string()];
        };
        let Some(close) = inner.find(']') else {
            return vec![key.to_string()];
        };
        out.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    if name.is_empty() {
        return vec![key.to_string()];
    }
    out
}

fn insert_param(map: &mut Params, path: &[String], value: String) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.insert(head.clone(), P::S(value));
        return;
    }
    let entry = map.entry(head.clone()).or_insert_with(|| P::M(BTreeMap::new()));
    insert_nested(entry, rest, value);
}

fn insert_nested(node: &mut P, path: &[String], value: String) {
    let Some((seg, rest)) = path.split_first() else {
        return;
    };
    if seg.is_empty() {
        if !matches!(node, P::L(_)) {
            *node = P::L(Vec::new());
        }
        if let P::L(items) = node {
            match rest.first() {
                None => items.push(P::S(value)),
                Some(field) => {
                    // `a[][x]=1&a[][y]=2`: fill the last map until a key repeats (Rack semantics).
                    let reuse = matches!(items.last(), Some(P::M(m)) if !m.contains_key(field));
                    if !reuse {
                        items.push(P::M(BTreeMap::new()));
                    }
                    if let Some(last) = items.last_mut() {
                        insert_nested(last, rest, value);
                    }
                }
            }
        }
    } else {
        if !matches!(node, P::M(_)) {
            *node = P::M(BTreeMap::new());
        }
        if let P::M(m) = node {
            insert_param(m, path, value);
        }
    }
}

pub(super) fn parse_params(pairs: &[(String, String)]) -> Params {
    let mut params = Params::new();
    for (k, v) in pairs {
        insert_param(&mut params, &key_path(k), v.clone());
    }
    params
}

/// The first nested key of a non-string parameter, as Stripe names it (`name[x]`).
pub(crate) fn first_nested_name(name: &str, p: &P) -> String {
    match p {
        P::S(_) => name.to_string(),
        P::M(m) => match m.iter().next() {
            Some((k, v)) => first_nested_name(&format!("{name}[{k}]"), v),
            None => name.to_string(),
        },
        P::L(items) => match items.first() {
            Some(v) => first_nested_name(&format!("{name}[]"), v),
            None => name.to_string(),
        },
    }
}

/// A string parameter; a nested value is an unknown parameter.
pub(super) fn string_param<'a>(name: &str, p: &'a P) -> Result<&'a str, ApiError> {
    match p {
        P::S(s) => Ok(s),
        other => Err(unknown_param(&first_nested_name(name, other))),
    }
}

/// A list of strings: `a[]=x&a[]=y`, `a[0]=x&a[1]=y`, or `a=` (empty list).
pub(super) fn list_of_strings(name: &str, p: &P) -> Result<Vec<String>, ApiError> {
    let bad = || invalid("Invalid array", Some(name));
    match p {
        P::S(s) if s.is_empty() => Ok(Vec::new()),
        P::S(_) => Err(bad()),
        P::L(items) => items.iter().map(|i| string_param(name, i).map(str::to_string)).collect(),
        P::M(m) => {
            let mut indexed = Vec::with_capacity(m.len());
            for (k, v) in m {
                let idx: u64 = k.parse().map_err(|_| unknown_param(&format!("{name}[{k}]")))?;
                indexed.push((idx, string_param(name, v)?.to_string()));
            }
            indexed.sort_by_key(|(i, _)| *i);
            Ok(indexed.into_iter().map(|(_, s)| s).collect())
        }
    }
}

pub(super) fn parse_bool(name: &str, p: &P) -> Result<bool, ApiError> {
    match string_param(name, p)? {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(invalid(&format!("Invalid boolean: {other}"), Some(name))),
    }
}

pub(super) fn parse_int(name: &str, p: &P) -> Result<i64, ApiError> {
    let s = string_param(name, p)?;
    s.trim().parse::<i64>().map_err(|_| invalid_integer(s, name))
}

pub(super) fn check_known(params: &Params, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown_param(k)),
        None => Ok(()),
    }
}

/// Empty string -> null, otherwise the string.
pub(super) fn nullable_string(name: &str, p: &P) -> Result<Value, ApiError> {
    let s = string_param(name, p)?;
    Ok(if s.is_empty() { Value::Null } else { json!(s) })
}

pub(super) fn optional_string<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, ApiError> {
    params.get(name).map(|p| string_param(name, p)).transpose()
}

pub(super) fn optional_bool(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    params.get(name).map(|p| parse_bool(name, p)).transpose()
}

/// Merges `metadata[...]` into `current`: an empty value removes a key, `metadata=` removes all.
pub(super) fn apply_metadata(current: &Value, p: &P) -> Result<Value, ApiError> {
    let mut meta: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    match p {
        P::S(s) if s.is_empty() => meta.clear(),
        P::S(_) | P::L(_) => return Err(invalid("Invalid object", Some("metadata"))),
        P::M(m) => {
            for (k, v) in m {
                let value = match v {
                    P::S(s) => s,
                    other => return Err(unknown_param(&first_nested_name(&format!("metadata[{k}]"), other))),
                };
                let key_len = k.chars().count();
                if key_len > METADATA_MAX_KEY {
                    return Err(invalid(
                        &format!(
                            "Metadata keys can have up to {METADATA_MAX_KEY} characters, but you passed in a key \
                             that is {key_len} characters. Invalid key: {k}"
                        ),
                        None,
                    ));
                }
                let value_len = value.chars().count();
                if value_len > METADATA_MAX_VALUE {
                    return Err(invalid(
                        &format!(
                            "Metadata values can have up to {METADATA_MAX_VALUE} characters, but you passed in a \
                             value that is {value_len} characters. Invalid value: {value}"
                        ),
                        None,
                    ));
                }
                if value.is_empty() {
                    meta.remove(k);
                } else {
                    meta.insert(k.clone(), json!(value));
                }
            }
        }
    }
    if meta.len() > METADATA_MAX_KEYS {
        return Err(invalid(
            &format!("Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {}", meta.len()),
            None,
        ));
    }
    Ok(Value::Object(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths() {
        assert_eq!(key_path("a"), vec!["a"]);
        assert_eq!(key_path("a[b][c]"), vec!["a", "b", "c"]);
        assert_eq!(key_path("a[]"), vec!["a", ""]);
        assert_eq!(key_path("a[b"), vec!["a[b"]);
        assert_eq!(key_path("[x]"), vec!["[x]"]);
        assert_eq!(key_path("a[b]c"), vec!["a[b]c"]);
    }
}
