//! Validating a connector document: parsing it (errors name the JSON path at fault, as a JSON
//! pointer) and the checks serde cannot express (names, paths and their placeholders, pagination,
//! search, write and webhook definitions, column types). The types are in `model`.

use crate::connector::model::*;
use crate::connector::pointer::Pointer;
use crate::connector::template;
use crate::error::TetherError;

impl Connector {
    /// Parse and validate a connector document; errors name the JSON path at fault.
    pub fn from_json(text: &str) -> Result<Connector, TetherError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let connector: Connector = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = json_path(e.path());
            TetherError::Connector { path, message: e.into_inner().to_string() }
        })?;
        connector.validate()?;
        Ok(connector)
    }

    /// Checks serde cannot express. Each names the JSON path at fault.
    pub fn validate(&self) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        if !is_identifier(&self.name) {
            return bad(
                "/name".into(),
                format!("\"{}\" is not a valid connector name; use lower-case letters, digits and _", self.name),
            );
        }
        if let Some(url) = &self.auth.token_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad("/auth/token_url".into(), format!("\"{url}\" must start with http:// or https://"));
            }
        }
        if let Some(p) = &self.auth.instance_url {
            check_pointer("/auth/instance_url", p)?;
        }
        if let Some(r) = &self.rate_limit {
            r.check("/rate_limit")?;
        }
        if let Some(base) = &self.base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return bad("/base_url".into(), format!("\"{base}\" must start with http:// or https://"));
            }
            for name in template::placeholders(base) {
                if !self.server_options.contains_key(&name) {
                    return bad(
                        "/base_url".into(),
                        format!("placeholder {{{name}}} is not declared in server_options"),
                    );
                }
            }
        }
        for (i, p) in self.errors.message.iter().chain(self.errors.code.iter()).enumerate() {
            if let Err(m) = Pointer::parse(p) {
                return bad(format!("/errors/{i}"), m);
            }
        }
        if self.objects.is_empty() && self.generic_object.is_none() {
            return bad("/objects".into(), "a connector needs at least one object or a generic_object".into());
        }
        for (name, object) in &self.objects {
            if !is_identifier(name) {
                return bad(
                    format!("/objects/{name}"),
                    format!("\"{name}\" is not a valid object name; use lower-case letters, digits and _"),
                );
            }
            object.validate(&format!("/objects/{name}"), self)?;
        }
        if let Some(object) = &self.generic_object {
            object.validate("/generic_object", self)?;
        }
        for name in self.table_options.keys() {
            if !is_identifier(name) {
                return bad(
                    format!("/table_options/{name}"),
                    format!("\"{name}\" is not a valid table option name (lower-case, and not a generic option)"),
                );
            }
        }
        if let Some(w) = &self.webhooks {
            w.validate("/webhooks")?;
            for (provider_object, object) in &w.objects {
                if !self.objects.contains_key(object) {
                    return bad(
                        format!("/webhooks/objects/{provider_object}"),
                        format!("\"{object}\" is not one of the connector's objects"),
                    );
                }
            }
        }
        if let Some(d) = &self.discover {
            if self.generic_object.is_none() {
                return bad("/discover".into(), "discovered tables use the generic_object, which is missing".into());
            }
            if !d.path.starts_with('/') {
                return bad("/discover/path".into(), format!("\"{}\" must start with /", d.path));
            }
            for name in template::placeholders(&d.path) {
                if !self.server_options.contains_key(&name) {
                    return bad("/discover/path".into(), format!("placeholder {{{name}}} is not a server option"));
                }
            }
            for (at, p) in [
                ("tables", &d.tables),
                ("name", &d.name),
                ("fields", &d.fields),
                ("field_name", &d.field_name),
                ("field_type", &d.field_type),
            ] {
                check_pointer(&format!("/discover/{at}"), p)?;
            }
            for (option, p) in &d.table_options {
                if !self.table_options.contains_key(option) {
                    return bad(format!("/discover/table_options/{option}"), "not one of the table_options".into());
                }
                check_pointer(&format!("/discover/table_options/{option}"), p)?;
            }
            for (provider_type, t) in d.types.iter().chain([(&"default_type".to_string(), &d.default_type)]) {
                if !DECLARED_TYPES.contains(&t.as_str()) {
                    return bad(
                        format!("/discover/types/{provider_type}"),
                        format!("unknown type \"{t}\"; accepted: {}", DECLARED_TYPES.join(", ")),
                    );
                }
            }
        }
        Ok(())
    }
}

