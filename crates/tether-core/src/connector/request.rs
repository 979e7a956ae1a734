//! Requests as Tether builds them (before credentials), the values of pushed conditions, and the query
//! languages some list endpoints take: Salesforce SOQL and Airtable formulas. Values are always
//! escaped for the language they go into, so a value can never change the query's structure.

use serde_json::Value;

use crate::connector::model::{BodyEncoding, FilterDef, FilterOp};

/// One HTTP request to send; credentials are added by the HTTP engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Request {
    pub fn get(url: String) -> Request {
        Request { method: "GET".into(), url, headers: Vec::new(), body: None }
    }
}

/// What kind of SQL value a condition compares with: it decides quoting in query languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ValueKind {
    Text,
    Number,
    Bool,
    Date,
    Timestamp,
    /// A value known only at run time, shown as `$n` in EXPLAIN: written as it is, unquoted.
    Placeholder,
}

/// A value from SQL for a pushed condition, as text (see `fdw::datum::param_text`) with its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamValue {
    pub text: String,
    pub kind: ValueKind,
}

impl ParamValue {
    pub fn text(s: &str) -> ParamValue {
        ParamValue { text: s.to_string(), kind: ValueKind::Text }
    }
}

/// How a condition reaches the provider.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Via {
    /// A query parameter the connector declares.
    Param(FilterDef),
    /// The list endpoint's query language (SOQL, formula), on the column's field.
    Language,
    /// The search endpoint's JSON body, on the column's field.
    Search,
}

/// A condition pushed to the provider, with its run-time values (several for `IN`).
#[derive(Debug, Clone)]
pub struct Condition {
    /// Index into `TableDef::columns`.
    pub column: usize,
    pub op: FilterOp,
    pub values: Vec<ParamValue>,
    pub via: Via,
}

/// A finite number as a query language writes it (no NaN or infinities, which no provider language has).
fn finite_number(text: &str) -> bool {
    crate::connector::mapping::is_numeric_literal(text) && text.bytes().any(|b| b.is_ascii_digit())
}

fn plain_date(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-:+".contains(&b))
}

impl Condition {
    /// The values as one query parameter value (`in` lists joined by `separator`, default `,`).
    pub fn joined(&self, separator: Option<&str>) -> String {
        self.values.iter().map(|v| v.text.as_str()).collect::<Vec<_>>().join(separator.unwrap_or(","))
    }
}

/// A SOQL literal: strings single-quoted with SOQL's backslash escapes; numbers, booleans, dates and
/// datetimes unquoted (as SOQL wants them). None for a value SOQL cannot state exactly (a NaN, a
/// timestamp with fractions of a second): the condition is then left to Postgres.
pub fn soql_literal(v: &ParamValue) -> Option<String> {
    Some(match v.kind {
        ValueKind::Placeholder => v.text.clone(),
        ValueKind::Number if finite_number(&v.text) => v.text.clone(),
        ValueKind::Bool if v.text == "true" || v.text == "false" => v.text.clone(),
        ValueKind::Date | ValueKind::Timestamp if plain_date(&v.text) => v.text.clone(),
        ValueKind::Number | ValueKind::Bool | ValueKind::Date | ValueKind::Timestamp => return None,
        ValueKind::Text => {
            let mut out = String::with_capacity(v.text.len() + 2);
            out.push('\'');
            for c in v.text.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
    })
}

fn soql_op(op: FilterOp) -> &'static str {
    match op {
        FilterOp::Eq => "=",
        FilterOp::In => "IN",
        FilterOp::Lt => "<",
        FilterOp::Le => "<=",
        FilterOp::Gt => ">",
        FilterOp::Ge => ">=",
    }
}

/// A SOQL condition on `field` (an API field name, which the connector controls); None when a value
/// cannot be written exactly.
pub fn soql_condition(field: &str, op: FilterOp, values: &[ParamValue]) -> Option<String> {
    if op == FilterOp::In {
        let list: Vec<String> = values.iter().map(soql_literal).collect::<Option<_>>()?;
        return Some(format!("{field} IN ({})", list.join(", ")));
    }
    Some(format!("{field} {} {}", soql_op(op), soql_literal(values.first()?)?))
}

/// `SELECT fields FROM object [WHERE a AND b] [LIMIT n]`.
pub fn soql_query(fields: &[String], from: &str, conditions: &[String], limit: Option<u64>) -> String {
    let mut q = format!("SELECT {} FROM {from}", fields.join(", "));
    if !conditions.is_empty() {
        q.push_str(" WHERE ");
        q.push_str(&conditions.join(" AND "));
    }
    if let Some(n) = limit {
        q.push_str(&format!(" LIMIT {n}"));
    }
    q
}

