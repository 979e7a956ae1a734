//! Applying search filters to records: how values of a property kind compare (numbers, date-times, text
//! ignoring case), `CONTAINS_TOKEN`'s word and wildcard matching, and the free-text `query`.

use std::cmp::Ordering;

use super::parse::{Filter, Op};
use crate::hubspot::data::{CrmRecord, ObjectType, PropKind, PropRef};
use crate::hubspot::validate::datetime_ms;
use crate::shared::time::iso_ms;

/// The value of a property of a record (`None`: no value).
pub(super) fn prop_value(rec: &CrmRecord, prop: PropRef) -> Option<String> {
    match prop {
        PropRef::ObjectId => Some(rec.id.to_string()),
        PropRef::Created => Some(iso_ms(rec.created_ms)),
        PropRef::Modified => Some(iso_ms(rec.updated_ms)),
        PropRef::Stored(idx) => rec.props.get(idx).and_then(|v| v.as_deref()).map(str::to_string),
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Orders two values of a property of `kind`; `None` if they cannot be compared (e.g. a non-number).
pub(super) fn compare(kind: PropKind, a: &str, b: &str) -> Option<Ordering> {
    match kind {
        PropKind::Number => number(a)?.partial_cmp(&number(b)?),
        PropKind::DateTime => Some(datetime_ms(a)?.cmp(&datetime_ms(b)?)),
        PropKind::Text => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        },
    }
}

fn equal(kind: PropKind, a: &str, b: &str) -> bool {
    match kind {
        PropKind::Text => a.to_lowercase() == b.to_lowercase(),
        _ => compare(kind, a, b) == Some(Ordering::Equal),
    }
}

/// `*` matches any run of characters; comparison ignores case.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if p.get(pi) == Some(&'*') {
            star = Some((pi, ti));
            pi += 1;
        } else if p.get(pi).is_some_and(|c| *c == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Whether a value holds the token: the whole value, or one of its words, matches it (`*` is a wildcard).
fn contains_token(value: &str, token: &str) -> bool {
    if glob(token, value) {
        return true;
    }
    value.split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.' && c != '_' && c != '-').any(|w| {
        !w.is_empty() && (glob(token, w) || w.split(['@', '.']).any(|part| !part.is_empty() && glob(token, part)))
    })
}

pub(super) fn filter_matches(f: &Filter, rec: &CrmRecord) -> bool {
    let value = prop_value(rec, f.prop);
    match f.op {
        Op::HasProperty => value.is_some(),
        Op::NotHasProperty => value.is_none(),
        Op::Neq => value.is_none_or(|v| !equal(f.kind, &v, &f.value)),
        Op::NotIn => value.is_none_or(|v| !f.values.iter().any(|x| equal(f.kind, &v, x))),
        Op::NotContainsToken => value.is_none_or(|v| !contains_token(&v, &f.value)),
        _ => {
            let Some(v) = value else {
                return false;
            };
            let ord = || compare(f.kind, &v, &f.value);
            match f.op {
                Op::Eq => equal(f.kind, &v, &f.value),
                Op::In => f.values.iter().any(|x| equal(f.kind, &v, x)),
                Op::Lt => ord() == Some(Ordering::Less),
                Op::Lte => matches!(ord(), Some(Ordering::Less | Ordering::Equal)),
                Op::Gt => ord() == Some(Ordering::Greater),
                Op::Gte => matches!(ord(), Some(Ordering::Greater | Ordering::Equal)),
                Op::Between => {
                    matches!(ord(), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(compare(f.kind, &v, &f.high), Some(Ordering::Less | Ordering::Equal))
                }
                Op::ContainsToken => contains_token(&v, &f.value),
                _ => false,
            }
        }
    }
}

/// Whether a record matches the free-text `query` (any text property contains it).
pub(super) fn query_matches(ty: &ObjectType, rec: &CrmRecord, query: &str) -> bool {
    ty.stored
        .iter()
        .enumerate()
        .any(|(idx, _)| matches!(rec.props.get(idx), Some(Some(v)) if v.to_lowercase().contains(query)))
        || rec.id.to_string() == query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_tokens() {
        assert!(glob("*@example.com", "contact1@example.com"));
        assert!(glob("con*1*", "Contact12"));
        assert!(!glob("*@example.org", "contact1@example.com"));
        assert!(contains_token("Acme - Renewal 3", "renewal"));
        assert!(contains_token("contact1@example.com", "example"));
        assert!(!contains_token("Acme - Renewal 3", "renew"));
        assert!(contains_token("Acme - Renewal 3", "renew*"));
    }

    #[test]
    fn comparisons_by_kind() {
        assert_eq!(compare(PropKind::Number, "9", "10"), Some(Ordering::Less));
        assert_eq!(compare(PropKind::Text, "b", "A"), Some(Ordering::Greater));
        assert_eq!(compare(PropKind::DateTime, "2024-01-01T00:00:00.000Z", "1704067200000"), Some(Ordering::Equal));
        assert!(equal(PropKind::Text, "Alice", "aLICE"));
        assert_eq!(compare(PropKind::Number, "x", "1"), None);
    }
}
