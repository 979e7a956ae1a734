//! Reading a page of JSON without building all of it: only the values a query needs (the records'
//! columns, the next-page cursor, totals) are materialised; everything else is skipped while parsing.
//! A scan of `count(*)` allocates nothing per record, and `SELECT a, b` allocates only a and b.
//!
//! The requested JSON pointers form a trie. A pointer is captured at its deepest object-key prefix (array
//! indexes are resolved afterwards inside the captured value), and a pointer inside another captured
//! pointer is derived from it, so `properties` (jsonb) and `properties/email` can both be read.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::connector::pager;
use crate::connector::pointer::Pointer;

/// Where a requested pointer's value comes from: a captured subtree and the pointer inside it.
#[derive(Debug, Clone)]
struct Source {
    slot: usize,
    relative: Pointer,
    /// The only reader of an exactly captured value: it can be moved out.
    sole: bool,
}

#[derive(Debug, Default)]
struct Node {
    children: Vec<(String, Node)>,
    /// Capture the whole value here, in this slot.
    capture: Option<usize>,
    /// The records are here (only in the page trie).
    records: bool,
}

impl Node {
    fn child(&mut self, key: &str) -> &mut Node {
        let i = match self.children.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.children.push((key.to_string(), Node::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[i].1
    }

    fn find(&self, key: &str) -> Option<&Node> {
        self.children.iter().find(|(k, _)| k == key).map(|(_, n)| n)
    }
}

/// A trie of pointers and, per requested pointer, where its value is read from.
#[derive(Debug)]
struct Trie {
    root: Node,
    slots: usize,
    sources: Vec<Option<Source>>,
}

/// The captured prefix of a pointer: its tokens up to the first that could be an array index.
fn capture_prefix(tokens: &[String]) -> usize {
    tokens.iter().position(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).unwrap_or(tokens.len())
}

impl Trie {
    /// `pointers[i]` may be None (nothing to read). `stop_at` marks the records node in a page trie:
    /// pointers below it are not readable at page level.
    fn build(pointers: &[Option<&Pointer>], records_at: Option<&[String]>) -> Trie {
        let mut root = Node::default();
        if let Some(path) = records_at {
            let mut node = &mut root;
            for t in path {
                node = node.child(t);
            }
            node.records = true;
        }
        // Mark capture points (slot numbers assigned afterwards).
        let prefixes: Vec<Option<Vec<String>>> = pointers
            .iter()
            .map(|p| {
                let tokens = (*p)?.tokens();
                let n = capture_prefix(tokens);
                Some(tokens[..n].to_vec())
            })
            .collect();
        for prefix in prefixes.iter().flatten() {
            let mut node = &mut root;
            for t in prefix {
                node = node.child(t);
            }
            node.capture = Some(usize::MAX);
        }
        // The topmost capture on each path is the real one; captures below it are derived.
        let mut slots = 0;
        fn assign(node: &mut Node, under_capture: bool, slots: &mut usize) {
            if node.capture.is_some() {
                if under_capture {
                    node.capture = None;
                } else {
                    node.capture = Some(*slots);
                    *slots += 1;
                }
            }
            let under = under_capture || node.capture.is_some();
            for (_, child) in &mut node.children {
                assign(child, under, slots);
            }
        }
        assign(&mut root, false, &mut slots);
        let mut sources: Vec<Option<Source>> = pointers
            .iter()
            .map(|p| {
                let tokens = (*p)?.tokens();
                let mut node = &root;
                for (depth, t) in tokens.iter().enumerate() {
                    if let Some(slot) = node.capture {
                        return Some(Source { slot, relative: Pointer::from_tokens(&tokens[depth..]), sole: false });
                    }
                    if node.records && records_at.is_some() {
                        return None;
                    }
                    node = node.find(t)?;
                }
                node.capture.map(|slot| Source { slot, relative: Pointer::from_tokens(&[]), sole: false })
            })
            .collect();
        // An exact capture read by one pointer only can be moved out instead of cloned.
        for i in 0..sources.len() {
            let Some(src) = &sources[i] else { continue };
            let exact = src.relative.is_root();
            let shared =
                sources.iter().enumerate().any(|(j, o)| j != i && o.as_ref().is_some_and(|o| o.slot == src.slot));
            if exact && !shared {
                if let Some(s) = sources[i].as_mut() {
                    s.sole = true;
                }
            }
        }
        Trie { root, slots, sources }
    }

    /// Resolve the captured slots into one value per requested pointer.
    fn resolve(&self, mut captured: Vec<Option<Value>>) -> Vec<Option<Value>> {
        let mut out = Vec::with_capacity(self.sources.len());
        for src in &self.sources {
            out.push(match src {
                None => None,
                Some(Source { slot, sole: true, .. }) => captured[*slot].take(),
                Some(Source { slot, relative, .. }) => captured[*slot].as_ref().and_then(|v| relative.get(v)).cloned(),
            });
        }
        out
    }
}

/// How to read pages of one listing.
#[derive(Debug)]
pub struct PagePlan {
    page: Trie,
    record: Trie,
    records_at: Pointer,
}

/// One parsed page: the page-level values requested (in order) and, per record, its requested values.
#[derive(Debug)]
pub struct ExtractedPage {
    pub page_values: Vec<Option<Value>>,
    pub records: Vec<Vec<Option<Value>>>,
}

impl PagePlan {
    /// `records_at`: where the records are; `page_pointers`: values read once per page (cursor,
    /// totals); `record_pointers`: values read from each record, in the order returned.
    pub fn new(records_at: &Pointer, page_pointers: &[Pointer], record_pointers: &[Pointer]) -> PagePlan {
        let records_path = records_at.tokens().to_vec();
        let page_refs: Vec<Option<&Pointer>> = page_pointers.iter().map(Some).collect();
        let page = Trie::build(&page_refs, Some(&records_path));
        let record_refs: Vec<Option<&Pointer>> = record_pointers.iter().map(Some).collect();
        let record = Trie::build(&record_refs, None);
        PagePlan { page, record, records_at: records_at.clone() }
    }

    /// Parse a page body. Errors are JSON syntax errors, or records that are not where the plan says.
    pub fn parse(&self, body: &[u8]) -> Result<ExtractedPage, ExtractError> {
        if capture_prefix(self.records_at.tokens()) < self.records_at.tokens().len() {
            return self.parse_full(body);
        }
        let mut state = State {
            page: vec![None; self.page.slots],
            records: Vec::new(),
            found_records: false,
            top_keys: Vec::new(),
            record_error: None,
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        NodeSeed { node: &self.page.root, plan: self, state: &mut state, depth: 0 }
            .deserialize(&mut de)
            .map_err(ExtractError::Json)?;
        de.end().map_err(ExtractError::Json)?;
        if let Some(m) = state.record_error {
            return Err(ExtractError::Records(m));
        }
        if !state.found_records {
            return Err(ExtractError::Records(if self.records_at.is_root() {
                "the response has no records".to_string()
            } else {
                format!(
                    "the response has no records at \"{}\"; its top-level keys are: {}",
                    self.records_at,
                    if state.top_keys.is_empty() { "none".to_string() } else { state.top_keys.join(", ") }
                )
            }));
        }
        Ok(ExtractedPage { page_values: self.page.resolve(state.page), records: state.records })
    }

    /// Records below an array index (`/data/0/items`): parse everything, then read by pointer.
    fn parse_full(&self, body: &[u8]) -> Result<ExtractedPage, ExtractError> {
        let doc: Value = serde_json::from_slice(body).map_err(ExtractError::Json)?;
        let page_values = self.page.sources.iter().map(|_| None).collect::<Vec<Option<Value>>>();
        let records = pager::extract_records(doc, &self.records_at).map_err(ExtractError::Records)?;
        let records = records.into_iter().map(|r| self.record_values(r)).collect();
        Ok(ExtractedPage { page_values, records })
    }

    /// The requested values of one record given as a Value (get responses).
    pub fn record_values(&self, record: Value) -> Vec<Option<Value>> {
        let mut captured = vec![None; self.record.slots];
        capture_from_value(&self.record.root, record, &mut captured);
        self.record.resolve(captured)
    }
}

fn capture_from_value(node: &Node, value: Value, out: &mut [Option<Value>]) {
    if let Some(slot) = node.capture {
        out[slot] = Some(value);
        return;
    }
    if let Value::Object(mut map) = value {
        for (key, child) in &node.children {
            if let Some(v) = map.remove(key) {
                capture_from_value(child, v, out);
            }
        }
    }
}

#[derive(Debug)]
pub enum ExtractError {
    Json(serde_json::Error),
    Records(String),
}

struct State {
    page: Vec<Option<Value>>,
    records: Vec<Vec<Option<Value>>>,
    found_records: bool,
    top_keys: Vec<String>,
    record_error: Option<String>,
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Visitor methods for values that are not objects: where a trie node expects an object, anything
/// else has nothing to capture and is skipped.
macro_rules! skip_non_objects {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// Walks one value of the page trie.
struct NodeSeed<'a> {
    node: &'a Node,
    plan: &'a PagePlan,
    state: &'a mut State,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if let Some(slot) = self.node.capture {
            self.state.page[slot] = Some(Value::deserialize(d)?);
            return Ok(());
        }
        if self.node.records {
            self.state.found_records = true;
            return d.deserialize_any(RecordsVisitor { plan: self.plan, state: self.state });
        }
        if self.node.children.is_empty() && self.depth > 0 {
            IgnoredAny::deserialize(d)?;
            return Ok(());
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key>()? {
            if self.depth == 0 && self.state.top_keys.len() < 20 {
                self.state.top_keys.push(key.to_string());
            }
            match self.node.find(&key) {
                Some(child) => map.next_value_seed(NodeSeed {
                    node: child,
                    plan: self.plan,
                    state: &mut *self.state,
                    depth: self.depth + 1,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    skip_non_objects!();
}

/// The records node: an array of records, one object (a single record), or null (none).
struct RecordsVisitor<'a> {
    plan: &'a PagePlan,
    state: &'a mut State,
}

impl<'de> Visitor<'de> for RecordsVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let trie = &self.plan.record;
        if let Some(n) = seq.size_hint() {
            self.state.records.reserve(n);
        }
        loop {
            let mut captured = vec![None; trie.slots];
            match seq.next_element_seed(RecordSeed { node: &trie.root, out: &mut captured })? {
                Some(()) => self.state.records.push(trie.resolve(captured)),
                None => break,
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let trie = &self.plan.record;
        let mut captured = vec![None; trie.slots];
        RecordSeed { node: &trie.root, out: &mut captured }.visit_map(map)?;
        self.state.records.push(trie.resolve(captured));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.wrong("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.wrong("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.wrong("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.wrong("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.wrong("a string")
    }
}

impl RecordsVisitor<'_> {
    fn wrong<E: de::Error>(self, found: &str) -> Result<(), E> {
        self.state.record_error =
            Some(format!("expected records (an array) at \"{}\" in the response, found {found}", self.plan.records_at));
        Ok(())
    }
}

/// Walks one record (or a value inside it) of the record trie.
struct RecordSeed<'a> {
    node: &'a Node,
    out: &'a mut Vec<Option<Value>>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if let Some(slot) = self.node.capture {
            self.out[slot] = Some(Value::deserialize(d)?);
            return Ok(());
        }
        if self.node.children.is_empty() {
            IgnoredAny::deserialize(d)?;
            return Ok(());
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key>()? {
            match self.node.find(&key) {
                Some(child) => map.next_value_seed(RecordSeed { node: child, out: &mut *self.out })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    skip_non_objects!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Pointer {
        Pointer::parse(s).unwrap()
    }

    fn plan(records: &str, page: &[&str], record: &[&str]) -> PagePlan {
        let page: Vec<Pointer> = page.iter().map(|s| p(s)).collect();
        let record: Vec<Pointer> = record.iter().map(|s| p(s)).collect();
        PagePlan::new(&p(records), &page, &record)
    }

    const HUBSPOT: &str = r#"{"results": [
        {"id": "1", "properties": {"email": "a@x.test", "firstname": "Ann", "tags": ["a", "b"]}, "archived": false},
        {"id": "2", "properties": {"email": "b\u0040x.test", "firstname": null}, "archived": true, "extra": {"deep": [1, {"x": 2}]}}
    ], "paging": {"next": {"after": "3", "link": "http://x/y"}}}"#;

    #[test]
    fn reads_only_the_requested_values() {
        let plan = plan("/results", &["/paging/next/after"], &["/id", "/properties/email", "/archived", "/missing"]);
        let page = plan.parse(HUBSPOT.as_bytes()).unwrap();
        assert_eq!(page.page_values, vec![Some(json!("3"))]);
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.records[0], vec![Some(json!("1")), Some(json!("a@x.test")), Some(json!(false)), None]);
        assert_eq!(page.records[1][1], Some(json!("b@x.test")), "escaped strings decode");
    }

    #[test]
    fn nested_and_overlapping_pointers() {
        let plan =
            plan("/results", &[], &["/properties", "/properties/email", "/properties/tags/1", "/properties/firstname"]);
        let page = plan.parse(HUBSPOT.as_bytes()).unwrap();
        let r = &page.records[0];
        assert_eq!(r[0], Some(json!({"email": "a@x.test", "firstname": "Ann", "tags": ["a", "b"]})));
        assert_eq!(r[1], Some(json!("a@x.test")));
        assert_eq!(r[2], Some(json!("b")));
        assert_eq!(r[3], Some(json!("Ann")));
        assert_eq!(page.records[1][3], Some(Value::Null));
    }

    #[test]
    fn counting_reads_no_values() {
        let plan = plan("/results", &["/paging/next/after"], &[]);
        let page = plan.parse(HUBSPOT.as_bytes()).unwrap();
        assert_eq!(page.records, vec![Vec::<Option<Value>>::new(), Vec::new()]);
    }

    #[test]
    fn records_at_the_root_array_or_object_or_null() {
        let plan_root = plan("", &[], &["/id"]);
        assert_eq!(plan_root.parse(br#"[{"id": 1}, {"id": 2}]"#).unwrap().records.len(), 2);
        assert_eq!(plan_root.parse(br#"{"id": 7}"#).unwrap().records, vec![vec![Some(json!(7))]]);
        let plan_data = plan("/data", &["/meta/total"], &["/id"]);
        let page = plan_data.parse(br#"{"data": null, "meta": {"total": 0}}"#).unwrap();
        assert!(page.records.is_empty());
        assert_eq!(page.page_values, vec![Some(json!(0))]);
    }

    #[test]
    fn missing_or_wrong_records_are_errors() {
        let plan = plan("/results", &[], &["/id"]);
        match plan.parse(br#"{"items": [], "total": 0}"#) {
            Err(ExtractError::Records(m)) => {
                assert!(m.contains("no records at \"/results\"") && m.contains("items, total"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        match plan.parse(br#"{"results": "nope"}"#) {
            Err(ExtractError::Records(m)) => assert!(m.contains("found a string"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_an_error() {
        let plan = plan("/results", &[], &["/id"]);
        assert!(matches!(plan.parse(br#"{"results": [{"id": "1"}, {"id": "#), Err(ExtractError::Json(_))));
        assert!(matches!(plan.parse(br#"{"results": []} trailing"#), Err(ExtractError::Json(_))));
    }

    #[test]
    fn records_below_an_array_index_fall_back_to_a_full_parse() {
        let plan = plan("/data/0/items", &[], &["/id"]);
        let page = plan.parse(br#"{"data": [{"items": [{"id": 5}]}]}"#).unwrap();
        assert_eq!(page.records, vec![vec![Some(json!(5))]]);
    }

    #[test]
    fn record_values_from_a_value() {
        let plan = plan("", &[], &["/properties/email", "/id", "/properties"]);
        let v = plan.record_values(json!({"id": "9", "properties": {"email": "e"}}));
        assert_eq!(v, vec![Some(json!("e")), Some(json!("9")), Some(json!({"email": "e"}))]);
    }

    #[test]
    fn matches_full_parsing_on_the_same_document() {
        // Whatever the pointers, the values equal what a full parse plus Pointer::get reads.
        let pointers = ["/id", "/properties", "/properties/email", "/properties/tags/0", "/extra/deep/1/x", "/nope/x"];
        let plan = plan("/results", &[], &pointers);
        let page = plan.parse(HUBSPOT.as_bytes()).unwrap();
        let full: Value = serde_json::from_str(HUBSPOT).unwrap();
        for (i, record) in full["results"].as_array().unwrap().iter().enumerate() {
            for (j, ptr) in pointers.iter().enumerate() {
                assert_eq!(page.records[i][j].as_ref(), p(ptr).get(record), "record {i} pointer {ptr}");
            }
        }
    }
}
