//! RFC 6901 JSON pointers, parsed once so that reading a column from each record does no string splitting.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    tokens: Vec<String>,
}

impl Pointer {
    /// `""` is the whole document; otherwise the pointer starts with `/`.
    pub fn parse(text: &str) -> Result<Pointer, String> {
        if text.is_empty() {
            return Ok(Pointer { tokens: Vec::new() });
        }
        if !text.starts_with('/') {
            return Err(format!("JSON pointer \"{text}\" must start with / (or be empty for the whole document)"));
        }
        let mut tokens = Vec::new();
        for raw in text[1..].split('/') {
            if raw.contains('~') {
                let mut out = String::with_capacity(raw.len());
                let mut chars = raw.chars();
                while let Some(c) = chars.next() {
                    if c == '~' {
                        match chars.next() {
                            Some('0') => out.push('~'),
                            Some('1') => out.push('/'),
                            _ => return Err(format!("JSON pointer \"{text}\" has a ~ not followed by 0 or 1")),
                        }
                    } else {
                        out.push(c);
                    }
                }
                tokens.push(out);
            } else {
                tokens.push(raw.to_string());
            }
        }
        Ok(Pointer { tokens })
    }

    pub fn from_tokens(tokens: &[String]) -> Pointer {
        Pointer { tokens: tokens.to_vec() }
    }

    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    pub fn is_root(&self) -> bool {
        self.tokens.is_empty()
    }

    /// True when one pointer is the other or lies inside it (`/properties` and `/properties/email`).
    pub fn overlaps(&self, other: &Pointer) -> bool {
        let n = self.tokens.len().min(other.tokens.len());
        self.tokens[..n] == other.tokens[..n]
    }

    pub fn get<'v>(&self, mut value: &'v Value) -> Option<&'v Value> {
        for token in &self.tokens {
            value = match value {
                Value::Object(map) => map.get(token)?,
                Value::Array(items) => items.get(array_index(token)?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// Move the value out of the document (leaving null behind): rows are built without copying strings.
    pub fn take(&self, mut value: &mut Value) -> Option<Value> {
        for token in &self.tokens {
            value = match value {
                Value::Object(map) => map.get_mut(token)?,
                Value::Array(items) => items.get_mut(array_index(token)?)?,
                _ => return None,
            };
        }
        Some(value.take())
    }

    /// Put `new` at this pointer, creating objects on the way (an array index must exist).
    pub fn set(&self, doc: &mut Value, new: Value) -> Result<(), String> {
        let Some((last, parents)) = self.tokens.split_last() else {
            *doc = new;
            return Ok(());
        };
        let mut value = doc;
        for token in parents {
            if value.is_null() {
                *value = Value::Object(serde_json::Map::new());
            }
            value = match value {
                Value::Object(map) => map.entry(token.clone()).or_insert(Value::Null),
                Value::Array(items) => array_index(token)
                    .and_then(|i| items.get_mut(i))
                    .ok_or_else(|| format!("no array element \"{token}\" for \"{self}\""))?,
                _ => return Err(format!("\"{self}\" goes through a value that is not an object")),
            };
        }
        if value.is_null() {
            *value = Value::Object(serde_json::Map::new());
        }
        match value {
            Value::Object(map) => {
                map.insert(last.clone(), new);
                Ok(())
            }
            Value::Array(items) => match array_index(last).and_then(|i| items.get_mut(i)) {
                Some(slot) => {
                    *slot = new;
                    Ok(())
                }
                None => Err(format!("no array element \"{last}\" for \"{self}\"")),
            },
            _ => Err(format!("\"{self}\" goes through a value that is not an object")),
        }
    }
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.tokens {
            write!(f, "/{}", t.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

fn array_index(token: &str) -> Option<usize> {
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_nested_and_array_values() {
        let doc = json!({"a": {"b/c": [10, {"d~e": "x"}]}});
        assert_eq!(Pointer::parse("/a/b~1c/0").unwrap().get(&doc), Some(&json!(10)));
        assert_eq!(Pointer::parse("/a/b~1c/1/d~0e").unwrap().get(&doc), Some(&json!("x")));
        assert_eq!(Pointer::parse("").unwrap().get(&doc), Some(&doc));
        assert_eq!(Pointer::parse("/a/missing").unwrap().get(&doc), None);
        assert_eq!(Pointer::parse("/a/b~1c/01").unwrap().get(&doc), None);
    }

    #[test]
    fn take_moves_the_value_out() {
        let mut doc = json!({"p": {"email": "a@b.c"}});
        let p = Pointer::parse("/p/email").unwrap();
        assert_eq!(p.take(&mut doc), Some(json!("a@b.c")));
        assert_eq!(doc, json!({"p": {"email": null}}));
    }

    #[test]
    fn overlap_is_prefix_either_way() {
        let p = |s: &str| Pointer::parse(s).unwrap();
        assert!(p("/properties").overlaps(&p("/properties/email")));
        assert!(p("/properties/email").overlaps(&p("/properties")));
        assert!(p("").overlaps(&p("/id")));
        assert!(!p("/properties/email").overlaps(&p("/properties/name")));
        assert!(!p("/id").overlaps(&p("/idx")));
    }

    #[test]
    fn set_creates_objects_on_the_way() {
        let mut doc = json!({"limit": 10});
        Pointer::parse("/after").unwrap().set(&mut doc, json!("abc")).unwrap();
        Pointer::parse("/paging/next").unwrap().set(&mut doc, json!(2)).unwrap();
        assert_eq!(doc, json!({"limit": 10, "after": "abc", "paging": {"next": 2}}));
        let mut arr = json!({"a": [1]});
        Pointer::parse("/a/0").unwrap().set(&mut arr, json!(5)).unwrap();
        assert_eq!(arr, json!({"a": [5]}));
        assert!(Pointer::parse("/a/3").unwrap().set(&mut arr, json!(5)).is_err());
        assert!(Pointer::parse("/limit/x").unwrap().set(&mut doc, json!(5)).is_err());
    }

    #[test]
    fn rejects_malformed_pointers() {
        assert!(Pointer::parse("a/b").is_err());
        assert!(Pointer::parse("/a~2").is_err());
    }

    #[test]
    fn displays_round_trip() {
        for text in ["", "/a", "/a~1b/0", "/x~0y"] {
            assert_eq!(Pointer::parse(text).unwrap().to_string(), text);
        }
    }
}
