//! Evaluating a parsed condition on a record: values compared by the field's type (text ignoring case, numbers,
//! booleans, dates), `LIKE` with `%`, `_` and escapes, `IN`.

use serde_json::Value;

use super::parser::{Cond, Lit};
use crate::salesforce::schema::{FType, SObject};
use crate::salesforce::store::Rec;
use crate::shared::time::{parse_date, parse_iso_ms};

/// A comparable form of a stored value or literal.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub(super) enum Cv {
    S(String),
    N(f64),
    B(bool),
    /// Days (dates) or milliseconds (date-times).
    T(i64),
}

pub(super) fn field_cv(ty: FType, v: &Value) -> Option<Cv> {
    match (ty, v) {
        (_, Value::Null) => None,
        (FType::Bool, Value::Bool(b)) => Some(Cv::B(*b)),
        (_, Value::Number(n)) => n.as_f64().map(Cv::N),
        (FType::Date, Value::String(s)) => parse_date(s).map(Cv::T),
        (FType::DateTime, Value::String(s)) => parse_iso_ms(s).map(Cv::T),
        (_, Value::String(s)) => Some(Cv::S(s.to_lowercase())),
        _ => None,
    }
}

fn lit_cv(lit: &Lit) -> Option<Cv> {
    match lit {
        Lit::Null => None,
        Lit::Str(_) => Some(Cv::S(lit.text().to_lowercase())),
        Lit::Num(n) => Some(Cv::N(*n)),
        Lit::Bool(b) => Some(Cv::B(*b)),
        Lit::Date(d) => Some(Cv::T(*d)),
        Lit::DateTime(ms) => Some(Cv::T(*ms)),
    }
}

fn like(pattern: &[(char, bool)], text: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<(char, bool)> = pattern.iter().map(|(c, e)| (c.to_lowercase().next().unwrap_or(*c), *e)).collect();
    // dp[j]: pattern prefix of length j matches text prefix.
    let mut dp = vec![false; p.len() + 1];
    dp[0] = true;
    for j in 1..=p.len() {
        dp[j] = dp[j - 1] && p[j - 1] == ('%', false);
    }
    for ch in &t {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                ('%', false) => next[j - 1] || dp[j],
                ('_', false) => dp[j - 1],
                (pc, _) => dp[j - 1] && pc == *ch,
            };
        }
        dp = next;
    }
    dp[p.len()]
}

pub(super) fn eval(cond: &Cond, o: &SObject, rec: &Rec) -> bool {
    let value = |idx: usize| -> (FType, &Value) {
        let ty = o.fields.get(idx).map_or(FType::Str, |f| f.ty);
        (ty, rec.values.get(idx).unwrap_or(&Value::Null))
    };
    match cond {
        Cond::And(list) => list.iter().all(|c| eval(c, o, rec)),
        Cond::Or(list) => list.iter().any(|c| eval(c, o, rec)),
        Cond::Not(c) => !eval(c, o, rec),
        Cond::Like { field, pattern } => value(*field).1.as_str().is_some_and(|s| like(pattern, s)),
        Cond::In { field, values, negated } => {
            let (ty, v) = value(*field);
            let cv = field_cv(ty, v);
            let found = values.iter().any(|l| lit_cv(l) == cv);
            found != *negated
        }
        Cond::Cmp { field, op, value: lit } => {
            let (ty, v) = value(*field);
            let (a, b) = (field_cv(ty, v), lit_cv(lit));
            match (*op, a, b) {
                ("=", a, b) => a == b,
                ("!=", a, b) => a != b,
                (_, Some(a), Some(b)) => match a.partial_cmp(&b) {
                    Some(ord) => match *op {
                        "<" => ord.is_lt(),
                        "<=" => ord.is_le(),
                        ">" => ord.is_gt(),
                        ">=" => ord.is_ge(),
                        _ => false,
                    },
                    None => false,
                },
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let p = |s: &str| -> Vec<(char, bool)> { s.chars().map(|c| (c, false)).collect() };
        assert!(like(&p("acme%"), "Acme Corp 1"));
        assert!(like(&p("%corp%"), "Acme Corp 1"));
        assert!(like(&p("a_me%"), "Acme"));
        assert!(!like(&p("acme"), "Acme Corp"));
        // An escaped % only matches a percent sign.
        let mut escaped = p("100");
        escaped.push(('%', true));
        escaped.push(('%', false));
        assert!(like(&escaped, "100% Organic Co"));
        assert!(!like(&escaped, "1000 Things"));
    }
}
