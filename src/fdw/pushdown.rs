//! What a foreign scan sends to the provider, decided in plain Rust (as postgres_fdw decides it in
//! `deparse.c`, apart from its callbacks): which WHERE conditions reach the provider and how (an id
//! lookup through the get endpoint, a filter the connector declares, the list's query language, its
//! search endpoint), the `ScanPlan` the planner stores, the requests the executor builds from it with
//! the values of one scan, and the request EXPLAIN shows. The callbacks (`plan`, `scan`) walk the
//! planner's nodes and evaluate parameters, and call in here. Every condition is still checked by
//! Postgres, so what is pushed only needs to be safe, not complete.

use serde::{Deserialize, Serialize};

use crate::connector::model::FilterOp;
use crate::connector::request::{Condition, ParamValue, ValueKind, Via};
use crate::connector::table::TableDef;
use crate::connector::template;
use crate::error::TetherError;
use crate::http::pages::FetchKind;

/// A condition sent to the provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushedFilter {
    /// Index into the table's columns.
    pub column: usize,
    pub op: FilterOp,
    pub via: Via,
    /// Index into fdw_exprs of the value.
    pub expr: usize,
    /// The value is an array (`= ANY`).
    pub many: bool,
}

impl PushedFilter {
    /// The condition with its values for one scan; None when no row can match (a NULL value, an empty
    /// array).
    pub fn condition(&self, values: &Option<Vec<String>>, kind: ValueKind) -> Option<Condition> {
        let values = values.as_ref().filter(|v| !v.is_empty())?;
        Some(Condition {
            column: self.column,
            op: self.op,
            values: values.iter().map(|t| ParamValue { text: t.clone(), kind }).collect(),
            via: self.via.clone(),
        })
    }
}

/// Records fetched one by one through the get endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdLookup {
    pub expr: usize,
    pub many: bool,
}

/// What the executor needs from planning; stored in fdw_private as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ScanPlan {
    /// Tuple indexes (0-based attnum - 1) the query reads.
    pub needed: Vec<usize>,
    pub lookup: Option<IdLookup>,
    pub filters: Vec<PushedFilter>,
    /// Rows the query will take at most (LIMIT + OFFSET), when known.
    pub limit: Option<u64>,
    /// Type of each fdw_expr (element type for arrays).
    pub param_types: Vec<u32>,
    /// For EXPLAIN: the conditions sent to the provider, as SQL.
    pub pushed_sql: Vec<String>,
    /// For EXPLAIN: the first request (path and query, no host, no credentials).
    pub request_preview: String,
}

/// How a condition reaches the provider.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Lookup,
    Via(Via),
}

/// The route for one condition on its own, or None when the provider cannot evaluate it. `used_params`
/// are the query parameters taken by earlier conditions; `lookup` whether an id lookup is already
/// planned.
pub fn route(table: &TableDef, c: &Clause, used_params: &mut Vec<String>, lookup: bool) -> Option<Route> {
    let (kind, scalar) = (c.kind, c.scalar);
    if let Some(f) = table.filter_for(c.column, c.op) {
        if used_params.contains(&f.param) {
            return None;
        }
        used_params.push(f.param.clone());
        return Some(Route::Via(Via::Param(f.clone())));
    }
    let language = scalar && table.language_can(c.column, c.op, kind);
    if Some(c.column) == table.id_index()
        && !lookup
        && !language
        && table.object.get.is_some()
        && matches!(c.op, FilterOp::Eq | FilterOp::In)
    {
        return Some(Route::Lookup);
    }
    if language {
        return Some(Route::Via(Via::Language));
    }
    if scalar && table.search_can(c.column, c.op, kind) {
        return Some(Route::Via(Via::Search));
    }
    None
}

/// One WHERE condition as the planner found it: `column <op> value`, with how the value compares and
/// whether the column holds one value (not an array or a JSON document), so that a query language or a
/// search compares it the way Postgres does.
#[derive(Debug, Clone)]
pub struct Clause {
    pub column: usize,
    pub op: FilterOp,
    /// The value is an array (`= ANY (...)`).
    pub many: bool,
    pub kind: ValueKind,
    pub scalar: bool,
}