impl ObjectDef {
    pub fn validate(&self, at: &str, connector: &Connector) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        let known_placeholders = |path: &str, text: &str, extra: &[&str]| -> Result<(), TetherError> {
            for name in template::placeholders(text) {
                if !connector.server_options.contains_key(&name)
                    && !connector.table_options.contains_key(&name)
                    && !extra.contains(&name.as_str())
                {
                    let mut accepted: Vec<String> = connector.server_options.keys().cloned().collect();
                    accepted.extend(connector.table_options.keys().cloned());
                    accepted.extend(extra.iter().map(|s| s.to_string()));
                    return Err(TetherError::Connector {
                        path: path.to_string(),
                        message: format!(
                            "unknown placeholder {{{name}}}; accepted: {}",
                            if accepted.is_empty() { "none".to_string() } else { accepted.join(", ") }
                        ),
                    });
                }
            }
            Ok(())
        };
        if !self.list.path.starts_with('/') && !self.list.path.starts_with("{path}") {
            return bad(format!("{at}/list/path"), format!("\"{}\" must start with /", self.list.path));
        }
        known_placeholders(&format!("{at}/list/path"), &self.list.path, &["path"])?;
        check_pointer(&format!("{at}/list/records"), &self.list.records)?;
        if let Some(ps) = &self.list.page_size {
            if ps.param.is_some() == ps.header.is_some() {
                return bad(
                    format!("{at}/list/page_size"),
                    "page_size needs exactly one of param (a query parameter) or header".into(),
                );
            }
            if ps.header.is_some() && !ps.format.as_deref().is_some_and(|f| f.contains("{n}")) {
                return bad(format!("{at}/list/page_size/format"), "a page size header needs a format with {n}".into());
            }
            if ps.default == 0 {
                return bad(format!("{at}/list/page_size/default"), "must be at least 1".into());
            }
            if let Some(max) = ps.max {
                if ps.default > max {
                    return bad(format!("{at}/list/page_size/default"), format!("{} is above max {max}", ps.default));
                }
            }
        }
        self.list.pagination.check(&format!("{at}/list/pagination"))?;
        if let Some(d) = &self.deletions {
            d.check(&format!("{at}/deletions"))?;
            if self.updated_column.is_none() {
                return bad(
                    format!("{at}/deletions"),
                    "a deletions listing is read by incremental refreshes, which need updated_column".into(),
                );
            }
        }
        if matches!(self.list.pagination, PaginationDef::Offset { .. } | PaginationDef::Page { .. })
            && self.list.page_size.is_none()
        {
            return bad(
                format!("{at}/list/page_size"),
                format!("{} pagination needs page_size (its param and default)", self.list.pagination.style()),
            );
        }
        if let Some(get) = &self.get {
            if !get.path.starts_with('/') && !get.path.starts_with("{path}") {
                return bad(format!("{at}/get/path"), format!("\"{}\" must start with /", get.path));
            }
            if !get.path.contains("{id}") {
                return bad(format!("{at}/get/path"), format!("\"{}\" must contain {{id}}", get.path));
            }
            known_placeholders(&format!("{at}/get/path"), &get.path, &["path", "id"])?;
            check_pointer(&format!("{at}/get/record"), &get.record)?;
            if let Some(g) = &get.gone {
                check_pointer(&format!("{at}/get/gone"), g)?;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.columns.iter().enumerate() {
            let here = format!("{at}/columns/{i}");
            if !seen.insert(c.name.as_str()) {
                return bad(format!("{here}/name"), format!("column \"{}\" is declared twice", c.name));
            }
            check_pointer(&format!("{here}/pointer"), &c.pointer)?;
            if !DECLARED_TYPES.contains(&c.type_name.as_str()) {
                return bad(
                    format!("{here}/type"),
                    format!("unknown type \"{}\"; accepted: {}", c.type_name, DECLARED_TYPES.join(", ")),
                );
            }
        }
        if !self.columns.is_empty() && self.column(&self.id_column).is_none() {
            return bad(
                format!("{at}/id_column"),
                format!("\"{}\" is not one of the object's columns", self.id_column),
            );
        }
        if let Some(u) = &self.updated_column {
            match self.column(u) {
                Some(c) if c.type_name == "timestamptz" || c.type_name == "date" => {}
                Some(c) => {
                    return bad(
                        format!("{at}/updated_column"),
                        format!("\"{u}\" is a {} column; accepted: a timestamptz or date column", c.type_name),
                    )
                }
                None => {
                    return bad(format!("{at}/updated_column"), format!("\"{u}\" is not one of the object's columns"))
                }
            }
        }
        if let Some(t) = &self.other_columns {
            check_pointer(&format!("{at}/other_columns/pointer"), &t.pointer.replace("{name}", "x"))?;
        }
        for (i, f) in self.filters.iter().enumerate() {
            let here = format!("{at}/filters/{i}");
            if !self.columns.is_empty() && self.column(&f.column).is_none() && self.other_columns.is_none() {
                return bad(format!("{here}/column"), format!("\"{}\" is not one of the object's columns", f.column));
            }
            if f.param.is_empty() {
                return bad(format!("{here}/param"), "must not be empty".into());
            }
            if f.op == FilterOp::In && f.separator.is_none() {
                return bad(format!("{here}/separator"), "an \"in\" filter needs a separator".into());
            }
        }
        let methods = ["POST", "PUT", "PATCH", "DELETE"];
        for (name, def, needs_id) in
            [("create", &self.create, false), ("update", &self.update, true), ("delete", &self.delete, true)]
        {
            let Some(def) = def else { continue };
            let here = format!("{at}/{name}");
            if !methods.contains(&def.method.as_str()) {
                return bad(
                    format!("{here}/method"),
                    format!("unknown method \"{}\"; accepted: {}", def.method, methods.join(", ")),
                );
            }
            if !def.path.starts_with('/') && !def.path.starts_with("{path}") {
                return bad(format!("{here}/path"), format!("\"{}\" must start with /", def.path));
            }
            if needs_id && !def.path.contains("{id}") && def.id_field.is_none() {
                return bad(
                    format!("{here}/path"),
                    format!("\"{}\" must contain {{id}} (or the definition needs id_field)", def.path),
                );
            }
            known_placeholders(&format!("{here}/path"), &def.path, &["path", "id"])?;
            check_pointer(&format!("{here}/record"), &def.record)?;
            if let Some(body) = &def.body {
                if crate::connector::template::marker_pointer(body, "record").is_none() {
                    return bad(format!("{here}/body"), "the body template needs the string \"$record\"".into());
                }
            }
            if let Some(f) = &def.id_field {
                check_pointer(&format!("{here}/id_field"), f)?;
                if f.is_empty() {
                    return bad(format!("{here}/id_field"), "must point inside the record".into());
                }
            }
            if let Some(p) = &def.id {
                check_pointer(&format!("{here}/id"), p)?;
            }
            if def.item.as_ref().is_some_and(|item| !item.is_object()) {
                return bad(format!("{here}/item"), "must be an object (merged into the record)".into());
            }
            if def.refetch {
                if self.get.is_none() {
                    return bad(
                        format!("{here}/refetch"),
                        "refetch reads the record through get, which is missing".into(),
                    );
                }
                if !needs_id && def.id.is_none() {
                    return bad(format!("{here}/id"), "a create with refetch needs id (where the new id is)".into());
                }
            }
        }
        if let Some(b) = &self.batch_create {
            let here = format!("{at}/batch_create");
            check_batch(b, &here, &methods)?;
            known_placeholders(&format!("{here}/path"), &b.path, &["path"])?;
            if b.id_field.is_some() {
                return bad(format!("{here}/id_field"), "only a batch_update puts ids in its inputs".into());
            }
            if self.create.is_none() {
                return bad(here, "an object with batch_create also needs create (used with RETURNING)".into());
            }
        }
        if let Some(b) = &self.batch_update {
            let here = format!("{at}/batch_update");
            check_batch(b, &here, &methods)?;
            known_placeholders(&format!("{here}/path"), &b.path, &["path"])?;
            match b.id_field.as_deref() {
                None | Some("") => {
                    return bad(
                        format!("{here}/id_field"),
                        "a batch update needs id_field (where each input's id goes)".into(),
                    )
                }
                Some(f) => check_pointer(&format!("{here}/id_field"), f)?,
            }
            if self.update.is_none() {
                return bad(here, "an object with batch_update also needs update".into());
            }
        }
        if let Some(el) = &self.list.elements {
            check_pointer(&format!("{at}/list/elements/array"), &el.array)?;
            for (to, from) in &el.copy {
                check_pointer(&format!("{at}/list/elements/copy"), to)?;
                check_pointer(&format!("{at}/list/elements/copy/{}", to.trim_start_matches('/')), from)?;
                if to.is_empty() {
                    return bad(
                        format!("{at}/list/elements/copy"),
                        "a copied value needs a place in the element".into(),
                    );
                }
            }
            if matches!(self.list.pagination, PaginationDef::LastId { .. }) {
                return bad(
                    format!("{at}/list/elements"),
                    "elements cannot be read with last_id pagination (it pages by the parent's id)".into(),
                );
            }
            if self.get.is_some() {
                return bad(format!("{at}/get"), "an object of elements has no get endpoint of its own".into());
            }
        }
        if let Some(lang) = &self.list.language {
            let param = match lang {
                LanguageDef::Soql { param, from } => {
                    if from.is_empty() || !from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                        return bad(format!("{at}/list/language/from"), format!("\"{from}\" is not an object name"));
                    }
                    param
                }
                LanguageDef::Formula { param } => param,
            };
            if param.is_empty() {
                return bad(format!("{at}/list/language/param"), "must not be empty".into());
            }
        }
        if let Some(s) = &self.search {
            validate_search(&format!("{at}/search"), s, &known_placeholders)?;
        }
        Ok(())
    }
}

