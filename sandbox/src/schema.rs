//! The schemas the sandbox serves (RFC 7643 §4, §8.7): core User, enterprise User, Group,
//! as typed attribute tables used both for `/Schemas` and for filter, PATCH and
//! normalisation decisions (case-exactness, plurality, mutability).

use serde_json::{json, Value};

/// URN of the core User schema.
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the enterprise User extension.
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the core Group schema.
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The two resource types the sandbox stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl Kind {
    /// The resource type name (`meta.resourceType`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    /// The endpoint segment.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    /// The core schema of this kind.
    pub fn core(self) -> &'static SchemaDef {
        match self {
            Kind::User => &USER,
            Kind::Group => &GROUP,
        }
    }

    /// The schema extensions this kind accepts.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        match self {
            Kind::User => &USER_EXTENSIONS,
            Kind::Group => &[],
        }
    }

    /// The kind stored under a database tag.
    pub fn from_name(name: &str) -> Option<Kind> {
        match name {
            "User" => Some(Kind::User),
            "Group" => Some(Kind::Group),
            _ => None,
        }
    }
}

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// `string`.
    Str,
    /// `boolean`.
    Bool,
    /// `decimal`.
    Decimal,
    /// `integer`.
    Integer,
    /// `dateTime`.
    DateTime,
    /// `reference`.
    Reference,
    /// `binary`.
    Binary,
    /// `complex`.
    Complex,
}

impl AttrType {
    fn wire(self) -> &'static str {
        match self {
            AttrType::Str => "string",
            AttrType::Bool => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Binary => "binary",
            AttrType::Complex => "complex",
        }
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Clients may change it.
    ReadWrite,
    /// Only the server sets it.
    ReadOnly,
    /// Set once.
    Immutable,
    /// Accepted, never returned.
    WriteOnly,
}

/// One attribute of a schema.
#[derive(Debug, PartialEq)]
pub struct AttrDef {
    /// Canonical name.
    pub name: &'static str,
    /// Data type.
    pub ty: AttrType,
    /// Multi-valued.
    pub multi: bool,
    /// Whether string comparison is case-sensitive.
    pub case_exact: bool,
    /// Required on create.
    pub required: bool,
    /// Who may change it.
    pub mutability: Mutability,
    /// Unique across the server.
    pub unique: bool,
    /// Sub-attributes of a complex attribute.
    pub sub: &'static [AttrDef],
    /// Suggested values (`type` of emails etc.).
    pub canonical: &'static [&'static str],
}

impl AttrDef {
    /// A sub-attribute by name, case-insensitively.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.sub, name)
    }
}

/// A schema: its URN and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    /// The schema URN.
    pub id: &'static str,
    /// Short name.
    pub name: &'static str,
    /// What it describes.
    pub description: &'static str,
    /// Its attributes.
    pub attrs: &'static [AttrDef],
}

/// An attribute in a list, by name, case-insensitively.
pub fn find(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

const fn s(name: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty: AttrType::Str,
        multi: false,
        case_exact: false,
        required: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        sub: &[],
        canonical: &[],
    }
}

const fn typed(name: &'static str, ty: AttrType) -> AttrDef {
    AttrDef { ty, ..s(name) }
}

const fn complex(name: &'static str, sub: &'static [AttrDef]) -> AttrDef {
    AttrDef {
        ty: AttrType::Complex,
        sub,
        ..s(name)
    }
}

const fn multi(name: &'static str, sub: &'static [AttrDef]) -> AttrDef {
    AttrDef {
        multi: true,
        ..complex(name, sub)
    }
}

const TYPES_WORK_HOME: &[&str] = &["work", "home", "other"];

const PLURAL_SUB: &[AttrDef] = &[
    s("value"),
    s("display"),
    AttrDef {
        canonical: TYPES_WORK_HOME,
        ..s("type")
    },
    typed("primary", AttrType::Bool),
];

const ADDRESS_SUB: &[AttrDef] = &[
    s("formatted"),
    s("streetAddress"),
    s("locality"),
    s("region"),
    s("postalCode"),
    s("country"),
    AttrDef {
        canonical: TYPES_WORK_HOME,
        ..s("type")
    },
    typed("primary", AttrType::Bool),
];

const NAME_SUB: &[AttrDef] = &[
    s("formatted"),
    s("familyName"),
    s("givenName"),
    s("middleName"),
    s("honorificPrefix"),
    s("honorificSuffix"),
];

const GROUP_REF_SUB: &[AttrDef] = &[
    AttrDef {
        mutability: Mutability::ReadOnly,
        case_exact: true,
        ..s("value")
    },
    AttrDef {
        mutability: Mutability::ReadOnly,
        ..typed("$ref", AttrType::Reference)
    },
    AttrDef {
        mutability: Mutability::ReadOnly,
        ..s("display")
    },
    AttrDef {
        mutability: Mutability::ReadOnly,
        ..s("type")
    },
];

