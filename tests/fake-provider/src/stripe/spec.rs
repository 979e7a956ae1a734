//! Stripe's published OpenAPI description of `/v1/customers` and `/v1/customers/{customer}` (a pruned copy in
//! `specs/`, see `specs/PROVENANCE.md`), compiled in and parsed once, and a check of a decoded request against
//! the operation's request schema, so that a request Stripe would refuse is refused here too.
//!
//! How the schema maps onto form parameters (`a=1`, `a[b]=1`, `a[]=1`, `a[0]=1`: see `params::P`):
//! - an operation's parameters are the properties of its `application/x-www-form-urlencoded` request body schema
//!   (POST) plus its `in: query` parameters (`style: deepObject` ones such as `created[gt]` arrive nested, like a
//!   form body); `$ref`s are resolved within the document;
//! - `type: object`: a nested key must be one of `properties`, or match `additionalProperties` (`metadata`).
//!   Stripe's nested objects carry no `additionalProperties` and Stripe refuses unknown keys in them, so absent
//!   means none. Keys in `required` must be present;
//! - `type: array`: `a[]=x` or `a[0]=x` (indexes must be integers), each item checked against `items`; `a=` is
//!   the empty list;
//! - `string` (`enum`, `maxLength` in characters), `integer`, `number`, `boolean`: the value's text. An empty
//!   value is an attempt to unset: accepted for a string without `enum`, for an `enum` that lists `""`, and through
//!   the `anyOf` alternative `{"type": "string", "enum": [""]}` with which Stripe marks what can be unset;
//! - `anyOf`/`oneOf`: accepted if one alternative accepts the value, otherwise the error of the alternative that
//!   fits the value's shape (a scalar for `a=x`, an object or array for `a[b]=x`);
//! - `x-stripeBypassValidation`: the `enum` is not enforced (Stripe accepts values the spec does not list yet).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::params::{first_nested_name, Params, P};
use crate::http::FORM;

const SPEC_TEXT: &str = include_str!("../../specs/stripe-customers.mock.json");
/// Longest `$ref` chain followed before giving up (the spec has no cycles on the request side).
const MAX_REF_DEPTH: usize = 32;

/// Why a request does not conform; `errors` turns each into Stripe's error answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Violation {
    /// The operation is not in the spec (a bug in the fake).
    NoOperation(String),
    /// A parameter name, or a nested key, the schema does not have.
    Unknown(String),
    /// A required parameter is absent.
    Missing(String),
    /// An empty value (an attempt to unset) for something that cannot be unset.
    CannotUnset(String),
    NotInteger {
        param: String,
        value: String,
    },
    NotNumber {
        param: String,
        value: String,
    },
    NotBoolean {
        param: String,
        value: String,
    },
    /// A scalar where the schema has an object.
    NotObject(String),
    /// A scalar where the schema has an array.
    NotArray(String),
    /// A value outside the `enum` (`allowed` without the empty string).
    NotInEnum {
        param: String,
        allowed: Vec<String>,
    },
    TooLong {
        param: String,
        value: String,
        max: u64,
    },
}

struct Spec {
    doc: Value,
    /// `(lower-case method, path template)` -> an object schema whose properties are the operation's parameters.
    ops: BTreeMap<(String, String), Value>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let doc: Value = serde_json::from_str(SPEC_TEXT).unwrap_or(Value::Null);
        let ops = operations(&doc);
        Spec { doc, ops }
    })
}

/// Follows `$ref` (`#/components/schemas/x`) until a schema without one.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_DEPTH {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        match reference.strip_prefix('#').and_then(|pointer| doc.pointer(pointer)) {
            Some(target) => schema = target,
            None => return &Value::Null,
        }
    }
    &Value::Null
}

/// The parameters schema of every operation in the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return ops;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, op) in item {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            ops.insert((method.clone(), path.clone()), parameters_schema(doc, method, op));
        }
    }
    ops
}

fn parameters_schema(doc: &Value, method: &str, op: &Value) -> Value {
    let body = op.get("requestBody").map(|b| resolve(doc, b));
    let form = body.and_then(|b| b.pointer(&format!("/content/{}/schema", FORM.replace('/', "~1"))));
    let mut schema = match form.map(|s| resolve(doc, s)) {
        // Only a POST carries a form body here (`request_params`): a GET's or DELETE's parameters are its query.
        Some(Value::Object(s)) if method == "post" => s.clone(),
        _ => match json!({ "type": "object", "properties": {}, "additionalProperties": false }) {
            Value::Object(s) => s,
            _ => Map::new(),
        },
    };
    for param in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        let param = resolve(doc, param);
        if param.get("in").and_then(Value::as_str) != Some("query") {
            continue;
        }
        let Some(name) = param.get("name").and_then(Value::as_str) else { continue };
        let param_schema = param.get("schema").cloned().unwrap_or_else(|| json!({}));
        if let Value::Object(props) = schema.entry("properties").or_insert_with(|| json!({})) {
            props.insert(name.to_string(), param_schema);
        }
        if param.get("required") == Some(&Value::Bool(true)) {
            if let Value::Array(required) = schema.entry("required").or_insert_with(|| json!([])) {
                required.push(json!(name));
            }
        }
    }
    Value::Object(schema)
}

