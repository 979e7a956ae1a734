//! Evaluating a formula on a record: field references bound to cells, values that are numbers, text, booleans
//! or blank, compared and converted the way Airtable does.

use serde_json::Value;

use super::parse::Expr;
use crate::airtable::list::cell_text;
use crate::airtable::store::{Kind, Rec, Table};

/// Resolves field names to indexes, collecting the unknown ones.
pub fn bind(e: &Expr, table: &Table, unknown: &mut Vec<String>) -> Expr {
    match e {
        Expr::Field(name) => match table.formula_field(name) {
            Some(i) => Expr::FieldIdx(i),
            None => {
                if !unknown.contains(name) {
                    unknown.push(name.clone());
                }
                Expr::Str(String::new())
            }
        },
        Expr::Call(f, args) => Expr::Call(f.clone(), args.iter().map(|a| bind(a, table, unknown)).collect()),
        Expr::Neg(x) => Expr::Neg(Box::new(bind(x, table, unknown))),
        Expr::Bin(op, a, b) => Expr::Bin(op, Box::new(bind(a, table, unknown)), Box::new(bind(b, table, unknown))),
        other => other.clone(),
    }
}

/// A formula value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fv {
    Num(f64),
    Str(String),
    Bool(bool),
    Blank,
}

pub fn truthy(v: &Fv) -> bool {
    match v {
        Fv::Num(n) => *n != 0.0,
        Fv::Str(s) => !s.is_empty(),
        Fv::Bool(b) => *b,
        Fv::Blank => false,
    }
}

fn as_text(v: &Fv) -> String {
    match v {
        Fv::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Fv::Num(n) => n.to_string(),
        Fv::Str(s) => s.clone(),
        Fv::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Fv::Blank => String::new(),
    }
}

fn as_num(v: &Fv) -> Option<f64> {
    match v {
        Fv::Num(n) => Some(*n),
        Fv::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Fv::Str(s) => s.trim().parse::<f64>().ok(),
        Fv::Blank => None,
    }
}

fn cell_value(table: &Table, rec: &Rec, idx: usize) -> Fv {
    let kind = table.fields.get(idx).map_or(Kind::Text, |f| f.kind);
    match (kind, rec.values.get(idx).and_then(Option::as_ref)) {
        (Kind::Checkbox, v) => Fv::Bool(v.and_then(Value::as_bool).unwrap_or(false)),
        (_, None) => Fv::Blank,
        (_, Some(Value::Number(n))) => n.as_f64().map_or(Fv::Blank, Fv::Num),
        (_, Some(v)) => Fv::Str(cell_text(v)),
    }
}

fn equal(a: &Fv, b: &Fv) -> bool {
    match (a, b) {
        (Fv::Blank, Fv::Blank) => true,
        (Fv::Blank, x) | (x, Fv::Blank) => matches!(x, Fv::Str(s) if s.is_empty()) || *x == Fv::Bool(false),
        (Fv::Str(x), Fv::Str(y)) => x == y,
        (Fv::Num(_) | Fv::Bool(_), _) | (_, Fv::Num(_) | Fv::Bool(_)) => match (as_num(a), as_num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

fn order(a: &Fv, b: &Fv) -> Option<std::cmp::Ordering> {
    if *a == Fv::Blank || *b == Fv::Blank {
        return None;
    }
    match (a, b) {
        (Fv::Str(x), Fv::Str(y)) => match (x.trim().parse::<f64>(), y.trim().parse::<f64>()) {
            (Ok(m), Ok(n)) => m.partial_cmp(&n),
            _ => Some(x.cmp(y)),
        },
        _ => as_num(a)?.partial_cmp(&as_num(b)?),
    }
}

pub fn eval(e: &Expr, table: &Table, rec: &Rec) -> Fv {
    let ev = |x: &Expr| eval(x, table, rec);
    match e {
        Expr::Num(n) => Fv::Num(*n),
        Expr::Str(s) => Fv::Str(s.clone()),
        Expr::Field(_) => Fv::Blank,
        Expr::FieldIdx(i) => cell_value(table, rec, *i),
        Expr::Neg(x) => as_num(&ev(x)).map_or(Fv::Blank, |n| Fv::Num(-n)),
        Expr::Bin(op, a, b) => {
            let (x, y) = (ev(a), ev(b));
            match *op {
                "=" => Fv::Bool(equal(&x, &y)),
                "!=" => Fv::Bool(!equal(&x, &y)),
                "<" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_lt())),
                "<=" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_le())),
                ">" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_gt())),
                ">=" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_ge())),
                "&" => Fv::Str(as_text(&x) + &as_text(&y)),
                _ => {
                    let (m, n) = (as_num(&x).unwrap_or(0.0), as_num(&y).unwrap_or(0.0));
                    match *op {
                        "+" => Fv::Num(m + n),
                        "-" => Fv::Num(m - n),
                        "*" => Fv::Num(m * n),
                        _ if n == 0.0 => Fv::Blank,
                        _ => Fv::Num(m / n),
                    }
                }
            }
        }
        Expr::Call(f, args) => {
            let arg = |i: usize| args.get(i).map_or(Fv::Blank, ev);
            match f.as_str() {
                "AND" => Fv::Bool(args.iter().all(|a| truthy(&ev(a)))),
                "OR" => Fv::Bool(args.iter().any(|a| truthy(&ev(a)))),
                "NOT" => Fv::Bool(!truthy(&arg(0))),
                "TRUE" => Fv::Bool(true),
                "FALSE" => Fv::Bool(false),
                "BLANK" => Fv::Blank,
                "IF" => {
                    if truthy(&arg(0)) {
                        arg(1)
                    } else {
                        arg(2)
                    }
                }
                "LOWER" => Fv::Str(as_text(&arg(0)).to_lowercase()),
                "UPPER" => Fv::Str(as_text(&arg(0)).to_uppercase()),
                "TRIM" => Fv::Str(as_text(&arg(0)).trim().to_string()),
                "LEN" => Fv::Num(as_text(&arg(0)).chars().count() as f64),
                "FIND" | "SEARCH" => {
                    let (needle, hay) = (as_text(&arg(0)), as_text(&arg(1)));
                    let (needle, hay) =
                        if f == "SEARCH" { (needle.to_lowercase(), hay.to_lowercase()) } else { (needle, hay) };
                    let from = as_num(&arg(2)).map_or(0, |n| (n.max(1.0) as usize) - 1);
                    let hay_chars: Vec<char> = hay.chars().collect();
                    let tail: String = hay_chars.get(from..).map(|s| s.iter().collect()).unwrap_or_default();
                    match tail.find(&needle) {
                        Some(byte) => Fv::Num((from + tail.get(..byte).map_or(0, |s| s.chars().count()) + 1) as f64),
                        None if f == "SEARCH" => Fv::Blank,
                        None => Fv::Num(0.0),
                    }
                }
                "RECORD_ID" => Fv::Str(rec.id.clone()),
                "CONCATENATE" => Fv::Str(args.iter().map(|a| as_text(&ev(a))).collect()),
                _ => Fv::Blank,
            }
        }
    }
}