/// An Airtable formula literal: strings single-quoted with backslash escapes, numbers as they are,
/// booleans as TRUE()/FALSE(); dates and timestamps as strings. None for a value a formula cannot
/// state exactly.
pub fn formula_literal(v: &ParamValue) -> Option<String> {
    Some(match v.kind {
        ValueKind::Placeholder => v.text.clone(),
        ValueKind::Number if finite_number(&v.text) => v.text.clone(),
        ValueKind::Bool if v.text == "true" => "TRUE()".into(),
        ValueKind::Bool if v.text == "false" => "FALSE()".into(),
        ValueKind::Number | ValueKind::Bool => return None,
        ValueKind::Text | ValueKind::Date | ValueKind::Timestamp => {
            let mut out = String::with_capacity(v.text.len() + 2);
            out.push('\'');
            for c in v.text.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
    })
}

/// An Airtable field reference: `{Field Name}` (a `}` in the name escaped).
pub fn formula_field(field: &str) -> String {
    format!("{{{}}}", field.replace('\\', "\\\\").replace('}', "\\}"))
}

/// A formula condition; None when a value cannot be written exactly.
pub fn formula_condition(field: &str, op: FilterOp, values: &[ParamValue]) -> Option<String> {
    let f = formula_field(field);
    if op == FilterOp::In {
        let parts: Vec<String> =
            values.iter().map(|v| Some(format!("{f} = {}", formula_literal(v)?))).collect::<Option<_>>()?;
        return Some(if parts.len() == 1 { parts[0].clone() } else { format!("OR({})", parts.join(", ")) });
    }
    Some(format!("{f} {} {}", soql_op(op), formula_literal(values.first()?)?))
}

/// Several formula conditions as one.
pub fn formula_all(conditions: &[String]) -> String {
    if conditions.len() == 1 {
        conditions[0].clone()
    } else {
        format!("AND({})", conditions.join(", "))
    }
}

/// A request body as bytes in the connector's encoding, with its content type.
pub fn encode_body(body: &Value, encoding: BodyEncoding) -> (Vec<u8>, &'static str) {
    match encoding {
        BodyEncoding::Json => (serde_json::to_vec(body).unwrap_or_default(), "application/json"),
        BodyEncoding::Form => (form_encode(body).into_bytes(), "application/x-www-form-urlencoded"),
    }
}

/// A JSON object as an `application/x-www-form-urlencoded` body the way Stripe reads it: nested keys
/// as `metadata[plan]=pro`, array elements as `tags[0]=a`, null as an empty value (which unsets a
/// field), booleans as `true`/`false`.
pub fn form_encode(body: &Value) -> String {
    fn add(out: &mut Vec<String>, key: &str, value: &Value) {
        use crate::connector::template::encode_query;
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    add(out, &format!("{key}[{}]", encode_query(k)), v);
                }
            }
            Value::Array(items) if items.is_empty() => out.push(format!("{key}=")),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    add(out, &format!("{key}[{i}]"), v);
                }
            }
            Value::Null => out.push(format!("{key}=")),
            Value::String(s) => out.push(format!("{key}={}", encode_query(s))),
            other => out.push(format!("{key}={other}")),
        }
    }
    let mut out = Vec::new();
    match body {
        Value::Object(map) => {
            for (k, v) in map {
                add(&mut out, &crate::connector::template::encode_query(k), v);
            }
        }
        Value::Null => {}
        other => add(&mut out, "value", other),
    }
    out.join("&")
}