/// The core User schema (RFC 7643 §4.1).
pub static USER: SchemaDef = SchemaDef {
    id: USER_URN,
    name: "User",
    description: "User Account",
    attrs: &[
        AttrDef {
            required: true,
            unique: true,
            ..s("userName")
        },
        complex("name", NAME_SUB),
        s("displayName"),
        s("nickName"),
        typed("profileUrl", AttrType::Reference),
        s("title"),
        s("userType"),
        s("preferredLanguage"),
        s("locale"),
        s("timezone"),
        typed("active", AttrType::Bool),
        AttrDef {
            mutability: Mutability::WriteOnly,
            case_exact: true,
            ..s("password")
        },
        multi("emails", PLURAL_SUB),
        multi("phoneNumbers", PLURAL_SUB),
        multi("ims", PLURAL_SUB),
        multi("photos", PLURAL_SUB),
        multi("addresses", ADDRESS_SUB),
        AttrDef {
            mutability: Mutability::ReadOnly,
            ..multi("groups", GROUP_REF_SUB)
        },
        multi("entitlements", PLURAL_SUB),
        multi("roles", PLURAL_SUB),
        multi("x509Certificates", PLURAL_SUB),
    ],
};

/// The enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE: SchemaDef = SchemaDef {
    id: ENTERPRISE_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attrs: &[
        s("employeeNumber"),
        s("costCenter"),
        s("organization"),
        s("division"),
        s("department"),
        complex(
            "manager",
            &[
                s("value"),
                // Slack's spelling of the manager's id; kept so the slack profile can be
                // rehearsed end to end (RFC clients send `value`).
                s("managerId"),
                typed("$ref", AttrType::Reference),
                AttrDef {
                    mutability: Mutability::ReadOnly,
                    ..s("displayName")
                },
            ],
        ),
    ],
};

static USER_EXTENSIONS: [&SchemaDef; 1] = [&ENTERPRISE];

/// The core Group schema (RFC 7643 §4.2).
pub static GROUP: SchemaDef = SchemaDef {
    id: GROUP_URN,
    name: "Group",
    description: "Group",
    attrs: &[
        AttrDef {
            required: true,
            ..s("displayName")
        },
        multi(
            "members",
            &[
                AttrDef {
                    case_exact: true,
                    mutability: Mutability::Immutable,
                    ..s("value")
                },
                AttrDef {
                    mutability: Mutability::Immutable,
                    ..typed("$ref", AttrType::Reference)
                },
                AttrDef {
                    mutability: Mutability::ReadOnly,
                    ..s("display")
                },
                AttrDef {
                    mutability: Mutability::Immutable,
                    canonical: &["User", "Group"],
                    ..s("type")
                },
            ],
        ),
    ],
};

/// Attributes every resource has (RFC 7643 §3.1), outside any schema's attribute list.
pub static COMMON: &[AttrDef] = &[
    AttrDef {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        unique: true,
        ..s("id")
    },
    AttrDef {
        case_exact: true,
        ..s("externalId")
    },
    AttrDef {
        mutability: Mutability::ReadOnly,
        ..complex(
            "meta",
            &[
                AttrDef {
                    case_exact: true,
                    ..s("resourceType")
                },
                typed("created", AttrType::DateTime),
                typed("lastModified", AttrType::DateTime),
                typed("location", AttrType::Reference),
                AttrDef {
                    case_exact: true,
                    ..s("version")
                },
            ],
        )
    },
];

fn attr_json(a: &AttrDef) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": a.ty.wire(),
        "multiValued": a.multi,
        "description": a.name,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::ReadOnly => "readOnly",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": if a.mutability == Mutability::WriteOnly { "never" } else { "default" },
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if let Some(map) = v.as_object_mut() {
        if !a.sub.is_empty() {
            map.insert(
                "subAttributes".into(),
                Value::Array(a.sub.iter().map(attr_json).collect()),
            );
        }
        if !a.canonical.is_empty() {
            map.insert("canonicalValues".into(), json!(a.canonical));
        }
        if a.ty == AttrType::Reference {
            map.insert(
                "referenceTypes".into(),
                json!(["external", "User", "Group"]),
            );
        }
    }
    v
}

/// The `/Schemas/{id}` document of one schema.
pub fn schema_json(def: &SchemaDef, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": def.id,
        "name": def.name,
        "description": def.description,
        "attributes": def.attrs.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", def.id)},
    })
}

/// Every schema the sandbox serves.
pub fn all_schemas() -> [&'static SchemaDef; 3] {
    [&USER, &ENTERPRISE, &GROUP]
}

/// The `/ResourceTypes/{name}` document of one kind.
pub fn resource_type_json(kind: Kind, base: &str) -> Value {
    let ext: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": kind.core().description,
        "schema": kind.core().id,
        "schemaExtensions": ext,
        "meta": {"resourceType": "ResourceType",
                 "location": format!("{base}/ResourceTypes/{}", kind.name())},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_flags_follow_rfc() {
        let user_name = find(USER.attrs, "USERNAME").map(|a| (a.name, a.case_exact));
        assert_eq!(user_name, Some(("userName", false)));
        let ext = find(COMMON, "externalid").map(|a| a.case_exact);
        assert_eq!(ext, Some(true));
        let emails = find(USER.attrs, "emails");
        assert!(emails.is_some_and(|e| e.multi && e.sub_attr("VALUE").is_some()));
        let doc = schema_json(&USER, "http://x/scim/v2");
        assert_eq!(doc["attributes"][0]["uniqueness"], "server");
    }
}