/// Whether the spec parsed and has operations (`Err` says what is wrong).
#[cfg(test)]
pub(crate) fn loaded() -> Result<usize, String> {
    let s = spec();
    if s.doc.is_null() {
        return Err(match serde_json::from_str::<Value>(SPEC_TEXT) {
            Err(e) => format!("the spec does not parse: {e}"),
            Ok(_) => "the spec is null".to_string(),
        });
    }
    Ok(s.ops.len())
}

/// The top-level parameter names an operation accepts (None: no such operation).
#[cfg(test)]
pub(crate) fn parameter_names(method: &str, template: &str) -> Option<Vec<String>> {
    let s = spec();
    let schema = s.ops.get(&(method.to_ascii_lowercase(), template.to_string()))?;
    let props = resolve(&s.doc, schema).get("properties").and_then(Value::as_object)?;
    Some(props.keys().cloned().collect())
}

/// Checks decoded parameters against the request schema of `method template` (e.g. `POST /v1/customers`).
/// Unknown top-level names are reported first (in name order), then each value in name order.
pub(crate) fn check(method: &str, template: &str, params: &Params) -> Result<(), Violation> {
    let s = spec();
    let Some(schema) = s.ops.get(&(method.to_ascii_lowercase(), template.to_string())) else {
        return Err(Violation::NoOperation(format!("{method} {template}")));
    };
    let checker = Checker { doc: &s.doc };
    let schema = checker.resolve(schema);
    for name in params.keys() {
        if checker.member(schema, name).is_none() {
            return Err(Violation::Unknown(name.clone()));
        }
    }
    for (name, p) in params {
        if let Some(Member::Schema(sub)) = checker.member(schema, name) {
            checker.value(sub, p, name)?;
        }
    }
    checker.required(schema, |k| params.contains_key(k), "")
}

/// What an object schema says about one key.
enum Member<'a> {
    Schema(&'a Value),
    /// `additionalProperties: true`: anything.
    Any,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
    Any,
}

struct Checker<'a> {
    doc: &'a Value,
}

