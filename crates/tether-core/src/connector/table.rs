//! A foreign table resolved against its server's connector: `TableDef` (the connector object, tuned by
//! table options; each column mapped to a JSON pointer and, where the API needs one, a field name),
//! and what it can tell without building a request (page size, fields, which conditions its query
//! language or search endpoint can state). Requests are built in `listing` and `writes`.

use crate::connector::model::{
    BodyEncoding, ColumnDef, Connector, FilterDef, FilterOp, LanguageDef, ObjectDef, PageSizeDef, PaginationDef,
};
use crate::connector::options::*;
use crate::connector::pointer::Pointer;
use crate::connector::request::ValueKind;
use crate::connector::server::*;
use crate::connector::template::{self, Encode};
use crate::error::TetherError;

/// One foreign-table column and where its value lives in a record.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    pub name: String,
    pub pointer: Pointer,
    /// Name to request through the list's fields parameter (HubSpot `properties`).
    pub field: Option<String>,
    pub separator: Option<String>,
    /// The provider sets it: INSERT and UPDATE cannot write it.
    pub read_only: bool,
}

/// A foreign table resolved against its server's connector: everything a scan needs but credentials.
#[derive(Debug, Clone)]
pub struct TableDef {
    pub connector_name: String,
    pub object_name: String,
    pub object: ObjectDef,
    pub base_url: String,
    /// Extra static query parameters from the table option `query`.
    pub extra_query: Vec<(String, String)>,
    /// One per foreign-table column, in the order given.
    pub columns: Vec<ColumnMap>,
    pub page_size_override: Option<u64>,
    /// Rows per batch create request (table option, else server option), before the connector's cap.
    pub batch_size_override: Option<u64>,
    /// Creates in flight at once for an `INSERT ... SELECT` into an object without a batch endpoint
    /// (table option, else server option, else the default).
    pub concurrency: u64,
    /// Values for `{placeholders}` in paths (server options and `path`).
    placeholders: Options,
    pub body_encoding: BodyEncoding,
}