fn bad(path: String, message: String) -> Result<(), TetherError> {
    Err(TetherError::Connector { path, message })
}

/// Checks the `{placeholders}` of a path: (JSON path, text, placeholders accepted besides options).
type PlaceholderCheck<'a> = &'a dyn Fn(&str, &str, &[&str]) -> Result<(), TetherError>;

fn validate_search(here: &str, s: &SearchDef, known_placeholders: PlaceholderCheck) -> Result<(), TetherError> {
    let methods = ["GET", "POST"];
    if !methods.contains(&s.method.as_str()) {
        return bad(format!("{here}/method"), format!("unknown method \"{}\"; accepted: GET, POST", s.method));
    }
    if !s.path.starts_with('/') {
        return bad(format!("{here}/path"), format!("\"{}\" must start with /", s.path));
    }
    known_placeholders(&format!("{here}/path"), &s.path, &["path"])?;
    use crate::connector::template::marker_pointer;
    for marker in ["filters", "cursor"] {
        if marker_pointer(&s.body, marker).is_none() {
            return bad(format!("{here}/body"), format!("the body template needs the string \"${marker}\""));
        }
    }
    if marker_pointer(&s.filter, "field").is_none() {
        return bad(format!("{here}/filter"), "the filter template needs the string \"$field\"".into());
    }
    for key in s.ops.keys() {
        if !["eq", "in", "lt", "le", "gt", "ge"].contains(&key.as_str()) {
            return bad(
                format!("{here}/ops/{key}"),
                format!("unknown operator \"{key}\"; accepted: eq, in, lt, le, gt, ge"),
            );
        }
    }
    check_pointer(&format!("{here}/records"), &s.records)?;
    check_pointer(&format!("{here}/cursor"), &s.cursor)?;
    if s.page_size.default == 0 {
        return bad(format!("{here}/page_size/default"), "must be at least 1".into());
    }
    if let Some(t) = &s.total {
        check_pointer(&format!("{here}/total"), t)?;
    }
    if s.max_results.is_some() != s.total.is_some() {
        return bad(format!("{here}/max_results"), "max_results and total go together".into());
    }
    if let Some(r) = &s.rate_limit {
        r.check(&format!("{here}/rate_limit"))?;
    }
    if s.max_filters == Some(0) {
        return bad(format!("{here}/max_filters"), "must be at least 1".into());
    }
    Ok(())
}

