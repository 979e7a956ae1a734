//! HubSpot's object types (contacts, companies, deals) with their property schemas, and the records and tables
//! the fake keeps (`state::Data` holds one table per type).

use std::borrow::Cow;

use crate::shared::json::{push_iso_ms, push_json_str, push_u64};
use crate::shared::time::WRITE_BASE_MS;

pub type PropValue = Option<Cow<'static, str>>;

/// A HubSpot object type and its property schema.
#[derive(Debug)]
pub struct ObjectType {
    /// Plural name used in URLs (`contacts`).
    pub name: &'static str,
    /// Stored properties, in the order of `CrmRecord::props`.
    pub stored: &'static [&'static str],
    /// Properties returned when the caller does not ask for any.
    pub defaults: &'static [&'static str],
    /// Name of the "last modified" property (differs between object types).
    pub modified_prop: &'static str,
}

pub static CONTACTS: ObjectType = ObjectType {
    name: "contacts",
    stored: &[
        "firstname",
        "lastname",
        "email",
        "phone",
        "mobilephone",
        "company",
        "jobtitle",
        "website",
        "city",
        "country",
        "lifecyclestage",
        "hs_interests",
    ],
    defaults: &["firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"],
    modified_prop: "lastmodifieddate",
};

pub static COMPANIES: ObjectType = ObjectType {
    name: "companies",
    stored: &[
        "name",
        "domain",
        "industry",
        "phone",
        "city",
        "state",
        "country",
        "numberofemployees",
        "annualrevenue",
        "lifecyclestage",
        "description",
    ],
    defaults: &["name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"],
    modified_prop: "hs_lastmodifieddate",
};

pub static DEALS: ObjectType = ObjectType {
    name: "deals",
    stored: &["dealname", "amount", "dealstage", "pipeline", "closedate", "hubspot_owner_id"],
    defaults: &[
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ],
    modified_prop: "hs_lastmodifieddate",
};

/// The stages of the default deal pipeline (internal values).
pub const DEAL_STAGES: &[&str] = &[
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
];

/// How a property's values compare in searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropKind {
    Text,
    Number,
    /// Stored as `2024-01-05T10:00:00.000Z`; filters may give ISO strings or epoch milliseconds.
    DateTime,
}

impl ObjectType {
    /// Resolves a URL segment (`contacts`, `0-1`, ...) to an object type.
    pub fn from_segment(seg: &str) -> Option<&'static ObjectType> {
        match seg {
            "contacts" | "contact" | "0-1" => Some(&CONTACTS),
            "companies" | "company" | "0-2" => Some(&COMPANIES),
            "deals" | "deal" | "0-3" => Some(&DEALS),
            _ => None,
        }
    }

    /// Whether this is the contacts type (which has e-mail rules).
    pub fn is_contacts(&self) -> bool {
        self.name == CONTACTS.name
    }

    /// Whether this is the deals type.
    pub fn is_deals(&self) -> bool {
        self.name == DEALS.name
    }

    /// How values of a (known) property compare.
    pub fn kind(&self, prop: PropRef) -> PropKind {
        match prop {
            PropRef::ObjectId => PropKind::Number,
            PropRef::Created | PropRef::Modified => PropKind::DateTime,
            PropRef::Stored(idx) => match self.stored.get(idx).copied().unwrap_or("") {
                "amount" | "numberofemployees" | "annualrevenue" | "hubspot_owner_id" => PropKind::Number,
                "closedate" => PropKind::DateTime,
                _ => PropKind::Text,
            },
        }
    }

    /// Resolves a property name; `None` if the object type does not know it.
    pub fn resolve(&self, prop: &str) -> Option<PropRef> {
        if prop == "hs_object_id" {
            Some(PropRef::ObjectId)
        } else if prop == "createdate" {
            Some(PropRef::Created)
        } else if prop == self.modified_prop {
            Some(PropRef::Modified)
        } else {
            self.stored.iter().position(|p| *p == prop).map(PropRef::Stored)
        }
    }
}

/// One HubSpot CRM object.
#[derive(Debug, Clone)]
pub struct CrmRecord {
    pub id: u64,
    pub archived: bool,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub archived_ms: Option<u64>,
    /// Values aligned with `ObjectType::stored`.
    pub props: Vec<PropValue>,
}

impl CrmRecord {
    /// Value of a property: `None` if the type does not know it,
    /// `Some(None)` if it is known but has no value.
    #[cfg(test)]
    pub fn prop(&self, ty: &ObjectType, name: &str) -> Option<Option<String>> {
        let mut out = String::new();
        self.push_prop_json(&mut out, ty.resolve(name)?);
        Some(serde_json::from_str::<Option<String>>(&out).ok().flatten())
    }

    /// Appends the JSON value (a string or `null`) of a resolved property.
    pub fn push_prop_json(&self, out: &mut String, prop: PropRef) {
        match prop {
            PropRef::ObjectId => {
                out.push('"');
                push_u64(out, self.id);
                out.push('"');
            }
            PropRef::Created => {
                out.push('"');
                push_iso_ms(out, self.created_ms);
                out.push('"');
            }
            PropRef::Modified => {
                out.push('"');
                push_iso_ms(out, self.updated_ms);
                out.push('"');
            }
            PropRef::Stored(idx) => match self.props.get(idx) {
                Some(Some(v)) => push_json_str(out, v),
                _ => out.push_str("null"),
            },
        }
    }
}

impl CrmRecord {
    /// A record created through the API: no property set yet, deterministic timestamps.
    pub fn new_written(ty: &ObjectType, id: u64) -> CrmRecord {
        let created = WRITE_BASE_MS.saturating_add(id.saturating_mul(1000));
        CrmRecord {
            id,
            archived: false,
            created_ms: created,
            updated_ms: created,
            archived_ms: None,
            props: vec![None; ty.stored.len()],
        }
    }
}

/// A property name resolved against an object type's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropRef {
    ObjectId,
    Created,
    Modified,
    /// Index into `CrmRecord::props`.
    Stored(usize),
}

/// An ordered collection of CRM records (active first, then archived).
#[derive(Debug, Default)]
pub struct CrmTable {
    pub active: Vec<CrmRecord>,
    pub archived: Vec<CrmRecord>,
}

impl CrmTable {
    /// Looks a record up by id in the active or archived list.
    pub fn find(&self, id: u64, archived: bool) -> Option<&CrmRecord> {
        let list = if archived { &self.archived } else { &self.active };
        list.binary_search_by_key(&id, |r| r.id).ok().and_then(|idx| list.get(idx))
    }

    pub fn list(&self, archived: bool) -> &[CrmRecord] {
        if archived {
            &self.archived
        } else {
            &self.active
        }
    }

    /// Position of an active record in `active`.
    pub fn active_index(&self, id: u64) -> Option<usize> {
        self.active.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// The id the next created record gets: one more than any id in use, active or archived.
    pub fn next_id(&self) -> u64 {
        let last = |list: &[CrmRecord]| list.last().map_or(0, |r| r.id);
        last(&self.active).max(last(&self.archived)).saturating_add(1)
    }

    /// Moves the active record at `idx` to the archived list (kept sorted by id).
    pub fn archive(&mut self, idx: usize, archived_ms: u64) -> Option<&CrmRecord> {
        if idx >= self.active.len() {
            return None;
        }
        let mut rec = self.active.remove(idx);
        rec.archived = true;
        rec.archived_ms = Some(archived_ms);
        let pos = self.archived.partition_point(|r| r.id < rec.id);
        self.archived.insert(pos, rec);
        self.archived.get(pos)
    }
}