/// Resolve a table. `columns` are the foreign table's (name, column options), in attribute order;
/// `table` names it in errors.
pub fn resolve_table(
    server: &ServerDef,
    opts: &Options,
    columns: &[(String, Options)],
    table: &str,
) -> Result<TableDef, TetherError> {
    let connector = &server.connector;
    let own: Vec<&str> = connector.table_options.keys().map(String::as_str).collect();
    validate_table_options(opts, &own).map_err(|e| e.context(&format!("foreign table {table}")))?;
    for (name, def) in &connector.table_options {
        if def.required && def.default.is_none() && !opts.contains_key(name) && !opts.contains_key("object") {
            return Err(TetherError::missing_option(
                format!(
                    "foreign table {table}: connector \"{}\" needs the table option {name}: {}",
                    connector.name, def.description
                ),
                None,
            ));
        }
    }
    let (object_name, mut object) = match opts.get("object") {
        Some(name) => match connector.objects.get(name) {
            Some(o) => (name.clone(), o.clone()),
            None => {
                return Err(TetherError::option(
                    format!(
                        "foreign table {table}: connector \"{}\" has no object \"{name}\"; its objects are: {}",
                        connector.name,
                        if connector.objects.is_empty() {
                            "none (use the option path instead)".to_string()
                        } else {
                            connector.objects.keys().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                    Some("SELECT * FROM tether.connectors() lists each connector's objects".into()),
                ))
            }
        },
        None => match &connector.generic_object {
            Some(o) => {
                let name = opts
                    .get("path")
                    .or_else(|| connector.table_options.keys().find_map(|k| opts.get(k)))
                    .cloned()
                    .unwrap_or_else(|| "(generic)".into());
                (name, o.clone())
            }
            None => {
                return Err(TetherError::missing_option(
                    format!(
                        "foreign table {table}: connector \"{}\" needs the table option object; its objects are: {}",
                        connector.name,
                        connector.objects.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    None,
                ))
            }
        },
    };
    if object.list.path.contains("{path}") && !opts.contains_key("path") {
        return Err(TetherError::missing_option(
            format!("object \"{object_name}\" of connector \"{}\" needs the table option path", connector.name),
            Some("for example: OPTIONS (path '/customers')".into()),
        ));
    }
    apply_overrides(&mut object, opts)?;
    object.validate(&format!("/objects/{object_name}"), connector).map_err(|e| {
        TetherError::option(format!("foreign table {table}: the options make an invalid object: {e}"), None)
    })?;

    let mut placeholders = server_placeholders(server);
    if let Some(p) = opts.get("path") {
        placeholders.insert("path".into(), p.clone());
    }
    for (name, def) in &connector.table_options {
        match opts.get(name).or(def.default.as_ref()) {
            Some(v) => {
                placeholders.insert(name.clone(), v.clone());
            }
            None => {
                placeholders.remove(name);
            }
        }
    }

    let mut mapped = Vec::with_capacity(columns.len());
    for (name, copts) in columns {
        validate_column_options(copts).map_err(|e| e.context(&format!("column {name} of foreign table {table}")))?;
        mapped.push(map_column(&object, connector, &object_name, name, copts, table)?);
    }
    if opts.get("read_only").map(|v| parse_bool(v, "read_only")).transpose()?.unwrap_or(false) {
        object.create = None;
        object.update = None;
        object.delete = None;
        object.batch_create = None;
        object.batch_update = None;
    }
    let mut table_def = TableDef {
        connector_name: connector.name.clone(),
        object_name,
        extra_query: opts.get("query").map(|q| parse_query(q)).transpose()?.unwrap_or_default(),
        page_size_override: opts.get("page_size").map(|v| parse_positive(v, "page_size")).transpose()?,
        batch_size_override: match opts.get("batch_size") {
            Some(v) => Some(parse_positive(v, "batch_size")?),
            None => server.batch_size,
        },
        concurrency: match opts.get("concurrency") {
            Some(v) => crate::connector::options::parse_concurrency(v)?,
            None => server.concurrency.unwrap_or(crate::connector::options::DEFAULT_CONCURRENCY),
        },
        object,
        base_url: server.base_url.clone(),
        columns: mapped,
        placeholders,
        body_encoding: connector.body_encoding,
    };
    // The id is the provider's unless a column option says otherwise; the option wins either way.
    let id_index = table_def.id_index();
    for (i, (_, copts)) in columns.iter().enumerate() {
        match copts.get("read_only") {
            Some(v) => table_def.columns[i].read_only = parse_bool(v, "read_only")?,
            None if Some(i) == id_index => table_def.columns[i].read_only = true,
            None => {}
        }
    }
    Ok(table_def)
}

/// Table options that tune the connector's object (any connector, not only `rest`).
pub(crate) fn apply_overrides(object: &mut ObjectDef, opts: &Options) -> Result<(), TetherError> {
    if let Some(path) = opts.get("path") {
        if !object.list.path.contains("{path}") {
            // A connector object read from another path (e.g. a HubSpot custom object): every endpoint
            // below the list path (get, search, writes, batch) moves with it.
            let old = object.list.path.split('?').next().unwrap_or("").to_string();
            let new = path.split('?').next().unwrap_or(path).to_string();
            // An endpoint elsewhere would still address the connector's object: it is dropped.
            let moved = |p: &mut String| -> bool {
                match p.strip_prefix(&old) {
                    Some(rest) if rest.is_empty() || rest.starts_with(['/', '?']) => {
                        *p = format!("{new}{rest}");
                        true
                    }
                    _ => false,
                }
            };
            object.list.path = path.clone();
            if object.get.as_mut().is_some_and(|g| !moved(&mut g.path)) {
                object.get = None;
            }
            if object.search.as_mut().is_some_and(|s| !moved(&mut s.path)) {
                object.search = None;
            }
            for w in [&mut object.create, &mut object.update, &mut object.delete] {
                if w.as_mut().is_some_and(|d| !moved(&mut d.path)) {
                    *w = None;
                }
            }
            if object.batch_create.as_mut().is_some_and(|b| !moved(&mut b.path)) {
                object.batch_create = None;
            }
        }
    }
    if let Some(r) = opts.get("records") {
        object.list.records = r.clone();
    }
    if let Some(id) = opts.get("id_column") {
        object.id_column = id.clone();
    }
    if let Some(g) = opts.get("get_path") {
        if g.is_empty() {
            object.get = None;
        } else {
            match &mut object.get {
                Some(get) => get.path = g.clone(),
                None => {
                    object.get = Some(crate::connector::model::GetDef {
                        path: g.clone(),
                        query: Default::default(),
                        record: String::new(),
                        gone: None,
                    })
                }
            }
        }
    }
    let style = opts.get("pagination").map(String::as_str).unwrap_or(object.list.pagination.style());
    let opt = |k: &str| opts.get(k).cloned();
    let pagination_changed = opts.contains_key("pagination")
        || [
            "cursor_pointer",
            "cursor_param",
            "next_url_pointer",
            "offset_param",
            "page_param",
            "first_page",
            "total_pointer",
            "total_pages_pointer",
            "last_id_param",
            "has_more_pointer",
        ]
        .iter()
        .any(|k| opts.contains_key(*k));
    if pagination_changed {
        let old = object.list.pagination.clone();
        object.list.pagination = match style {
            "none" => PaginationDef::None,
            "link_header" => PaginationDef::LinkHeader,
            "cursor" => {
                let (old_cursor, old_param) = match &old {
                    PaginationDef::Cursor { cursor, param, .. } => (Some(cursor.clone()), param.clone()),
                    _ => (None, None),
                };
                let cursor = opt("cursor_pointer").or(old_cursor).ok_or_else(|| {
                    TetherError::missing_option("pagination 'cursor' needs the option cursor_pointer (where the next cursor is in the response)", None)
                })?;
                let param = opt("cursor_param").or(old_param).ok_or_else(|| {
                    TetherError::missing_option(
                        "pagination 'cursor' needs the option cursor_param (the query parameter that sends it back)",
                        None,
                    )
                })?;
                PaginationDef::Cursor { cursor, param: Some(param), body: None }
            }
            "next_url" => {
                let old_ptr = match &old {
                    PaginationDef::NextUrl { next_url } => Some(next_url.clone()),
                    _ => None,
                };
                PaginationDef::NextUrl {
                    next_url: opt("next_url_pointer").or(old_ptr).unwrap_or_else(|| "/next".into()),
                }
            }
            "offset" => {
                let (old_param, old_total) = match &old {
                    PaginationDef::Offset { param, total } => (Some(param.clone()), total.clone()),
                    _ => (None, None),
                };
                PaginationDef::Offset {
                    param: opt("offset_param").or(old_param).unwrap_or_else(|| "offset".into()),
                    total: opt("total_pointer").or(old_total),
                }
            }
            "page" => {
                let (old_param, old_first, old_total) = match &old {
                    PaginationDef::Page { param, first, total_pages } => {
                        (Some(param.clone()), Some(*first), total_pages.clone())
                    }
                    _ => (None, None, None),
                };
                let first = match opt("first_page") {
                    Some(v) => v.trim().parse().unwrap_or(1),
                    None => old_first.unwrap_or(1),
                };
                PaginationDef::Page {
                    param: opt("page_param").or(old_param).unwrap_or_else(|| "page".into()),
                    first,
                    total_pages: opt("total_pages_pointer").or(old_total),
                }
            }
            "last_id" => {
                let (old_param, old_more) = match &old {
                    PaginationDef::LastId { param, has_more } => (Some(param.clone()), Some(has_more.clone())),
                    _ => (None, None),
                };
                PaginationDef::LastId {
                    param: opt("last_id_param").or(old_param).unwrap_or_else(|| "starting_after".into()),
                    has_more: opt("has_more_pointer").or(old_more).unwrap_or_else(|| "/has_more".into()),
                }
            }
            other => {
                return Err(TetherError::option(
                    format!(
                        "invalid value for option pagination: \"{other}\"; accepted: {}",
                        PaginationDef::STYLES.join(", ")
                    ),
                    None,
                ))
            }
        };
        for (key, applies) in [
            ("cursor_pointer", "cursor"),
            ("cursor_param", "cursor"),
            ("next_url_pointer", "next_url"),
            ("offset_param", "offset"),
            ("total_pointer", "offset"),
            ("page_param", "page"),
            ("first_page", "page"),
            ("total_pages_pointer", "page"),
            ("last_id_param", "last_id"),
            ("has_more_pointer", "last_id"),
        ] {
            if opts.contains_key(key) && style != applies {
                return Err(TetherError::option(
                    format!("option {key} applies to pagination '{applies}', but this table uses pagination '{style}'"),
                    Some(format!("add pagination '{applies}' or remove {key}")),
                ));
            }
        }
    }
    if opts.contains_key("page_size") || opts.contains_key("page_size_param") {
        let default_param = if style == "page" { "per_page" } else { "limit" };
        let current = object.list.page_size.clone();
        let param = opt("page_size_param").or_else(|| current.as_ref().and_then(|p| p.param.clone()));
        let header = if param.is_none() { current.as_ref().and_then(|p| p.header.clone()) } else { None };
        let param = if header.is_none() { Some(param.unwrap_or_else(|| default_param.into())) } else { None };
        let default = match opts.get("page_size") {
            Some(v) => parse_positive(v, "page_size")?,
            None => current.as_ref().map(|p| p.default).unwrap_or(100),
        };
        let max = current.as_ref().and_then(|p| p.max);
        let min = current.as_ref().and_then(|p| p.min);
        if let Some(max) = max {
            if default > max {
                return Err(TetherError::option(
                    format!("invalid value for option page_size: {default}; this API accepts at most {max}"),
                    None,
                ));
            }
        }
        if let Some(min) = min {
            if default < min {
                return Err(TetherError::option(
                    format!("invalid value for option page_size: {default}; this API accepts at least {min}"),
                    None,
                ));
            }
        }
        let format = current.as_ref().and_then(|p| p.format.clone());
        object.list.page_size = Some(PageSizeDef { param, header, format, default, min, max });
    } else if matches!(object.list.pagination, PaginationDef::Offset { .. } | PaginationDef::Page { .. })
        && object.list.page_size.is_none()
    {
        let param = if style == "page" { "per_page" } else { "limit" };
        object.list.page_size = Some(PageSizeDef {
            param: Some(param.into()),
            header: None,
            format: None,
            default: 100,
            min: None,
            max: None,
        });
    }
    if let Some(m) = opts.get("update_method") {
        let m = m.to_ascii_uppercase();
        if let Some(update) = &mut object.update {
            update.full_row = m == "PUT";
            update.method = m;
        }
    }
    if let Some(f) = opts.get("filters") {
        for column in f.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            object.filters.push(FilterDef {
                column: column.to_string(),
                op: FilterOp::Eq,
                param: column.to_string(),
                separator: None,
                default: None,
            });
        }
    }
    Ok(())
}

pub(crate) fn map_column(
    object: &ObjectDef,
    connector: &Connector,
    object_name: &str,
    name: &str,
    copts: &Options,
    table: &str,
) -> Result<ColumnMap, TetherError> {
    let separator_opt = copts.get("separator").cloned();
    if let Some(p) = copts.get("json_pointer") {
        let pointer = parse_pointer(p, "json_pointer")?;
        // A pointer that matches the object's template (HubSpot /properties/x) still requests its field;
        // a deeper one requests the field holding it (or the joined path, for Salesforce).
        let field = object.other_columns.as_ref().and_then(|t| {
            let (pre, post) = t.pointer.split_once("{name}")?;
            let inner = p.strip_prefix(pre)?.strip_suffix(post)?;
            if inner.is_empty() {
                return None;
            }
            let segments: Vec<String> = inner.split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
            let name = match &t.nested_separator {
                Some(sep) => segments.join(sep),
                None => segments[0].clone(),
            };
            t.field.as_ref().map(|f| f.replace("{name}", &name))
        });
        return Ok(ColumnMap { name: name.to_string(), pointer, field, separator: separator_opt, read_only: false });
    }
    let source = copts.get("column_name").map(String::as_str).unwrap_or(name);
    if let Some(ColumnDef { pointer, field, separator, read_only, .. }) = object.column(source) {
        return Ok(ColumnMap {
            name: name.to_string(),
            pointer: parse_pointer(pointer, "pointer")?,
            field: field.clone(),
            separator: separator_opt.or_else(|| separator.clone()),
            read_only: *read_only,
        });
    }
    if let Some(t) = &object.other_columns {
        let pointer_text = t.pointer.replace("{name}", &source.replace('~', "~0").replace('/', "~1"));
        return Ok(ColumnMap {
            name: name.to_string(),
            pointer: parse_pointer(&pointer_text, "pointer")?,
            field: t.field.as_ref().map(|f| f.replace("{name}", source)),
            separator: separator_opt,
            read_only: false,
        });
    }
    Err(TetherError::option(
        format!(
            "column \"{name}\" of foreign table {table} does not match a column of object \"{object_name}\" of connector \"{}\"; its columns are: {}",
            connector.name,
            if object.columns.is_empty() {
                "none (map columns with the column option json_pointer)".to_string()
            } else {
                object.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            }
        ),
        Some("rename the column, or set its option column_name or json_pointer".into()),
    ))
}

/// The page size for a definition: an override (table option), capped by max and by a LIMIT hint,
/// and at least min.
pub(crate) fn sized(ps: &PageSizeDef, override_: Option<u64>, limit: Option<u64>) -> u64 {
    let mut size = override_.unwrap_or(ps.default);
    if let Some(max) = ps.max {
        size = size.min(max);
    }
    if let Some(limit) = limit {
        size = size.min(limit.max(1));
    }
    if let Some(min) = ps.min {
        size = size.max(min);
    }
    size
}

/// Whether a provider can evaluate `op` on `kind` values the way Postgres does (or more loosely, for
/// equality: a looser match only returns rows Postgres then drops).
pub(crate) fn comparable(op: FilterOp, kind: ValueKind) -> bool {
    match kind {
        ValueKind::Text | ValueKind::Bool | ValueKind::Placeholder => matches!(op, FilterOp::Eq | FilterOp::In),
        ValueKind::Number | ValueKind::Date | ValueKind::Timestamp => true,
    }
}

/// The key of an operator in a search definition's `ops`.
pub fn op_key(op: FilterOp) -> &'static str {
    match op {
        FilterOp::Eq => "eq",
        FilterOp::In => "in",
        FilterOp::Lt => "lt",
        FilterOp::Le => "le",
        FilterOp::Gt => "gt",
        FilterOp::Ge => "ge",
    }
}

impl TableDef {
    /// A table of no columns over `object`: what `tether.request_pages` pages through (the record id
    /// for `last_id` pagination comes from the object's id column).
    pub fn for_listing(server: &ServerDef, object_name: &str, object: ObjectDef) -> TableDef {
        TableDef {
            connector_name: server.connector.name.clone(),
            object_name: object_name.to_string(),
            object,
            base_url: server.base_url.clone(),
            extra_query: Vec::new(),
            columns: Vec::new(),
            page_size_override: None,
            batch_size_override: None,
            concurrency: crate::connector::options::DEFAULT_CONCURRENCY,
            placeholders: server_placeholders(server),
            body_encoding: server.connector.body_encoding,
        }
    }

    pub(crate) fn render_path(&self, template_text: &str, id: Option<&str>) -> Result<String, TetherError> {
        template::render(template_text, "path", |name| match name {
            "id" => id.map(|v| (v.to_string(), Encode::Segment)),
            "path" => self.placeholders.get("path").map(|v| (v.clone(), Encode::Path)),
            other => self.placeholders.get(other).map(|v| (v.clone(), Encode::Segment)),
        })
    }

    /// The page size to request: the table option, else the connector's default, capped by the max and
    /// by a pushed-down LIMIT.
    pub fn page_size(&self, limit: Option<u64>) -> Option<u64> {
        let ps = self.object.list.page_size.as_ref()?;
        Some(sized(ps, self.page_size_override, limit))
    }

    /// Fields to request for the columns at `needed` (indexes into `columns`), deduplicated in order.
    pub fn fields(&self, needed: &[usize]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for &i in needed {
            if let Some(f) = self.columns.get(i).and_then(|c| c.field.as_ref()) {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }

    pub(crate) fn fields_pairs(&self, fields: &[String]) -> Vec<(String, String)> {
        let Some(fp) = self.object.list.fields_param.as_ref() else { return Vec::new() };
        if fields.is_empty() {
            return Vec::new();
        }
        if fp.repeat {
            fields.iter().map(|f| (fp.param.clone(), f.clone())).collect()
        } else {
            vec![(fp.param.clone(), fields.join(&fp.separator))]
        }
    }

    /// The field of a column, for conditions written in a query language or search body.
    pub fn field_of(&self, column: usize) -> Option<&str> {
        self.columns.get(column).and_then(|c| c.field.as_deref())
    }

    /// Whether a condition on `column` with `op`, comparing with a `kind` value, can go through the
    /// list's query language. Text is only compared for equality: providers order and compare strings
    /// by their own rules (Salesforce ignores case), and a range they evaluate differently could drop
    /// rows Postgres would keep.
    pub fn language_can(&self, column: usize, op: FilterOp, kind: ValueKind) -> bool {
        let dates_compare = match &self.object.list.language {
            None => return false,
            Some(LanguageDef::Soql { .. }) => true,
            // Airtable compares a date field with a string literal as text, where formats differ
            // (`2024-06-01T10:00:00.000Z` and `2024-06-01T10:00:00Z`): dates stay with Postgres.
            Some(LanguageDef::Formula { .. }) => false,
        };
        if !dates_compare && matches!(kind, ValueKind::Date | ValueKind::Timestamp) {
            return false;
        }
        self.field_of(column).is_some() && comparable(op, kind)
    }

    /// Whether a condition on `column` with `op` can go through the search endpoint (same rules).
    pub fn search_can(&self, column: usize, op: FilterOp, kind: ValueKind) -> bool {
        let Some(search) = &self.object.search else { return false };
        self.field_of(column).is_some() && search.ops.contains_key(op_key(op)) && comparable(op, kind)
    }

    /// Rows per batch create request: the table or server option capped by the connector's maximum;
    /// None when the object has no batch endpoint.
    pub fn batch_size(&self) -> Option<u64> {
        let batch = self.object.batch_create.as_ref()?;
        Some(self.batch_size_override.unwrap_or(batch.max).clamp(1, batch.max))
    }

    /// The most conditions one search request takes.
    pub fn search_max_filters(&self) -> usize {
        self.object.search.as_ref().and_then(|s| s.max_filters).unwrap_or(usize::MAX)
    }

    /// Index (into `columns`) of the id column, if the foreign table has it.
    pub fn id_index(&self) -> Option<usize> {
        let id = &self.object.id_column;
        let id_def = self.object.column(id);
        self.columns.iter().position(|c| match id_def {
            Some(def) => Pointer::parse(&def.pointer).map(|p| p == c.pointer).unwrap_or(false),
            None => c.name == *id,
        })
    }

    /// The pushable filter on the column at `index` with operator `op`, if the connector declares one.
    pub fn filter_for(&self, index: usize, op: FilterOp) -> Option<&FilterDef> {
        let col = self.columns.get(index)?;
        self.object.filters.iter().find(|f| {
            f.op == op
                && (match self.object.column(&f.column) {
                    Some(def) => Pointer::parse(&def.pointer).map(|p| p == col.pointer).unwrap_or(false),
                    None => f.column == col.name,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;
    use crate::connector::testing::*;
    use std::sync::Arc;

    #[test]
    fn table_needs_object_and_lists_objects() {
        let s = server(&[("connector", "hubspot")]).unwrap();
        let e = resolve_table(&s, &o(&[]), &cols(&["id"]), "t").unwrap_err().to_string();
        assert!(e.contains("needs the option object"), "{e}");
        let e = resolve_table(&s, &o(&[("object", "tickets")]), &cols(&["id"]), "t").unwrap_err().to_string();
        assert!(e.contains("its objects are: companies, contacts, deals"), "{e}");
        let e = resolve_table(&s, &o(&[("object", "contacts"), ("colour", "x")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown option \"colour\""), "{e}");
    }

    #[test]
    fn hubspot_columns_map_to_properties_and_fields() {
        let s = server(&[("connector", "hubspot")]).unwrap();
        let mut columns = cols(&["id", "email", "favourite_colour", "created_at"]);
        columns.push(("mail".into(), o(&[("column_name", "email")])));
        columns.push(("score".into(), o(&[("json_pointer", "/properties/hs_score")])));
        let t = resolve_table(&s, &o(&[("object", "contacts")]), &columns, "crm.contacts").unwrap();
        assert_eq!(t.columns[1].pointer.to_string(), "/properties/email");
        assert_eq!(t.columns[2].pointer.to_string(), "/properties/favourite_colour");
        assert_eq!(t.columns[2].field.as_deref(), Some("favourite_colour"));
        assert_eq!(t.columns[3].field, None);
        assert_eq!(t.columns[4].pointer.to_string(), "/properties/email");
        assert_eq!(t.columns[5].field.as_deref(), Some("hs_score"));
        assert_eq!(t.id_index(), Some(0));
        assert_eq!(t.fields(&[0, 1, 2, 4, 5]), vec!["email", "favourite_colour", "hs_score"]);
        let url = t.list_url(&[], &t.fields(&[1, 2]), t.page_size(None)).unwrap();
        assert_eq!(url, "https://api.hubapi.com/crm/v3/objects/contacts?properties=email,favourite_colour&limit=100");
        assert_eq!(t.page_size(Some(5)), Some(5));
        assert_eq!(t.page_size(Some(0)), Some(1));
        let get = t.get_url("12/3 4", &["email".to_string()], &[]).unwrap().unwrap();
        assert_eq!(get, "https://api.hubapi.com/crm/v3/objects/contacts/12%2F3%204?properties=email");
        let e = t.get_url("12/../3", &["email".to_string()], &[]).unwrap_err();
        assert!(e.to_string().contains("cannot be \"12/../3\", which would name another path"), "{e}");
        assert_eq!(e.sqlstate().code(), "22023");
        assert!(t.get_url("..", &[], &[]).is_err());
    }

    #[test]
    fn hubspot_page_size_is_capped() {
        let s = server(&[("connector", "hubspot")]).unwrap();
        let e = resolve_table(&s, &o(&[("object", "contacts"), ("page_size", "500")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 100"), "{e}");
    }

    #[test]
    fn rest_table_options_choose_pagination() {
        let s = server(&[("connector", "rest"), ("base_url", "http://127.0.0.1:1/api")]).unwrap();
        let t = resolve_table(
            &s,
            &o(&[
                ("path", "/items"),
                ("pagination", "page"),
                ("page_size", "25"),
                ("records", "/data"),
                ("total_pages_pointer", "/meta/pages"),
            ]),
            &cols(&["id", "name"]),
            "t",
        )
        .unwrap();
        assert_eq!(
            t.object.list.pagination,
            PaginationDef::Page { param: "page".into(), first: 1, total_pages: Some("/meta/pages".into()) }
        );
        assert_eq!(t.list_url(&[], &[], t.page_size(None)).unwrap(), "http://127.0.0.1:1/api/items?per_page=25");
        assert_eq!(t.get_url("7", &[], &[]).unwrap().unwrap(), "http://127.0.0.1:1/api/items/7");
        assert_eq!(t.columns[1].pointer.to_string(), "/name");

        let e = resolve_table(&s, &o(&[("path", "/items"), ("pagination", "cursor")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cursor_pointer"), "{e}");
        let e = resolve_table(&s, &o(&[("path", "/items"), ("offset_param", "skip")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("applies to pagination 'offset'"), "{e}");
    }

    #[test]
    fn rest_filters_and_query_options() {
        let s = server(&[("connector", "rest"), ("base_url", "http://127.0.0.1:1")]).unwrap();
        let t = resolve_table(
            &s,
            &o(&[
                ("path", "/items?kind=a"),
                ("filters", "status, email"),
                ("query", "sort=id&x=a%20b"),
                ("get_path", ""),
            ]),
            &cols(&["id", "status", "email"]),
            "t",
        )
        .unwrap();
        assert!(t.filter_for(1, FilterOp::Eq).is_some());
        assert!(t.filter_for(0, FilterOp::Eq).is_none());
        assert!(t.get_url("1", &[], &[]).unwrap().is_none());
        let url = t.list_url(&[("status".into(), "active".into())], &[], None).unwrap();
        assert_eq!(url, "http://127.0.0.1:1/items?kind=a&sort=id&x=a%20b&status=active");
    }

    #[test]
    fn path_escapes_and_bad_values_are_refused() {
        for opts in [
            o(&[("path", "http://evil.test/x")]),
            o(&[("path", "/a/../b")]),
            o(&[("path", "/a"), ("page_size", "0")]),
            o(&[("path", "/a"), ("pagination", "sideways")]),
            o(&[("path", "/a"), ("records", "data")]),
            o(&[("path", "/a"), ("get_path", "/a/one")]),
        ] {
            assert!(validate_table_options(&opts, &[]).is_err(), "{opts:?} should be refused");
        }
    }

    #[test]
    fn unmapped_column_is_refused_when_connector_has_no_template() {
        let mut c = (*connector::find("hubspot").unwrap()).clone();
        c.objects.get_mut("contacts").unwrap().other_columns = None;
        let s = ServerDef { connector: Arc::new(c), ..server(&[("connector", "hubspot")]).unwrap() };
        let e = resolve_table(&s, &o(&[("object", "contacts")]), &cols(&["id", "shoe_size"]), "crm.contacts")
            .unwrap_err()
            .to_string();
        assert!(e.contains("column \"shoe_size\" of foreign table crm.contacts"), "{e}");
        assert!(e.contains("its columns are: id, email"), "{e}");
    }

    #[test]
    fn server_options_fill_connector_placeholders() {
        let store = Connector::from_json(
            r#"{"name": "store", "base_url": "https://api.example.com/stores/{store_hash}/v3",
                "server_options": {"store_hash": {"required": true, "description": "the store's hash"},
                                   "region": {"default": "eu"}},
                "objects": {"customers": {"list": {"path": "/{region}/customers"}, "get": {"path": "/customers/{id}"}}}}"#,
        )
        .unwrap();
        let e = resolve_table(
            &resolve_server(&o(&[("connector", "store"), ("store_hash", "x")]), |_: &str| Ok(Arc::new(store.clone())))
                .unwrap(),
            &o(&[("object", "customers")]),
            &cols(&["id"]),
            "t",
        )
        .unwrap_err();
        assert!(
            e.to_string().ends_with("its columns are: none (map columns with the column option json_pointer)"),
            "{e}"
        );
        let mut store = store;
        store.objects.get_mut("customers").unwrap().columns = vec![crate::connector::model::ColumnDef {
            name: "id".into(),
            type_name: "integer".into(),
            pointer: "/id".into(),
            field: None,
            separator: None,
            read_only: false,
            description: String::new(),
        }];
        let store = Arc::new(store);
        let find = |_: &str| Ok(store.clone());
        let e = resolve_server(&o(&[("connector", "store")]), find).unwrap_err();
        assert!(e.to_string().contains("needs the server option store_hash: the store's hash"), "{e}");
        let s = resolve_server(&o(&[("connector", "store"), ("store_hash", "abc/1")]), find).unwrap();
        assert_eq!(s.base_url, "https://api.example.com/stores/abc%2F1/v3");
        let t = resolve_table(&s, &o(&[("object", "customers")]), &cols(&["id"]), "t").unwrap();
        assert_eq!(t.list_url(&[], &[], None).unwrap(), "https://api.example.com/stores/abc%2F1/v3/eu/customers");
        let s = resolve_server(&o(&[("connector", "store"), ("store_hash", "x"), ("region", "us")]), find).unwrap();
        let t = resolve_table(&s, &o(&[("object", "customers")]), &cols(&["id"]), "t").unwrap();
        assert!(t.list_url(&[], &[], None).unwrap().ends_with("/us/customers"));
        let e = resolve_server(&o(&[("connector", "store"), ("store_hash", "x"), ("colour", "x")]), find).unwrap_err();
        assert!(e.to_string().contains("accepted options: connector, base_url, auth, api_key_header, api_key_param, connect_timeout, read_timeout, max_retries, max_retry_wait, batch_size, concurrency, idempotency_header, token_url, rate_limit, webhook_url, allowed_hosts, region, store_hash"), "{e}");
    }
}