impl DeletionsDef {
    pub fn check(&self, at: &str) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        if !matches!(self.method.as_str(), "GET" | "POST") {
            return bad(format!("{at}/method"), format!("\"{}\" is not GET or POST", self.method));
        }
        if !self.path.starts_with('/') {
            return bad(format!("{at}/path"), format!("\"{}\" must start with /", self.path));
        }
        let only_since =
            |path: String, text: &str| match template::placeholders(text).into_iter().find(|p| p != "since") {
                Some(p) => bad(path, format!("unknown placeholder {{{p}}}; accepted: since")),
                None => Ok(()),
            };
        only_since(format!("{at}/path"), &self.path)?;
        for (name, value) in &self.query {
            only_since(format!("{at}/query/{name}"), value)?;
        }
        check_pointer(&format!("{at}/records"), &self.records)?;
        check_pointer(&format!("{at}/id"), &self.id)?;
        if self.id.is_empty() {
            return bad(format!("{at}/id"), "must point into the listed record (e.g. /id)".into());
        }
        self.pagination.check(&format!("{at}/pagination"))
    }
}

fn check_pointer(path: &str, pointer: &str) -> Result<(), TetherError> {
    Pointer::parse(pointer).map(|_| ()).map_err(|message| TetherError::Connector { path: path.to_string(), message })
}

