//! The keys of each source kind, as `deny_unknown_fields` structs whose doc comments are
//! the user reference; defaults are given by functions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::http::AuthConfig;
use crate::secret::SecretRef;

fn default_timeout_secs() -> u64 {
    30
}
fn default_delimiter() -> char {
    ','
}
fn no_auth() -> AuthConfig {
    AuthConfig::None
}
fn default_max_pages() -> u32 {
    10_000
}
fn default_limit_param() -> String {
    "limit".into()
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_page_param() -> String {
    "page".into()
}
fn default_per_page_param() -> String {
    "per_page".into()
}
fn default_page_size() -> u32 {
    100
}
fn default_first_page() -> u32 {
    1
}
fn default_cursor_param() -> String {
    "cursor".into()
}
fn default_separator() -> String {
    ", ".into()
}
fn default_full_read_every_hours() -> u64 {
    24
}
fn default_personio_base_url() -> String {
    "https://api.personio.de".into()
}

/// The BambooHR fields read by default: enough for the lifecycle and common templates.
pub fn default_bamboohr_fields() -> Vec<String> {
    [
        "id",
        "employeeNumber",
        "firstName",
        "lastName",
        "workEmail",
        "department",
        "jobTitle",
        "status",
        "hireDate",
        "terminationDate",
        "supervisorEId",
        "lastChanged",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Text encoding of a CSV file. Only UTF-8 is read (a byte-order mark is tolerated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvEncoding {
    /// UTF-8, with or without a byte-order mark (`utf-8`, any case, or `utf8`).
    #[default]
    Utf8,
}

impl<'de> Deserialize<'de> for CsvEncoding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.eq_ignore_ascii_case("utf-8") || s.eq_ignore_ascii_case("utf8") {
            Ok(CsvEncoding::Utf8)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported encoding `{s}`: only `utf-8` is read (export the file as UTF-8)"
            )))
        }
    }
}

/// A path that names something: an empty one would be read relative to the config's
/// directory, which is not a file.
fn non_empty_path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(serde::de::Error::custom("must not be empty"));
    }
    Ok(PathBuf::from(s))
}

/// `kind = "csv"`: a file with a header row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// Path of the CSV file, read in full on every cycle.
    #[serde(deserialize_with = "non_empty_path")]
    pub path: PathBuf,
    /// Field delimiter, one ASCII character (default `,`; `;` and `\t` are common).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Text encoding: only `utf-8` (a byte-order mark is tolerated). Export as UTF-8.
    #[serde(default)]
    pub encoding: CsvEncoding,
}

/// How an HTTP JSON API splits its records across pages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One response holds every record.
    None {},
    /// `?limit=&offset=`; the offset advances by the records received.
    Offset {
        /// Name of the page-size parameter.
        #[serde(default = "default_limit_param")]
        limit_param: String,
        /// Name of the offset parameter.
        #[serde(default = "default_offset_param")]
        offset_param: String,
        /// Records requested per page.
        #[serde(default = "default_page_size")]
        limit: u32,
        /// Response header carrying the total record count (e.g. `X-Total-Count`).
        #[serde(default)]
        total_header: Option<String>,
        /// JSON pointer to the total record count in the body (e.g. `/meta/total`).
        #[serde(default)]
        total_pointer: Option<String>,
    },
    /// `?page=&per_page=` (Gusto uses `per` and `X-Total-Pages`).
    Page {
        /// Name of the page-number parameter.
        #[serde(default = "default_page_param")]
        page_param: String,
        /// Name of the page-size parameter.
        #[serde(default = "default_per_page_param")]
        per_page_param: String,
        /// Records requested per page.
        #[serde(default = "default_page_size")]
        per_page: u32,
        /// Number of the first page (1 for most APIs, sometimes 0).
        #[serde(default = "default_first_page")]
        first_page: u32,
        /// Response header carrying the total record count (e.g. `X-Total-Count`).
        #[serde(default)]
        total_header: Option<String>,
        /// Response header carrying the number of pages (e.g. `X-Total-Pages`).
        #[serde(default)]
        total_pages_header: Option<String>,
        /// JSON pointer to the total record count in the body.
        #[serde(default)]
        total_pointer: Option<String>,
        /// JSON pointer to the number of pages in the body.
        #[serde(default)]
        total_pages_pointer: Option<String>,
    },
    /// A cursor or a next-page URL found in the body; set exactly one of `cursor_pointer`
    /// and `next_link_pointer`.
    Cursor {
        /// Query parameter that carries the cursor on the next request.
        #[serde(default = "default_cursor_param")]
        cursor_param: String,
        /// JSON pointer to the next cursor in the body (absent, null or "" = last page).
        #[serde(default)]
        cursor_pointer: Option<String>,
        /// JSON pointer to the next page's URL in the body (absent, null or "" = last page).
        #[serde(default)]
        next_link_pointer: Option<String>,
        /// Name of the page-size parameter, if the API takes one.
        #[serde(default)]
        limit_param: Option<String>,
        /// Records requested per page (sent only with `limit_param`).
        #[serde(default)]
        limit: Option<u32>,
        /// Response header carrying the total record count.
        #[serde(default)]
        total_header: Option<String>,
        /// JSON pointer to the total record count in the body.
        #[serde(default)]
        total_pointer: Option<String>,
    },
    /// RFC 8288 `Link: <url>; rel="next"` response headers.
    LinkHeader {
        /// Name of the page-size parameter added to the first request, if any.
        #[serde(default)]
        per_page_param: Option<String>,
        /// Records requested per page (sent only with `per_page_param`).
        #[serde(default)]
        per_page: Option<u32>,
        /// Response header carrying the total record count (e.g. `X-Total-Count`).
        #[serde(default)]
        total_header: Option<String>,
    },
}