/// postgres_fdw's classifyConditions for an API: for each condition, in order, how it is sent to the
/// provider, or None when Postgres alone checks it. An id lookup fetches records one by one, so the
/// other conditions are then checked by Postgres; a search endpoint takes no query parameters (a
/// declared parameter filter wins over searching) and only so many conditions.
pub fn classify(table: &TableDef, clauses: &[Clause]) -> Vec<Option<Route>> {
    let mut used_params: Vec<String> = Vec::new();
    let mut routes: Vec<Option<Route>> = Vec::with_capacity(clauses.len());
    for c in clauses {
        let lookup = routes.iter().any(|r| matches!(r, Some(Route::Lookup)));
        routes.push(route(table, c, &mut used_params, lookup));
    }
    let has_lookup = routes.iter().any(|r| matches!(r, Some(Route::Lookup)));
    let has_param = routes.iter().any(|r| matches!(r, Some(Route::Via(Via::Param(_)))));
    let mut search_left = table.search_max_filters();
    routes
        .into_iter()
        .map(|r| {
            let pushed = match &r {
                None => false,
                Some(Route::Lookup) | Some(Route::Via(Via::Param(_))) => true,
                Some(Route::Via(Via::Language)) => !has_lookup,
                Some(Route::Via(Via::Search)) => {
                    let ok = !has_lookup && !has_param && search_left > 0;
                    search_left -= ok as usize;
                    ok
                }
            };
            r.filter(|_| pushed)
        })
        .collect()
}

/// The query parameters an id lookup takes along: declared filters that change which records the
/// provider answers for (HubSpot `archived`, which has a default). Other filters are checked by
/// Postgres: a record endpoint may refuse list parameters (Stripe does).
pub fn lookup_params(conds: &[Condition]) -> Vec<(String, String)> {
    conds
        .iter()
        .filter_map(|c| match &c.via {
            Via::Param(f) if f.default.is_some() => Some((f.param.clone(), c.joined(f.separator.as_deref()))),
            _ => None,
        })
        .collect()
}

/// Build the fetch for the current parameter values; None when no row can match (an id that is NULL).
/// `kinds` and `values` are indexed by fdw_expr: how each value compares (`ValueKind`), and its values
/// for this scan (None: NULL).
pub fn fetch(
    table: &TableDef,
    plan: &ScanPlan,
    fields: &[String],
    kinds: &[ValueKind],
    values: &[Option<Vec<String>>],
) -> Result<Option<FetchKind>, TetherError> {
    let mut conds = Vec::with_capacity(plan.filters.len());
    for f in &plan.filters {
        match f.condition(&values[f.expr], kinds[f.expr]) {
            Some(c) => conds.push(c),
            None => return Ok(None),
        }
    }
    match &plan.lookup {
        Some(l) => {
            let pairs = lookup_params(&conds);
            let Some(ids) = &values[l.expr] else { return Ok(None) };
            let mut urls = Vec::with_capacity(ids.len());
            let mut seen = std::collections::HashSet::new();
            for id in ids {
                if !seen.insert(id) {
                    continue;
                }
                match table.get_url(id, fields, &pairs)? {
                    Some(u) => urls.push(u),
                    None => return Err(TetherError::Internal("id lookup planned without a get endpoint".into())),
                }
            }
            if urls.is_empty() {
                return Ok(None);
            }
            Ok(Some(FetchKind::Get { urls }))
        }
        None => Ok(Some(FetchKind::List(Box::new(table.list_fetch(&conds, fields, plan.limit)?)))),
    }
}

