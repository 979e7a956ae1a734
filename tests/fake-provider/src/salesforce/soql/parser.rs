//! SOQL's grammar as the fake accepts it: `SELECT fields FROM Object [WHERE cond] [ORDER BY f [ASC|DESC]
//! [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`, conditions with `=`, `!=`, `<`, `<=`, `>`, `>=`, `LIKE`,
//! `[NOT] IN`, `AND`/`OR` (one kind per level), `NOT` and parentheses, literals checked against the field's type.

use super::lexer::{Tok, Token};
use crate::salesforce::schema::{object, FType, Field, SObject, ACCOUNT};
use crate::salesforce::values::normalise_id;

/// A literal value in a condition.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lit {
    Str(Vec<(char, bool)>),
    Num(f64),
    Bool(bool),
    Null,
    Date(i64),
    DateTime(i64),
}

impl Lit {
    pub(super) fn text(&self) -> String {
        match self {
            Lit::Str(chars) => chars.iter().map(|(c, _)| *c).collect(),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Cond {
    Cmp { field: usize, op: &'static str, value: Lit },
    In { field: usize, values: Vec<Lit>, negated: bool },
    Like { field: usize, pattern: Vec<(char, bool)> },
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug)]
pub(super) struct OrderBy {
    pub(super) field: usize,
    pub(super) desc: bool,
    pub(super) nulls_last: bool,
}

#[derive(Debug)]
pub(super) struct Query {
    pub(super) obj: &'static SObject,
    pub(super) fields: Vec<usize>,
    pub(super) cond: Option<Cond>,
    pub(super) order: Vec<OrderBy>,
    pub(super) limit: Option<usize>,
    pub(super) offset: usize,
}

/// A SOQL error: the error code, the position it points at and the message.
#[derive(Debug)]
pub(super) struct SoqlError {
    pub(super) code: &'static str,
    pub(super) pos: usize,
    pub(super) message: String,
}

pub(super) struct Parser<'a> {
    pub(super) toks: &'a [Token],
    pub(super) i: usize,
    pub(super) obj: Option<&'static SObject>,
    /// Nesting of parentheses and NOTs (bounded, so a hostile query cannot exhaust the stack).
    pub(super) depth: usize,
}

/// Deepest nesting of conditions a query may have.
const MAX_NESTING: usize = 100;

const KEYWORDS: &[&str] = &[
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc", "nulls", "first",
    "last", "limit", "offset", "null", "true", "false",
];

impl<'a> Parser<'a> {
    fn peek(&self) -> &'a Token {
        static EOF: Token = Token { tok: Tok::Eof, pos: 0, text: String::new() };
        self.toks.get(self.i).unwrap_or(&EOF)
    }

    fn next(&mut self) -> &'a Token {
        let t = self.peek();
        self.i += 1;
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        let message = match &t.tok {
            Tok::Bad(msg) => msg.clone(),
            Tok::Eof => "unexpected token: <EOF>".to_string(),
            _ => format!("unexpected token: '{}'", t.text),
        };
        SoqlError { code: "MALFORMED_QUERY", pos: t.pos, message }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.is_kw(kw) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A field name (not a keyword) resolved against the FROM object.
    fn field(&mut self) -> Result<(usize, &'static Field), SoqlError> {
        let t = self.peek();
        let Tok::Ident(name) = &t.tok else {
            return Err(self.unexpected());
        };
        if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            return Err(self.unexpected());
        }
        let obj = self.obj.unwrap_or(&ACCOUNT);
        self.i += 1;
        obj.field(name).ok_or_else(|| SoqlError {
            code: "INVALID_FIELD",
            pos: t.pos,
            message: format!(
                "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to \
                 append the '__c' after the custom field name. Please reference your WSDL or the describe call for \
                 the appropriate names.",
                obj.name
            ),
        })
    }

    fn literal(&mut self) -> Result<(Lit, usize), SoqlError> {
        let t = self.peek();
        let lit = match &t.tok {
            Tok::Str(chars) => Lit::Str(chars.clone()),
            Tok::Num(n) => Lit::Num(*n),
            Tok::Date(d) => Lit::Date(*d),
            Tok::DateTime(ms) => Lit::DateTime(*ms),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Lit::Null,
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            _ => return Err(self.unexpected()),
        };
        self.i += 1;
        Ok((lit, t.pos))
    }