impl Default for Pagination {
    fn default() -> Self {
        Pagination::None {}
    }
}

/// `kind = "http_json"`: any JSON API over HTTPS.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpJsonConfig {
    /// URL of the first page (query parameters kept; paging parameters added).
    pub url: String,
    /// Authentication: `{ kind = "bearer" | "basic" | "api_key" |
    /// "oauth2_client_credentials" | "none", ... }`.
    #[serde(default = "no_auth")]
    pub auth: AuthConfig,
    /// Extra request headers (not secrets: put credentials in `auth`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// RFC 6901 pointer to the array of records in each response ("" = the body itself).
    #[serde(default)]
    pub records_pointer: String,
    /// Paging scheme: `{ style = "none" | "offset" | "page" | "cursor" | "link_header", ... }`.
    #[serde(default)]
    pub pagination: Pagination,
    /// A read needing more pages than this is treated as a broken response.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Bound on each HTTP attempt, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Allow `http://` to a host other than loopback.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// `kind = "bamboohr"`: the BambooHR REST API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BambooHrConfig {
    /// The company's BambooHR subdomain (`acme` for acme.bamboohr.com).
    pub company_domain: String,
    /// API key (sent as the HTTP Basic user name).
    pub api_key: SecretRef,
    /// API base; default `https://api.bamboohr.com/api/gateway.php/{company_domain}/v1/`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Fields requested in the custom report (`id` is always added, and `employeeNumber`
    /// when `supervisorEId`, the supervisor's employee number, must be turned into a key).
    #[serde(default = "default_bamboohr_fields")]
    pub report_fields: Vec<String>,
    /// Read only employees changed since the last read (`/employees/changed`) between
    /// full reads.
    #[serde(default)]
    pub incremental: bool,
    /// With `incremental`, do a full read at least this often, in hours.
    #[serde(default = "default_full_read_every_hours")]
    pub full_read_every_hours: u64,
    /// Bound on each HTTP attempt, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Allow `http://` to a host other than loopback.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// How a Workday `*_group` array (a multi-instance field) becomes one value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "take", rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupRule {
    /// The `field` of the first entry.
    First {
        /// Sub-field read from each entry (name, pointer or dotted path).
        field: String,
        /// Output field name; default the group's name without `_group`.
        #[serde(default)]
        into: Option<String>,
    },
    /// Every entry's `field`, joined with `separator`.
    Join {
        /// Sub-field read from each entry.
        field: String,
        /// Text between values.
        #[serde(default = "default_separator")]
        separator: String,
        /// Output field name; default the group's name without `_group`.
        #[serde(default)]
        into: Option<String>,
    },
    /// The `field` of the first entry whose `where_field` equals `equals`
    /// (case-insensitive), e.g. the e-mail whose usage type is `WORK`.
    Where {
        /// Sub-field read from the chosen entry.
        field: String,
        /// Sub-field compared.
        where_field: String,
        /// Value it must have.
        equals: String,
        /// Output field name; default the group's name without `_group`.
        #[serde(default)]
        into: Option<String>,
    },
}

impl GroupRule {
    /// The field name the flattened value is stored under for group `group`.
    pub fn output_name(&self, group: &str) -> String {
        let into = match self {
            GroupRule::First { into, .. }
            | GroupRule::Join { into, .. }
            | GroupRule::Where { into, .. } => into,
        };
        match into {
            Some(name) => name.clone(),
            None => group.strip_suffix("_group").unwrap_or(group).to_string(),
        }
    }
}

/// `kind = "workday_raas"`: a Workday custom report exposed as a web service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkdayRaasConfig {
    /// Report URL, `https://{host}/ccx/service/customreport2/{tenant}/{owner}/{report}`.
    pub url: String,
    /// Integration System User name (HTTP Basic).
    pub username: String,
    /// The ISU's password.
    pub password: SecretRef,
    /// Report prompts, sent as query parameters (e.g. `"Worker_Type!WID" = "..."`).
    #[serde(default)]
    pub prompts: BTreeMap<String, String>,
    /// `*_group` column → how to flatten it into one value.
    #[serde(default)]
    pub group_rules: BTreeMap<String, GroupRule>,
    /// Bound on each HTTP attempt, in seconds (large reports take a while).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Allow `http://` to a host other than loopback.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// `kind = "personio"`: the Personio v1 API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonioConfig {
    /// API client id.
    pub client_id: String,
    /// API client secret.
    pub client_secret: SecretRef,
    /// API base (default `https://api.personio.de`).
    #[serde(default = "default_personio_base_url")]
    pub base_url: String,
    /// Employees per page, at most 100 (Personio's limit).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Bound on each HTTP attempt, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Allow `http://` to a host other than loopback.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// `kind = "scim"`: another SCIM 2.0 service provider read as a source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSourceConfig {
    /// SCIM base URL (the one `/Users` is under).
    pub base_url: String,
    /// Authentication, as for `http_json`.
    #[serde(default = "no_auth")]
    pub auth: AuthConfig,
    /// Also read `/Groups` and give each person a `groups` list of display names.
    #[serde(default)]
    pub include_groups: bool,
    /// Resources requested per page (`count`).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// A read needing more pages than this is treated as a broken response.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Bound on each HTTP attempt, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Allow `http://` to a host other than loopback.
    #[serde(default)]
    pub allow_insecure_http: bool,
}
