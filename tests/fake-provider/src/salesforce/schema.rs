//! The objects of the fake org (Account, Contact, Lead, Opportunity): their fields with Salesforce's field
//! types, labels, and which are required or read-only.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FType {
    Id,
    /// A lookup to the named object.
    Ref(&'static str),
    Str,
    Email,
    Phone,
    Url,
    Picklist,
    Currency,
    Percent,
    Int,
    Date,
    DateTime,
    Bool,
}

impl FType {
    pub(super) fn is_text(self) -> bool {
        matches!(self, FType::Str | FType::Email | FType::Phone | FType::Url | FType::Picklist)
    }

    pub(super) fn is_id(self) -> bool {
        matches!(self, FType::Id | FType::Ref(_))
    }

    pub(super) fn is_number(self) -> bool {
        matches!(self, FType::Currency | FType::Percent | FType::Int)
    }

    /// The type name Salesforce uses in describe results.
    pub(super) fn describe_name(self) -> &'static str {
        match self {
            FType::Id => "id",
            FType::Ref(_) => "reference",
            FType::Str => "string",
            FType::Email => "email",
            FType::Phone => "phone",
            FType::Url => "url",
            FType::Picklist => "picklist",
            FType::Currency => "currency",
            FType::Percent => "percent",
            FType::Int => "int",
            FType::Date => "date",
            FType::DateTime => "datetime",
            FType::Bool => "boolean",
        }
    }

    /// The type named in "value of filter criterion ... must be of type X".
    pub(super) fn soql_name(self) -> &'static str {
        match self {
            FType::Id | FType::Ref(_) => "id",
            FType::Currency | FType::Percent => "double",
            FType::Int => "integer",
            FType::Date => "date",
            FType::DateTime => "dateTime",
            FType::Bool => "boolean",
            _ => "string",
        }
    }

    /// The Java type named in JSON deserialisation errors.
    pub(super) fn java_name(self) -> &'static str {
        match self {
            FType::Currency | FType::Percent => "double",
            FType::Int => "int",
            FType::Date => "date",
            FType::DateTime => "datetime",
            FType::Bool => "boolean",
            _ => "string",
        }
    }
}

#[derive(Debug)]
pub(super) struct Field {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) ty: FType,
    pub(super) required: bool,
    pub(super) read_only: bool,
}

const fn f(name: &'static str, label: &'static str, ty: FType) -> Field {
    Field { name, label, ty, required: false, read_only: false }
}

const fn req(name: &'static str, label: &'static str, ty: FType) -> Field {
    Field { name, label, ty, required: true, read_only: false }
}

const fn ro(name: &'static str, label: &'static str, ty: FType) -> Field {
    Field { name, label, ty, required: false, read_only: true }
}

#[derive(Debug)]
pub(super) struct SObject {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) prefix: &'static str,
    /// Index in `SfStore::tables`.
    pub(super) table: usize,
    pub(super) fields: &'static [Field],
}

impl SObject {
    /// A field by name, ignoring case (Salesforce field names are case-insensitive).
    pub(super) fn field(&self, name: &str) -> Option<(usize, &'static Field)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name.eq_ignore_ascii_case(name))
    }

    pub(super) fn index(&self, name: &str) -> usize {
        self.field(name).map_or(0, |(i, _)| i)
    }
}

pub(super) static ACCOUNT: SObject = SObject {
    name: "Account",
    label: "Account",
    prefix: "001",
    table: 0,
    fields: &[
        ro("Id", "Account ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        req("Name", "Account Name", FType::Str),
        f("Type", "Account Type", FType::Picklist),
        f("Industry", "Industry", FType::Picklist),
        f("Phone", "Account Phone", FType::Phone),
        f("Website", "Website", FType::Url),
        f("BillingCity", "Billing City", FType::Str),
        f("BillingCountry", "Billing Country", FType::Str),
        f("AnnualRevenue", "Annual Revenue", FType::Currency),
        f("NumberOfEmployees", "Employees", FType::Int),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

static CONTACT: SObject = SObject {
    name: "Contact",
    label: "Contact",
    prefix: "003",
    table: 1,
    fields: &[
        ro("Id", "Contact ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        f("AccountId", "Account ID", FType::Ref("Account")),
        f("FirstName", "First Name", FType::Str),
        req("LastName", "Last Name", FType::Str),
        f("Email", "Email", FType::Email),
        f("Phone", "Business Phone", FType::Phone),
        f("Title", "Title", FType::Str),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

pub(super) static LEAD: SObject = SObject {
    name: "Lead",
    label: "Lead",
    prefix: "00Q",
    table: 2,
    fields: &[
        ro("Id", "Lead ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        f("FirstName", "First Name", FType::Str),
        req("LastName", "Last Name", FType::Str),
        req("Company", "Company", FType::Str),
        f("Email", "Email", FType::Email),
        f("Status", "Lead Status", FType::Picklist),
        f("LeadSource", "Lead Source", FType::Picklist),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

static OPPORTUNITY: SObject = SObject {
    name: "Opportunity",
    label: "Opportunity",
    prefix: "006",
    table: 3,
    fields: &[
        ro("Id", "Opportunity ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        f("AccountId", "Account ID", FType::Ref("Account")),
        req("Name", "Name", FType::Str),
        req("StageName", "Stage", FType::Picklist),
        req("CloseDate", "Close Date", FType::Date),
        f("Amount", "Amount", FType::Currency),
        f("Probability", "Probability (%)", FType::Percent),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

pub(super) static OBJECTS: [&SObject; 4] = [&ACCOUNT, &CONTACT, &LEAD, &OPPORTUNITY];

pub(super) fn object(name: &str) -> Option<&'static SObject> {
    OBJECTS.iter().copied().find(|o| o.name.eq_ignore_ascii_case(name))
}

pub(super) const LEAD_DEFAULT_STATUS: &str = "Open - Not Contacted";
