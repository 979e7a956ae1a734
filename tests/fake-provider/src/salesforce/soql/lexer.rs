//! SOQL's tokens: identifiers, string literals with Salesforce's escapes (`\%` and `\_` stay literal in
//! LIKE), numbers, date and date-time literals, operators; a lexing error is a token of its own.

use crate::shared::time::{parse_date, parse_iso_ms};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    /// A string literal: characters with whether each was escaped (`\%` and `\_` stay literal in LIKE).
    Str(Vec<(char, bool)>),
    Num(f64),
    Date(i64),
    DateTime(i64),
    Comma,
    LParen,
    RParen,
    Op(&'static str),
    /// A lexing error at this position (the message says what went wrong).
    Bad(String),
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Character index in the query.
    pub(super) pos: usize,
    /// The source text (for "unexpected token" messages).
    pub(super) text: String,
}

pub(super) fn lex(q: &str) -> Vec<Token> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let text = |a: usize, b: usize| chars.get(a..b).map(|s| s.iter().collect::<String>()).unwrap_or_default();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            ',' => {
                i += 1;
                Tok::Comma
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '=' => {
                i += 1;
                Tok::Op("=")
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op("!=")
            }
            '<' => {
                i += 1;
                match chars.get(i) {
                    Some('=') => {
                        i += 1;
                        Tok::Op("<=")
                    }
                    Some('>') => {
                        i += 1;
                        Tok::Op("!=")
                    }
                    _ => Tok::Op("<"),
                }
            }
            '>' => {
                i += 1;
                if chars.get(i) == Some(&'=') {
                    i += 1;
                    Tok::Op(">=")
                } else {
                    Tok::Op(">")
                }
            }
            '\'' => {
                i += 1;
                let mut value = Vec::new();
                let mut bad = None;
                loop {
                    match chars.get(i) {
                        None => {
                            bad = Some(
                                "line 1:".to_string()
                                    + &start.to_string()
                                    + " mismatched character '<EOF>' expecting '''",
                            );
                            break;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let esc = chars.get(i + 1).copied();
                            let ch = match esc {
                                Some('n' | 'N') => Some(('\n', true)),
                                Some('r' | 'R') => Some(('\r', true)),
                                Some('t' | 'T') => Some(('\t', true)),
                                Some('b' | 'B') => Some(('\u{8}', true)),
                                Some('f' | 'F') => Some(('\u{c}', true)),
                                Some(q @ ('"' | '\'' | '\\')) => Some((q, true)),
                                Some(w @ ('_' | '%')) => Some((w, true)),
                                _ => None,
                            };
                            match ch {
                                Some(pair) => {
                                    value.push(pair);
                                    i += 2;
                                }
                                None => {
                                    bad = Some(format!(
                                        "Invalid string literal '{}'. Illegal character sequence '\\{}' in string \
                                         literal.",
                                        text(start, chars.len()),
                                        esc.map(String::from).unwrap_or_default()
                                    ));
                                    break;
                                }
                            }
                        }
                        Some(ch) => {
                            value.push((*ch, false));
                            i += 1;
                        }
                    }
                }
                match bad {
                    Some(msg) => Tok::Bad(msg),
                    None => Tok::Str(value),
                }
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) => {
                i += 1;
                while chars.get(i).is_some_and(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | ':' | '-' | '+')) {
                    // Stop a number before a following operator such as `-` only inside date literals.
                    i += 1;
                }
                let raw = text(start, i);
                literal(&raw).unwrap_or(Tok::Bad(format!("unexpected token: '{raw}'")))
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars.get(i).is_some_and(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '.') {
                    i += 1;
                }
                Tok::Ident(text(start, i))
            }
            _ => {
                i += 1;
                Tok::Bad(format!("line 1:{start} no viable alternative at character '{c}'"))
            }
        };
        let is_bad = matches!(tok, Tok::Bad(_));
        out.push(Token { tok, pos: start, text: text(start, i) });
        if is_bad {
            return out;
        }
    }
    out.push(Token { tok: Tok::Eof, pos: chars.len(), text: "<EOF>".to_string() });
    out
}

/// A number, date (`2024-01-05`) or date-time (`2024-01-05T10:00:00Z`, offset required) literal.
fn literal(raw: &str) -> Option<Tok> {
    if let Ok(n) = raw.parse::<f64>() {
        if raw.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') && n.is_finite() {
            return Some(Tok::Num(n));
        }
    }
    if raw.len() == 10 {
        return parse_date(raw).map(Tok::Date);
    }
    let has_offset = raw.ends_with(['Z', 'z']) || raw.get(19..).is_some_and(|t| t.contains(['+', '-']));
    if raw.len() > 10 && raw.get(10..11) == Some("T") && has_offset {
        return parse_iso_ms(raw).map(Tok::DateTime);
    }
    None
}