/// Replace the `$name` string markers of a JSON template. A marker whose value is None is removed
/// (with its key, or from its array).
pub fn fill_template(template: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    match template {
        Value::String(s) if s.starts_with('$') => lookup(&s[1..]).unwrap_or(Value::Null),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                if let Value::String(s) = v {
                    if let Some(name) = s.strip_prefix('$') {
                        if let Some(value) = lookup(name) {
                            out.insert(k.clone(), value);
                        }
                        continue;
                    }
                }
                out.insert(k.clone(), fill_template(v, lookup));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) if s.starts_with('$') => lookup(&s[1..]),
                    other => Some(fill_template(other, lookup)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> ParamValue {
        ParamValue::text(s)
    }

    fn v(s: &str, kind: ValueKind) -> ParamValue {
        ParamValue { text: s.into(), kind }
    }

    #[test]
    fn soql_quotes_and_escapes_strings() {
        let lit = |v: ParamValue| soql_literal(&v).unwrap();
        assert_eq!(lit(t("O'Brien")), r"'O\'Brien'");
        assert_eq!(lit(t(r"a\b")), r"'a\\b'");
        assert_eq!(lit(t("line\nbreak")), r"'line\nbreak'");
        assert_eq!(lit(t(r#"say "hi""#)), r#"'say \"hi\"'"#);
        // An injection attempt stays inside the string literal.
        assert_eq!(
            soql_condition("Name", FilterOp::Eq, &[t("x' OR Name != 'y")]).unwrap(),
            r"Name = 'x\' OR Name != \'y'"
        );
    }

    #[test]
    fn soql_leaves_typed_values_unquoted() {
        let lit = |v: ParamValue| soql_literal(&v);
        assert_eq!(lit(v("42.5", ValueKind::Number)).as_deref(), Some("42.5"));
        assert_eq!(lit(v("true", ValueKind::Bool)).as_deref(), Some("true"));
        assert_eq!(lit(v("2024-01-31", ValueKind::Date)).as_deref(), Some("2024-01-31"));
        assert_eq!(lit(v("2024-01-31T00:00:00Z", ValueKind::Timestamp)).as_deref(), Some("2024-01-31T00:00:00Z"));
        // Values SOQL cannot state exactly are not written at all (the condition stays with Postgres).
        assert_eq!(lit(v("NaN", ValueKind::Number)), None);
        assert_eq!(lit(v("1 OR 1=1", ValueKind::Number)), None);
        assert_eq!(lit(v("2024-01-01' OR", ValueKind::Date)), None);
        assert_eq!(lit(v("2024-01-31T00:00:00.250000Z", ValueKind::Timestamp)), None);
        assert_eq!(
            soql_condition("Amount", FilterOp::In, &[v("1", ValueKind::Number), v("NaN", ValueKind::Number)]),
            None
        );
        assert_eq!(lit(v("$1", ValueKind::Placeholder)).as_deref(), Some("$1"));
    }

    #[test]
    fn soql_queries() {
        let fields = vec!["Id".to_string(), "Name".to_string()];
        let conds = vec![
            soql_condition("Industry", FilterOp::In, &[t("Energy"), t("Media")]).unwrap(),
            soql_condition("NumberOfEmployees", FilterOp::Ge, &[v("100", ValueKind::Number)]).unwrap(),
        ];
        assert_eq!(
            soql_query(&fields, "Account", &conds, Some(5)),
            "SELECT Id, Name FROM Account WHERE Industry IN ('Energy', 'Media') AND NumberOfEmployees >= 100 LIMIT 5"
        );
        assert_eq!(soql_query(&fields, "Account", &[], None), "SELECT Id, Name FROM Account");
    }

    #[test]
    fn formulas_escape_values_and_field_names() {
        let f = |field: &str, op: FilterOp, vals: &[ParamValue]| formula_condition(field, op, vals).unwrap();
        assert_eq!(f("Email", FilterOp::Eq, &[t("a'b@x.test")]), r"{Email} = 'a\'b@x.test'");
        assert_eq!(f("Signed Up", FilterOp::Eq, &[t("x")]), "{Signed Up} = 'x'");
        assert_eq!(f("Age", FilterOp::Gt, &[v("30", ValueKind::Number)]), "{Age} > 30");
        assert_eq!(f("Active", FilterOp::Eq, &[v("true", ValueKind::Bool)]), "{Active} = TRUE()");
        assert_eq!(f("A}b", FilterOp::Eq, &[t("x")]), r"{A\}b} = 'x'");
        assert_eq!(f("Name", FilterOp::In, &[t("a"), t("b")]), "OR({Name} = 'a', {Name} = 'b')");
        assert_eq!(formula_condition("Age", FilterOp::Eq, &[v("Infinity", ValueKind::Number)]), None);
        assert_eq!(formula_all(&["a".into(), "b".into()]), "AND(a, b)");
        assert_eq!(formula_all(&["a".into()]), "a");
    }

    #[test]
    fn form_bodies_nest_keys_with_brackets() {
        let body = json!({
            "email": "a+b@x.test",
            "name": "Ana María",
            "metadata": {"plan": "pro", "seats": 3, "old": null},
            "preferred_locales": ["en", "fr"],
            "tax_exempt": false,
            "description": null
        });
        assert_eq!(
            form_encode(&body),
            "description=&email=a%2Bb@x.test&metadata[old]=&metadata[plan]=pro&metadata[seats]=3&name=Ana%20Mar%C3%ADa&preferred_locales[0]=en&preferred_locales[1]=fr&tax_exempt=false"
        );
        assert_eq!(form_encode(&json!({"a&b": "c=d"})), "a%26b=c%3Dd");
        assert_eq!(form_encode(&json!({})), "");
    }

    #[test]
    fn templates_fill_and_drop_absent_markers() {
        let template = json!({"filterGroups": [{"filters": "$filters"}], "limit": "$page_size", "after": "$cursor", "properties": "$fields"});
        let filled = fill_template(&template, &|name| match name {
            "filters" => Some(json!([{"propertyName": "email"}])),
            "page_size" => Some(json!(100)),
            "fields" => Some(json!(["email"])),
            _ => None,
        });
        assert_eq!(
            filled,
            json!({"filterGroups": [{"filters": [{"propertyName": "email"}]}], "limit": 100, "properties": ["email"]})
        );
        assert_eq!(crate::connector::template::marker_pointer(&template, "cursor").as_deref(), Some("/after"));
        let arr = fill_template(&json!(["$record", "$missing"]), &|n| (n == "record").then(|| json!({"a": 1})));
        assert_eq!(arr, json!([{"a": 1}]));
    }
}