/// The first request as EXPLAIN shows it: values of constants filled in, run-time values as the
/// expression that computes them. By fdw_expr: `kinds` how each value compares, `values` its constant
/// values, or (Err) the expression as SQL when it is computed at run time.
pub fn preview(
    table: &TableDef,
    plan: &ScanPlan,
    fields: &[String],
    kinds: &[ValueKind],
    values: &[Result<Vec<String>, String>],
) -> String {
    let fields = fields.to_vec();
    let mut conds = Vec::new();
    for f in &plan.filters {
        let kind = kinds[f.expr];
        let shown = match &values[f.expr] {
            Ok(v) if !v.is_empty() => f.condition(&Some(v.clone()), kind),
            Ok(_) => f.condition(&Some(vec!["NULL".into()]), ValueKind::Placeholder),
            Err(expr) => f.condition(&Some(vec![expr.clone()]), ValueKind::Placeholder),
        };
        conds.extend(shown);
    }
    match &plan.lookup {
        Some(l) => {
            let extra = lookup_params(&conds);
            let ids = &values[l.expr];
            let shown_id = match ids {
                Ok(v) if v.len() == 1 => v[0].clone(),
                _ => "{id}".to_string(),
            };
            let url = table.get_url(&shown_id, &fields, &extra).ok().flatten().unwrap_or_default();
            let mut s = format!("GET {}", template::display_path(&url).replace("%7Bid%7D", "{id}"));
            if !matches!(ids, Ok(v) if v.len() == 1) {
                s.push_str(" (one request per id)");
            }
            s
        }
        None => match table.list_fetch(&conds, &fields, plan.limit) {
            Ok(fetch) => {
                let mut s = format!("{} {}", fetch.first.method, template::display_readable(&fetch.first.url));
                if let Some(body) = &fetch.first.body {
                    s.push(' ');
                    s.push_str(&body.to_string());
                }
                s
            }
            Err(e) => format!("(cannot build the request: {e})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::options::Options;
    use crate::connector::server::resolve_server;
    use crate::connector::table::resolve_table;

    /// A foreign table of a built-in connector's object with the given columns (and table options).
    fn table(connector: &str, object: &str, columns: &[&str], extra: &[(&str, &str)]) -> TableDef {
        let mut opts: Options = [("connector", connector), ("base_url", "http://127.0.0.1:9")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if connector == "bigcommerce" {
            opts.insert("store_hash".into(), "h".into());
        }
        let server = resolve_server(&opts, crate::connector::find).unwrap();
        let mut table_opts: Options = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !object.is_empty() {
            table_opts.insert("object".into(), object.into());
        }
        let cols: Vec<(String, Options)> = columns.iter().map(|c| (c.to_string(), Options::new())).collect();
        resolve_table(&server, &table_opts, &cols, "t").unwrap()
    }

    fn clause(t: &TableDef, column: &str, op: FilterOp, kind: ValueKind) -> Clause {
        let column = t.columns.iter().position(|c| c.name == column).unwrap();
        Clause { column, op, many: false, kind, scalar: true }
    }

    fn kinds(routes: &[Option<Route>]) -> Vec<&'static str> {
        routes
            .iter()
            .map(|r| match r {
                None => "postgres",
                Some(Route::Lookup) => "lookup",
                Some(Route::Via(Via::Param(_))) => "param",
                Some(Route::Via(Via::Language)) => "language",
                Some(Route::Via(Via::Search)) => "search",
            })
            .collect()
    }

    #[test]
    fn an_id_is_looked_up_and_the_rest_is_left_to_postgres() {
        let t = table("hubspot", "contacts", &["id", "email", "city"], &[]);
        let id = clause(&t, "id", FilterOp::Eq, ValueKind::Text);
        let email = clause(&t, "email", FilterOp::Eq, ValueKind::Text);
        assert_eq!(kinds(&classify(&t, std::slice::from_ref(&email))), ["search"]);
        // With a lookup, records come one by one: the search condition is Postgres's.
        assert_eq!(kinds(&classify(&t, &[email.clone(), id.clone()])), ["postgres", "lookup"]);
        // One lookup at most.
        assert_eq!(kinds(&classify(&t, &[id.clone(), id])), ["lookup", "postgres"]);
        // A range on an id is no lookup: the search endpoint takes it.
        let range = clause(&t, "id", FilterOp::Gt, ValueKind::Text);
        assert_eq!(kinds(&classify(&t, &[range])), ["postgres"]);
    }

    #[test]
    fn arrays_and_json_are_not_compared_by_the_provider() {
        let t = table("hubspot", "contacts", &["id", "email"], &[]);
        let mut email = clause(&t, "email", FilterOp::Eq, ValueKind::Text);
        email.scalar = false;
        assert_eq!(kinds(&classify(&t, &[email])), ["postgres"]);
    }

    #[test]
    fn a_query_language_takes_what_it_can_state_exactly() {
        let t = table("salesforce", "account", &["id", "name", "billing_city"], &[]);
        let name = clause(&t, "name", FilterOp::Eq, ValueKind::Text);
        let id = clause(&t, "id", FilterOp::Eq, ValueKind::Text);
        // SOQL states an id condition too, so no lookup is needed.
        assert_eq!(kinds(&classify(&t, &[name.clone(), id])), ["language", "language"]);
        // Text compared with < is not compared the way Postgres does (collation): left to Postgres.
        let lt = clause(&t, "name", FilterOp::Lt, ValueKind::Text);
        assert_eq!(kinds(&classify(&t, &[lt])), ["postgres"]);
    }

    #[test]
    fn declared_filters_win_over_search_and_take_their_parameter_once() {
        let t = table("rest", "", &["id", "name", "active"], &[("path", "/items"), ("filters", "active, name")]);
        let active = clause(&t, "active", FilterOp::Eq, ValueKind::Bool);
        let name = clause(&t, "name", FilterOp::Eq, ValueKind::Text);
        assert_eq!(kinds(&classify(&t, &[active.clone(), name, active])), ["param", "param", "postgres"]);
        let h = table("hubspot", "contacts", &["id", "email", "archived"], &[]);
        let archived = clause(&h, "archived", FilterOp::Eq, ValueKind::Bool);
        let email = clause(&h, "email", FilterOp::Eq, ValueKind::Text);
        // The search endpoint takes no list parameters: with a parameter filter, no search.
        assert_eq!(kinds(&classify(&h, &[archived, email])), ["param", "postgres"]);
    }

    #[test]
    fn a_search_takes_at_most_its_number_of_filters() {
        let t = table("hubspot", "contacts", &["id", "email"], &[]);
        let max = t.search_max_filters();
        assert!(max > 0);
        let many: Vec<Clause> = (0..max + 2).map(|_| clause(&t, "email", FilterOp::Eq, ValueKind::Text)).collect();
        let routes = kinds(&classify(&t, &many));
        assert_eq!(routes.iter().filter(|r| **r == "search").count(), max);
        assert_eq!(routes[max..], ["postgres", "postgres"]);
    }

    fn lookup_plan(t: &TableDef, filters: Vec<PushedFilter>) -> ScanPlan {
        ScanPlan {
            lookup: Some(IdLookup { expr: 0, many: true }),
            filters,
            param_types: vec![0; 2],
            needed: (0..t.columns.len()).collect(),
            ..ScanPlan::default()
        }
    }

    #[test]
    fn a_lookup_fetches_each_id_once_and_takes_filters_with_a_default_along() {
        let t = table("hubspot", "contacts", &["id", "email", "archived"], &[]);
        let archived = t.filter_for(2, FilterOp::Eq).cloned().unwrap();
        let plan = lookup_plan(
            &t,
            vec![PushedFilter { column: 2, op: FilterOp::Eq, via: Via::Param(archived), expr: 1, many: false }],
        );
        let kinds = [ValueKind::Text, ValueKind::Bool];
        let ids = Some(vec!["7".to_string(), "8".to_string(), "7".to_string()]);
        let fetch = fetch(&t, &plan, &[], &kinds, &[ids, Some(vec!["true".into()])]).unwrap();
        match fetch {
            Some(FetchKind::Get { urls }) => assert_eq!(
                urls,
                vec![
                    "http://127.0.0.1:9/crm/v3/objects/contacts/7?archived=true",
                    "http://127.0.0.1:9/crm/v3/objects/contacts/8?archived=true"
                ]
            ),
            other => panic!("expected gets, got {other:?}"),
        }
        // A NULL id (or an empty list of ids) matches no row: no request at all.
        assert!(fetch_none(&t, &plan, &kinds, &[None, Some(vec!["true".into()])]));
        assert!(fetch_none(&t, &plan, &kinds, &[Some(vec![]), Some(vec!["true".into()])]));
        // A NULL filter value matches no row either.
        assert!(fetch_none(&t, &plan, &kinds, &[Some(vec!["7".into()]), None]));
    }

    fn fetch_none(t: &TableDef, plan: &ScanPlan, kinds: &[ValueKind], values: &[Option<Vec<String>>]) -> bool {
        fetch(t, plan, &[], kinds, values).unwrap().is_none()
    }

    #[test]
    fn explain_shows_constants_and_the_expressions_of_run_time_values() {
        let t = table("hubspot", "contacts", &["id", "email"], &[]);
        let mut plan = lookup_plan(&t, vec![]);
        plan.lookup = Some(IdLookup { expr: 0, many: false });
        let kinds = [ValueKind::Text];
        let fields = t.fields(&[1]);
        let shown = preview(&t, &plan, &fields, &kinds, &[Ok(vec!["42".into()])]);
        assert_eq!(shown, "GET /crm/v3/objects/contacts/42?properties=email");
        let shown = preview(&t, &plan, &fields, &kinds, &[Err("$1".into())]);
        assert_eq!(shown, "GET /crm/v3/objects/contacts/{id}?properties=email (one request per id)");
        let search = ScanPlan {
            filters: vec![PushedFilter { column: 1, op: FilterOp::Eq, via: Via::Search, expr: 0, many: false }],
            param_types: vec![0],
            ..ScanPlan::default()
        };
        let shown = preview(&t, &search, &fields, &kinds, &[Err("now()".into())]);
        assert!(shown.starts_with("POST /crm/v3/objects/contacts/search "), "{shown}");
        assert!(shown.contains("now()"), "{shown}");
    }
}