/// Where serde_path_to_error stopped (`objects.contacts.columns[0].pointer`), as a JSON pointer
/// (`/objects/contacts/columns/0/pointer`), keys escaped as RFC 6901 says (`~` and `/`); `/` for the
/// document itself.
fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(&variant.replace('~', "~0").replace('/', "~1")),
            // Where serde_path_to_error lost track (at the top of a document that is not JSON).
            Segment::Unknown => {
                out.pop();
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl RateLimitDef {
    pub fn check(&self, at: &str) -> Result<(), TetherError> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(TetherError::Connector { path: format!("{at}/per_second"), message: "must be above 0".into() });
        }
        if self.burst == 0 {
            return Err(TetherError::Connector { path: format!("{at}/burst"), message: "must be at least 1".into() });
        }
        Ok(())
    }
}

impl PaginationDef {
    /// Check the pointers and parameters of a pagination; `at` names it in errors.
    pub fn check(&self, at: &str) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        match self {
            PaginationDef::Cursor { cursor, param, body } => {
                check_pointer(&format!("{at}/cursor"), cursor)?;
                match (param, body) {
                    (Some(p), None) if !p.is_empty() => {}
                    (None, Some(b)) => check_pointer(&format!("{at}/body"), b)?,
                    _ => {
                        return bad(
                            at.to_string(),
                            "cursor pagination needs exactly one of param (a query parameter) or body (a JSON pointer)"
                                .into(),
                        )
                    }
                }
            }
            PaginationDef::LastId { param, has_more } => {
                check_pointer(&format!("{at}/has_more"), has_more)?;
                if param.is_empty() {
                    return bad(format!("{at}/param"), "must not be empty".into());
                }
            }
            PaginationDef::NextUrl { next_url } => check_pointer(&format!("{at}/next_url"), next_url)?,
            PaginationDef::Offset { param, total } => {
                if param.is_empty() {
                    return bad(format!("{at}/param"), "must not be empty".into());
                }
                if let Some(t) = total {
                    check_pointer(&format!("{at}/total"), t)?;
                }
            }
            PaginationDef::Page { param, total_pages, .. } => {
                if param.is_empty() {
                    return bad(format!("{at}/param"), "must not be empty".into());
                }
                if let Some(t) = total_pages {
                    check_pointer(&format!("{at}/total_pages"), t)?;
                }
            }
            PaginationDef::None | PaginationDef::LinkHeader => {}
        }
        Ok(())
    }
}

