//! The formula lexer and a precedence-climbing parser (comparison, `&`, `+ -`, `* /`, unary minus), with a
//! bound on nesting.

#[derive(Debug, Clone, PartialEq)]
enum FTok {
    Field(String),
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex_formula(src: &str) -> Result<Vec<FTok>, ()> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '{' => {
                let end = chars.get(i + 1..).and_then(|r| r.iter().position(|ch| *ch == '}')).ok_or(())?;
                let name: String = chars.get(i + 1..i + 1 + end).ok_or(())?.iter().collect();
                out.push(FTok::Field(name));
                i += end + 2;
            }
            '\'' | '"' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(()),
                        Some('\\') => {
                            let esc = chars.get(i + 1).ok_or(())?;
                            s.push(match esc {
                                'n' => '\n',
                                't' => '\t',
                                other => *other,
                            });
                            i += 2;
                        }
                        Some(ch) if *ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(FTok::Str(s));
            }
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while chars.get(i).is_some_and(|ch| ch.is_ascii_digit() || *ch == '.') {
                    i += 1;
                }
                let raw: String = chars.get(start..i).ok_or(())?.iter().collect();
                out.push(FTok::Num(raw.parse::<f64>().map_err(|_| ())?));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars.get(i).is_some_and(|ch| ch.is_alphanumeric() || *ch == '_') {
                    i += 1;
                }
                out.push(FTok::Ident(chars.get(start..i).ok_or(())?.iter().collect()));
            }
            '(' => {
                out.push(FTok::LParen);
                i += 1;
            }
            ')' => {
                out.push(FTok::RParen);
                i += 1;
            }
            ',' => {
                out.push(FTok::Comma);
                i += 1;
            }
            _ => {
                let two: String = chars.get(i..i + 2).map(|s| s.iter().collect()).unwrap_or_default();
                let op = match two.as_str() {
                    "!=" => Some("!="),
                    "<=" => Some("<="),
                    ">=" => Some(">="),
                    _ => None,
                };
                if let Some(op) = op {
                    out.push(FTok::Op(op));
                    i += 2;
                    continue;
                }
                let op = match c {
                    '=' => "=",
                    '<' => "<",
                    '>' => ">",
                    '&' => "&",
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    '/' => "/",
                    _ => return Err(()),
                };
                out.push(FTok::Op(op));
                i += 1;
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub enum Expr {
    Num(f64),
    Str(String),
    /// A field by name (bound to an index by `bind`).
    Field(String),
    FieldIdx(usize),
    Call(String, Vec<Expr>),
    Neg(Box<Expr>),
    Bin(&'static str, Box<Expr>, Box<Expr>),
}

const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("AND", 1, usize::MAX),
    ("OR", 1, usize::MAX),
    ("NOT", 1, 1),
    ("TRUE", 0, 0),
    ("FALSE", 0, 0),
    ("BLANK", 0, 0),
    ("IF", 2, 3),
    ("LOWER", 1, 1),
    ("UPPER", 1, 1),
    ("LEN", 1, 1),
    ("TRIM", 1, 1),
    ("FIND", 2, 3),
    ("SEARCH", 2, 3),
    ("RECORD_ID", 0, 0),
    ("CONCATENATE", 1, usize::MAX),
];

struct FParser {
    toks: Vec<FTok>,
    i: usize,
    /// Nesting depth (bounded, so a hostile formula cannot exhaust the stack).
    depth: usize,
}

/// Deepest nesting a formula may have.
const MAX_NESTING: usize = 100;

impl FParser {
    fn peek(&self) -> Option<&FTok> {
        self.toks.get(self.i)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, ()> {
        const LEVELS: &[&[&str]] = &[&["=", "!=", "<", "<=", ">", ">="], &["&"], &["+", "-"], &["*", "/"]];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        while let Some(FTok::Op(op)) = self.peek() {
            let op = *op;
            if !ops.contains(&op) {
                break;
            }
            self.i += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ()> {
        self.depth += 1;
        let result = if self.depth > MAX_NESTING { Err(()) } else { self.primary() };
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Expr, ()> {
        if self.peek() == Some(&FTok::Op("-")) {
            self.i += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        let tok = self.peek().cloned().ok_or(())?;
        self.i += 1;
        match tok {
            FTok::Num(n) => Ok(Expr::Num(n)),
            FTok::Str(s) => Ok(Expr::Str(s)),
            FTok::Field(name) => Ok(Expr::Field(name)),
            FTok::LParen => {
                let e = self.binary(0)?;
                (self.peek() == Some(&FTok::RParen)).then_some(()).ok_or(())?;
                self.i += 1;
                Ok(e)
            }
            FTok::Ident(name) if self.peek() == Some(&FTok::LParen) => {
                self.i += 1;
                let upper = name.to_ascii_uppercase();
                let (_, min, max) = FUNCTIONS.iter().find(|(n, _, _)| *n == upper).ok_or(())?;
                let mut args = Vec::new();
                if self.peek() == Some(&FTok::RParen) {
                    self.i += 1;
                } else {
                    loop {
                        args.push(self.binary(0)?);
                        match self.peek() {
                            Some(FTok::Comma) => self.i += 1,
                            Some(FTok::RParen) => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(()),
                        }
                    }
                }
                if args.len() < *min || args.len() > *max {
                    return Err(());
                }
                Ok(Expr::Call(upper, args))
            }
            // A field name without braces (one word).
            FTok::Ident(name) => Ok(Expr::Field(name)),
            _ => Err(()),
        }
    }
}

pub fn parse_formula(src: &str) -> Result<Expr, ()> {
    let toks = lex_formula(src)?;
    let mut p = FParser { toks, i: 0, depth: 0 };
    let e = p.binary(0)?;
    if p.i == p.toks.len() {
        Ok(e)
    } else {
        Err(())
    }
}