impl<'a> Checker<'a> {
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        resolve(self.doc, schema)
    }

    fn kind(&self, schema: &Value) -> Kind {
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => Kind::Object,
            Some("array") => Kind::Array,
            Some("string") => Kind::String,
            Some("integer") => Kind::Integer,
            Some("number") => Kind::Number,
            Some("boolean") => Kind::Boolean,
            Some(_) => Kind::Any,
            None if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() => Kind::Object,
            None if schema.get("items").is_some() => Kind::Array,
            None => Kind::Any,
        }
    }

    fn alternatives(&self, schema: &'a Value) -> Option<&'a Vec<Value>> {
        schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array)
    }

    /// `{"type": "string", "enum": [""]}`: Stripe's "this can be unset" alternative.
    fn is_unset_marker(&self, schema: &Value) -> bool {
        let schema = self.resolve(schema);
        self.kind(schema) == Kind::String
            && schema.get("enum").and_then(Value::as_array).is_some_and(|e| e.iter().all(|v| v == "") && !e.is_empty())
    }

    fn member(&self, object: &'a Value, key: &str) -> Option<Member<'a>> {
        if let Some(sub) = object.get("properties").and_then(|p| p.get(key)) {
            return Some(Member::Schema(sub));
        }
        match object.get("additionalProperties") {
            Some(Value::Bool(true)) => Some(Member::Any),
            Some(sub @ Value::Object(_)) => Some(Member::Schema(sub)),
            _ => None,
        }
    }

    fn required(&self, object: &Value, present: impl Fn(&str) -> bool, path: &str) -> Result<(), Violation> {
        for key in object.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !present(key) {
                let name = if path.is_empty() { key.to_string() } else { format!("{path}[{key}]") };
                return Err(Violation::Missing(name));
            }
        }
        Ok(())
    }

    /// Checks one decoded value (named `path`, as Stripe names it in errors) against `schema`.
    fn value(&self, schema: &'a Value, p: &P, path: &str) -> Result<(), Violation> {
        let schema = self.resolve(schema);
        if let Some(alternatives) = self.alternatives(schema) {
            return self.any_of(alternatives, p, path);
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.value(sub, p, path)?;
            }
        }
        match self.kind(schema) {
            Kind::Object => self.object(schema, p, path),
            Kind::Array => self.array(schema, p, path),
            Kind::Any => Ok(()),
            scalar => {
                let s = match p {
                    P::S(s) => s,
                    other => return Err(Violation::Unknown(first_nested_name(path, other))),
                };
                self.scalar(schema, scalar, s, path)
            }
        }
    }

    fn any_of(&self, alternatives: &'a [Value], p: &P, path: &str) -> Result<(), Violation> {
        let mut errors = Vec::with_capacity(alternatives.len());
        for alt in alternatives {
            match self.value(alt, p, path) {
                Ok(()) => return Ok(()),
                Err(e) => errors.push((alt, e)),
            }
        }
        // The error of the alternative shaped like the value: `a=x` answers as a scalar (not the unset marker,
        // whose error would only say "must be one of"), `a[b]=x` as an object or array.
        let structured = |alt: &Value| matches!(self.kind(self.resolve(alt)), Kind::Object | Kind::Array);
        let fits = |alt: &Value| match p {
            P::S(_) => !structured(alt) && !self.is_unset_marker(alt),
            P::M(_) | P::L(_) => structured(alt),
        };
        let best =
            errors.iter().position(|(alt, _)| fits(alt)).or_else(|| errors.iter().position(|(alt, _)| structured(alt)));
        let index = best.unwrap_or(0);
        match errors.into_iter().nth(index) {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    fn object(&self, schema: &'a Value, p: &P, path: &str) -> Result<(), Violation> {
        let m = match p {
            P::S(s) if s.is_empty() => return Err(Violation::CannotUnset(path.to_string())),
            P::S(_) | P::L(_) => return Err(Violation::NotObject(path.to_string())),
            P::M(m) => m,
        };
        for (key, v) in m {
            let name = format!("{path}[{key}]");
            match self.member(schema, key) {
                None => return Err(Violation::Unknown(first_nested_name(&name, v))),
                Some(Member::Any) => {}
                Some(Member::Schema(sub)) => self.value(sub, v, &name)?,
            }
        }
        self.required(schema, |k| m.contains_key(k), path)
    }

    fn array(&self, schema: &'a Value, p: &P, path: &str) -> Result<(), Violation> {
        let items = schema.get("items");
        let check = |v: &P, name: String| match items {
            Some(sub) => self.value(sub, v, &name),
            None => Ok(()),
        };
        match p {
            // `a=`: the empty list (how Stripe's libraries send one).
            P::S(s) if s.is_empty() => Ok(()),
            P::S(_) => Err(Violation::NotArray(path.to_string())),
            P::L(list) => list.iter().enumerate().try_for_each(|(i, v)| check(v, format!("{path}[{i}]"))),
            P::M(m) => m.iter().try_for_each(|(key, v)| {
                if key.parse::<u64>().is_err() {
                    return Err(Violation::Unknown(format!("{path}[{key}]")));
                }
                check(v, format!("{path}[{key}]"))
            }),
        }
    }

    fn scalar(&self, schema: &Value, kind: Kind, s: &str, path: &str) -> Result<(), Violation> {
        let param = || path.to_string();
        let value = || s.to_string();
        let enumeration = schema.get("enum").and_then(Value::as_array);
        if s.is_empty() {
            let unsettable = match kind {
                Kind::String => enumeration.is_none_or(|e| e.iter().any(|v| v == "")),
                _ => false,
            };
            return if unsettable { Ok(()) } else { Err(Violation::CannotUnset(param())) };
        }
        match kind {
            Kind::Integer if s.trim().parse::<i64>().is_err() => {
                return Err(Violation::NotInteger { param: param(), value: value() })
            }
            Kind::Number if !s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                return Err(Violation::NotNumber { param: param(), value: value() })
            }
            Kind::Boolean if s != "true" && s != "false" => {
                return Err(Violation::NotBoolean { param: param(), value: value() })
            }
            _ => {}
        }
        let bypass = schema.get("x-stripeBypassValidation") == Some(&Value::Bool(true));
        if let Some(allowed) = enumeration.filter(|_| !bypass) {
            let allowed: Vec<String> = allowed.iter().map(enum_text).collect();
            if !allowed.iter().any(|v| v == s) {
                let allowed = allowed.into_iter().filter(|v| !v.is_empty()).collect();
                return Err(Violation::NotInEnum { param: param(), allowed });
            }
        }
        if kind == Kind::String {
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if s.chars().count() as u64 > max {
                    return Err(Violation::TooLong { param: param(), value: value(), max });
                }
            }
        }
        Ok(())
    }
}

/// An enum value as form text: strings as they are, numbers and booleans as JSON writes them.
fn enum_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