    /// `cond ((AND|OR) cond)*`: one kind of connective per level (mixing needs parentheses, as in SOQL).
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        let first = self.term()?;
        let mut list = vec![first];
        let mut connective: Option<bool> = None; // Some(true): AND
        loop {
            let is_and = if self.is_kw("and") {
                true
            } else if self.is_kw("or") {
                false
            } else {
                break;
            };
            if connective.is_some_and(|c| c != is_and) {
                return Err(self.unexpected());
            }
            connective = Some(is_and);
            self.i += 1;
            list.push(self.term()?);
        }
        Ok(match (connective, list.len()) {
            (_, 1) => list.pop().unwrap_or(Cond::And(vec![])),
            (Some(true), _) => Cond::And(list),
            _ => Cond::Or(list),
        })
    }

    fn term(&mut self) -> Result<Cond, SoqlError> {
        self.depth += 1;
        let result = if self.depth > MAX_NESTING { Err(self.unexpected()) } else { self.simple_term() };
        self.depth -= 1;
        result
    }

    fn simple_term(&mut self) -> Result<Cond, SoqlError> {
        if self.is_kw("not") {
            self.i += 1;
            return Ok(Cond::Not(Box::new(self.term()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.i += 1;
            let c = self.condition()?;
            if self.peek().tok != Tok::RParen {
                return Err(self.unexpected());
            }
            self.i += 1;
            return Ok(c);
        }
        let (idx, fd) = self.field()?;
        if self.is_kw("like") {
            self.i += 1;
            let (lit, pos) = self.literal()?;
            let Lit::Str(pattern) = lit else {
                return Err(type_error(fd, pos));
            };
            if !fd.ty.is_text() && !fd.ty.is_id() {
                return Err(SoqlError {
                    code: "INVALID_FIELD",
                    pos,
                    message: format!("invalid operator on field '{}': LIKE can only be used on text fields", fd.name),
                });
            }
            return Ok(Cond::Like { field: idx, pattern });
        }
        let negated = if self.is_kw("not") {
            self.i += 1;
            if !self.is_kw("in") {
                return Err(self.unexpected());
            }
            true
        } else {
            false
        };
        if self.is_kw("in") {
            self.i += 1;
            if self.peek().tok != Tok::LParen {
                return Err(self.unexpected());
            }
            self.i += 1;
            let mut values = Vec::new();
            loop {
                let (lit, pos) = self.literal()?;
                values.push(check_literal(fd, lit, pos)?);
                match self.next().tok {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    _ => {
                        self.i -= 1;
                        return Err(self.unexpected());
                    }
                }
            }
            return Ok(Cond::In { field: idx, values, negated });
        }
        let op = match self.peek().tok {
            Tok::Op(op) => op,
            _ => return Err(self.unexpected()),
        };
        self.i += 1;
        let (lit, pos) = self.literal()?;
        let value = check_literal(fd, lit, pos)?;
        if value == Lit::Null && op != "=" && op != "!=" {
            return Err(SoqlError {
                code: "INVALID_QUERY_FILTER_OPERATOR",
                pos,
                message: format!("invalid operator on null: {op}"),
            });
        }
        Ok(Cond::Cmp { field: idx, op, value })
    }

    pub(super) fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("select")?;
        // Field names are resolved once the object is known: remember their tokens first.
        let mut field_toks = Vec::new();
        loop {
            let t = self.peek();
            match &t.tok {
                Tok::Ident(name) if !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name)) => {
                    field_toks.push(self.i);
                    self.i += 1;
                }
                _ => return Err(self.unexpected()),
            }
            if self.peek().tok == Tok::Comma {
                self.i += 1;
            } else {
                break;
            }
        }
        self.expect_kw("from")?;
        let t = self.peek();
        let Tok::Ident(obj_name) = &t.tok else {
            return Err(self.unexpected());
        };
        let Some(obj) = object(obj_name) else {
            return Err(SoqlError {
                code: "INVALID_TYPE",
                pos: t.pos,
                message: format!(
                    "sObject type '{obj_name}' is not supported. If you are attempting to use a custom object, be \
                     sure to append the '__c' after the entity name. Please reference your WSDL or the describe call \
                     for the appropriate names."
                ),
            });
        };
        self.i += 1;
        self.obj = Some(obj);
        let after_from = self.i;
        let mut fields = Vec::new();
        for ti in field_toks {
            self.i = ti;
            let (idx, fd) = self.field()?;
            if fields.contains(&idx) {
                return Err(SoqlError {
                    code: "MALFORMED_QUERY",
                    pos: self.toks.get(ti).map_or(0, |t| t.pos),
                    message: format!("duplicate field selected: {}", fd.name),
                });
            }
            fields.push(idx);
        }
        self.i = after_from;
        let cond = if self.is_kw("where") {
            self.i += 1;
            Some(self.condition()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.is_kw("order") {
            self.i += 1;
            self.expect_kw("by")?;
            loop {
                let (field, _) = self.field()?;
                let desc = if self.is_kw("desc") {
                    self.i += 1;
                    true
                } else {
                    if self.is_kw("asc") {
                        self.i += 1;
                    }
                    false
                };
                let mut nulls_last = false;
                if self.is_kw("nulls") {
                    self.i += 1;
                    if self.is_kw("last") {
                        nulls_last = true;
                    } else if !self.is_kw("first") {
                        return Err(self.unexpected());
                    }
                    self.i += 1;
                }
                order.push(OrderBy { field, desc, nulls_last });
                if self.peek().tok == Tok::Comma {
                    self.i += 1;
                } else {
                    break;
                }
            }
        }
        let mut limit = None;
        if self.is_kw("limit") {
            self.i += 1;
            limit = Some(self.count()?);
        }
        let mut offset = 0;
        if self.is_kw("offset") {
            self.i += 1;
            offset = self.count()?;
        }
        if self.peek().tok != Tok::Eof {
            return Err(self.unexpected());
        }
        Ok(Query { obj, fields, cond, order, limit, offset })
    }

    /// A non-negative integer (LIMIT, OFFSET).
    fn count(&mut self) -> Result<usize, SoqlError> {
        match self.peek().tok {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 => {
                self.i += 1;
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }
}

fn type_error(fd: &Field, pos: usize) -> SoqlError {
    let wants_quotes = fd.ty.is_text() || fd.ty.is_id();
    let tail = if wants_quotes { "should be enclosed in quotes" } else { "should not be enclosed in quotes" };
    SoqlError {
        code: "INVALID_FIELD",
        pos,
        message: format!(
            "value of filter criterion for field '{}' must be of type {} and {tail}",
            fd.name,
            fd.ty.soql_name()
        ),
    }
}

/// Checks a literal against the field's type; Id literals are normalised to 18 characters.
fn check_literal(fd: &Field, lit: Lit, pos: usize) -> Result<Lit, SoqlError> {
    let ok = match (&lit, fd.ty) {
        (Lit::Null, _) => true,
        (Lit::Str(_), t) if t.is_text() => true,
        (Lit::Str(_), FType::Id | FType::Ref(_)) => {
            let text = lit.text();
            return match normalise_id(&text) {
                Some(id) => Ok(Lit::Str(id.chars().map(|c| (c, false)).collect())),
                None => Err(SoqlError {
                    code: "INVALID_QUERY_FILTER_OPERATOR",
                    pos,
                    message: format!("invalid ID field: {text}"),
                }),
            };
        }
        (Lit::Num(n), FType::Int) => n.fract() == 0.0,
        (Lit::Num(_), t) => t.is_number(),
        (Lit::Bool(_), FType::Bool) => true,
        (Lit::Date(_), FType::Date) => true,
        (Lit::DateTime(_), FType::DateTime) => true,
        _ => false,
    };
    if ok {
        Ok(lit)
    } else {
        Err(type_error(fd, pos))
    }
}