/// The checks of a batch endpoint (`batch_create`, `batch_update`) at `here`.
fn check_batch(b: &BatchDef, here: &str, methods: &[&str]) -> Result<(), TetherError> {
    if !methods.contains(&b.method.as_str()) {
        return bad(format!("{here}/method"), format!("unknown method \"{}\"", b.method));
    }
    if !b.path.starts_with('/') && !b.path.starts_with("{path}") {
        return bad(format!("{here}/path"), format!("\"{}\" must start with /", b.path));
    }
    if b.max == 0 {
        return bad(format!("{here}/max"), "must be at least 1".into());
    }
    check_pointer(&format!("{here}/inputs"), &b.inputs)?;
    check_pointer(&format!("{here}/records"), &b.records)?;
    if let Some(e) = &b.errors {
        check_pointer(&format!("{here}/errors"), e)?;
    }
    if let Some(t) = &b.trace {
        check_pointer(&format!("{here}/trace/field"), &t.field)?;
        check_pointer(&format!("{here}/trace/error"), &t.error)?;
        if t.field.is_empty() {
            return bad(format!("{here}/trace/field"), "must point inside each input".into());
        }
    }
    for (name, body) in [("body", &b.body), ("each_alone_body", &b.each_alone_body)] {
        if body.as_ref().is_some_and(|body| crate::connector::template::marker_pointer(body, "records").is_none()) {
            return bad(format!("{here}/{name}"), "the body template needs the string \"$records\"".into());
        }
    }
    if b.item.as_ref().is_some_and(|item| !item.is_object()) {
        return bad(format!("{here}/item"), "must be an object (merged into each input)".into());
    }
    if let Some(r) = &b.results {
        check_pointer(&format!("{here}/results/at"), &r.at)?;
        check_pointer(&format!("{here}/results/ok"), &r.ok)?;
        check_pointer(&format!("{here}/results/message"), &r.message)?;
        if let Some(c) = &r.code {
            check_pointer(&format!("{here}/results/code"), c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(extra_object: &str) -> String {
        format!(
            r#"{{"name": "demo", "base_url": "https://api.example.com",
                "objects": {{"items": {{"list": {{"path": "/items"{extra_object}}}}}}}}}"#
        )
    }

    fn err_path(text: &str) -> (String, String) {
        match Connector::from_json(text) {
            Err(TetherError::Connector { path, message }) => (path, message),
            other => panic!("expected a connector error, got {other:?}"),
        }
    }

    /// An object with an updated-since column and `deletions` (JSON members after it).
    fn with_deletions(deletions: &str, updated: bool) -> String {
        let updated = if updated { r#", "updated_column": "updated_at""# } else { "" };
        format!(
            r#"{{"name": "demo", "base_url": "https://api.example.com",
                "objects": {{"items": {{"list": {{"path": "/items"}},
                    "columns": [{{"name": "id", "type": "text", "pointer": "/id"}},
                                {{"name": "updated_at", "type": "timestamptz", "pointer": "/updatedAt"}}]{updated},
                    "deletions": {deletions}}}}}}}"#
        )
    }

    #[test]
    fn a_deletions_listing_loads_with_its_since_placeholder() {
        let c = Connector::from_json(&with_deletions(
            r#"{"path": "/events", "query": {"type": "item.deleted", "created[gte]": "{since}"}, "records": "/data",
                "id": "/data/object/id", "since_format": "unix",
                "pagination": {"style": "last_id", "param": "starting_after", "has_more": "/has_more"}}"#,
            true,
        ))
        .unwrap();
        let d = c.objects["items"].deletions.as_ref().unwrap();
        assert_eq!((d.method.as_str(), d.since_format), ("GET", SinceFormat::Unix));
        assert_eq!(d.query["created[gte]"], "{since}");
    }

    #[test]
    fn a_deletions_listing_is_refused_where_it_cannot_work() {
        let cases = [
            (
                r#"{"path": "/gone?after={cursor}", "records": "/r", "id": "/id"}"#,
                true,
                "/objects/items/deletions/path",
                "unknown placeholder {cursor}; accepted: since",
            ),
            (
                r#"{"path": "/gone", "query": {"q": "{tenant}"}, "records": "/r", "id": "/id"}"#,
                true,
                "/objects/items/deletions/query/q",
                "accepted: since",
            ),
            (
                r#"{"path": "gone", "records": "/r", "id": "/id"}"#,
                true,
                "/objects/items/deletions/path",
                "must start with /",
            ),
            (r#"{"path": "/gone", "records": "/r", "id": ""}"#, true, "/objects/items/deletions/id", "must point into"),
            (
                r#"{"path": "/gone", "records": "/r", "id": "/id", "method": "DELETE"}"#,
                true,
                "/objects/items/deletions/method",
                "not GET or POST",
            ),
            (
                r#"{"path": "/gone", "records": "/r", "id": "/id"}"#,
                false,
                "/objects/items/deletions",
                "need updated_column",
            ),
            (
                r#"{"path": "/gone", "records": "/r", "id": "/id", "since": "x"}"#,
                true,
                "/objects/items/deletions",
                "unknown field",
            ),
        ];
        for (deletions, updated, want_path, want_message) in cases {
            let (path, message) = err_path(&with_deletions(deletions, updated));
            assert!(path.starts_with(want_path), "{deletions}: {path}");
            assert!(message.contains(want_message), "{deletions}: {message}");
        }
    }

    #[test]
    fn minimal_connector_loads() {
        let c = Connector::from_json(&minimal("")).unwrap();
        assert_eq!(c.objects["items"].list.pagination, PaginationDef::None);
        assert_eq!(c.objects["items"].id_column, "id");
    }

    #[test]
    fn unknown_pagination_style_names_the_path() {
        let (path, message) = err_path(&minimal(r#", "pagination": {"style": "sideways"}"#));
        assert_eq!(path, "/objects/items/list/pagination/style");
        assert!(message.contains("sideways"), "{message}");
        assert!(message.contains("cursor"), "lists accepted styles: {message}");
    }

    #[test]
    fn unknown_field_names_the_path() {
        let (path, message) = err_path(&minimal(r#", "recrods": "/data""#));
        assert_eq!(path, "/objects/items/list/recrods");
        assert!(message.contains("unknown field `recrods`"), "{message}");
    }

    #[test]
    fn bad_pointer_names_the_path() {
        let (path, message) = err_path(&minimal(r#", "records": "data""#));
        assert_eq!(path, "/objects/items/list/records");
        assert!(message.contains("must start with /"), "{message}");
    }

    #[test]
    fn a_batch_update_needs_an_id_field_and_an_update() {
        let with = |extra: &str| {
            format!(
                r#"{{"name": "demo", "base_url": "https://api.example.com",
                    "objects": {{"items": {{"list": {{"path": "/items"}}{extra}}}}}}}"#
            )
        };
        let update = r#", "update": {"method": "PATCH", "path": "/items/{id}"}"#;
        let ok =
            with(&format!(r#"{update}, "batch_update": {{"path": "/items/batch", "max": 10, "id_field": "/id"}}"#));
        assert_eq!(
            Connector::from_json(&ok).unwrap().objects["items"].batch_update.as_ref().unwrap().id_field.as_deref(),
            Some("/id")
        );
        let (path, message) =
            err_path(&with(&format!(r#"{update}, "batch_update": {{"path": "/items/batch", "max": 10}}"#)));
        assert_eq!(path, "/objects/items/batch_update/id_field");
        assert!(message.contains("needs id_field"), "{message}");
        let (path, message) =
            err_path(&with(r#", "batch_update": {"path": "/items/batch", "max": 10, "id_field": "/id"}"#));
        assert_eq!(path, "/objects/items/batch_update");
        assert!(message.contains("also needs update"), "{message}");
        let (path, _) = err_path(&with(
            r#", "create": {"method": "POST", "path": "/items"}, "batch_create": {"path": "/b", "max": 10, "id_field": "/id"}"#,
        ));
        assert_eq!(path, "/objects/items/batch_create/id_field");
    }

    #[test]
    fn a_write_item_must_be_an_object() {
        let with_create = |item: &str| {
            format!(
                r#"{{"name": "demo", "base_url": "https://api.example.com",
                    "objects": {{"items": {{"list": {{"path": "/items"}},
                        "create": {{"method": "POST", "path": "/items", "item": {item}}}}}}}}}"#
            )
        };
        let c = Connector::from_json(&with_create(r#"{"associations": []}"#)).unwrap();
        assert_eq!(c.objects["items"].create.as_ref().unwrap().item, Some(serde_json::json!({"associations": []})));
        let (path, message) = err_path(&with_create("[]"));
        assert_eq!(path, "/objects/items/create/item");
        assert!(message.contains("must be an object (merged into the record)"), "{message}");
    }

    #[test]
    fn offset_pagination_requires_page_size() {
        let (path, _) = err_path(&minimal(r#", "pagination": {"style": "offset", "param": "offset"}"#));
        assert_eq!(path, "/objects/items/list/page_size");
    }

    #[test]
    fn page_size_default_above_max_is_refused() {
        let (path, message) = err_path(&minimal(r#", "page_size": {"param": "limit", "default": 500, "max": 100}"#));
        assert_eq!(path, "/objects/items/list/page_size/default");
        assert!(message.contains("above max 100"));
    }

    #[test]
    fn undeclared_base_url_placeholder_is_refused() {
        let text = r#"{"name": "demo", "base_url": "https://api.example.com/stores/{store_hash}",
                       "objects": {"items": {"list": {"path": "/items"}}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/base_url");
        assert!(message.contains("{store_hash}"));
    }

    #[test]
    fn unknown_column_type_lists_accepted() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"},
            "columns": [{"name": "id", "type": "uuidish", "pointer": "/id"}]}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/objects/items/columns/0/type");
        assert!(message.contains("timestamptz"));
    }

    #[test]
    fn webhook_objects_must_be_connector_objects() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"},
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}},
            "webhooks": {"signature": {"scheme": "stripe"}, "topic": "/type", "objects": {"item": "things"}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/webhooks/objects/item");
        assert!(message.contains("\"things\" is not one of the connector's objects"), "{message}");
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"},
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}},
            "webhooks": {"signature": {"scheme": "md5"}}}"#;
        assert!(err_path(text).0.starts_with("/webhooks/signature"), "{:?}", err_path(text));
    }

    #[test]
    fn id_column_must_exist() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"id_column": "key", "list": {"path": "/items"},
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}}}"#;
        assert_eq!(err_path(text).0, "/objects/items/id_column");
    }

    #[test]
    fn updated_column_must_be_a_timestamp_column() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"}, "updated_column": "changed",
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}}}"#;
        assert_eq!(err_path(text).0, "/objects/items/updated_column");
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"}, "updated_column": "id",
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/objects/items/updated_column");
        assert!(message.contains("timestamptz"), "{message}");
    }

    #[test]
    fn get_path_needs_id_placeholder() {
        let (path, _) = err_path(&minimal(r#"}, "get": {"path": "/items/one""#));
        assert_eq!(path, "/objects/items/get/path");
    }

    #[test]
    fn not_json_is_an_error_at_the_root() {
        let (path, message) = err_path("{not json");
        assert_eq!(path, "/");
        assert!(!message.is_empty());
    }

    #[test]
    fn write_endpoints_are_checked() {
        let (path, message) = err_path(&minimal(r#"}, "update": {"method": "PATCH", "path": "/items""#));
        assert_eq!(path, "/objects/items/update/path");
        assert!(message.contains("{id}"), "{message}");
        let (path, message) = err_path(&minimal(r#"}, "create": {"method": "SEND", "path": "/items""#));
        assert_eq!(path, "/objects/items/create/method");
        assert!(message.contains("POST, PUT, PATCH, DELETE"), "{message}");
        let (path, _) = err_path(&minimal(r#"}, "batch_create": {"path": "/items/batch", "max": 10"#));
        assert_eq!(path, "/objects/items/batch_create");
        let (path, _) = err_path(&minimal(
            r#"}, "create": {"method": "POST", "path": "/items"}, "batch_create": {"path": "/b", "max": 0"#,
        ));
        assert_eq!(path, "/objects/items/batch_create/max");
        let ok = minimal(
            r#"}, "create": {"method": "POST", "path": "/items"}, "update": {"method": "PUT", "path": "/items/{id}", "full_row": true},
               "delete": {"method": "DELETE", "path": "/items/{id}"},
               "batch_create": {"path": "/items/batch", "inputs": "/inputs", "max": 100, "records": "/results",
                                "errors": "/errors", "trace": {"field": "/trace", "error": "/context/trace/0"}"#,
        );
        let c = Connector::from_json(&ok).unwrap();
        assert!(c.objects["items"].update.as_ref().unwrap().full_row);
    }

    #[test]
    fn bad_name_is_refused() {
        let (path, _) = err_path(r#"{"name": "Bad Name", "objects": {}}"#);
        assert_eq!(path, "/name");
    }
}
