//! Static checks of a source config: everything that can be known wrong without I/O.
//! Each failure is a [`ConfigProblem`] naming the key inside the source's table.

use std::collections::BTreeMap;

use chrono::format::{Item, StrftimeItems};
use url::Url;

use super::{
    BambooHrConfig, CommonConfig, CsvConfig, GroupRule, HttpJsonConfig, KindConfig, Pagination,
    PersonioConfig, ScimSourceConfig, SourceConfig, WorkdayRaasConfig,
};
use crate::http::{check_url, AuthConfig};

/// A source key whose value cannot work, found without I/O: a configuration error (exit 2);
/// the person editing the config fixes `key`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct ConfigProblem {
    /// The key inside the source's table, e.g. `pagination.limit` or `fields.email`.
    pub key: String,
    /// What is wrong with its value.
    pub why: String,
}

/// A malformed RFC 6901 JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// It is neither empty nor starting with `/`.
    #[error("JSON pointer {0:?} must start with '/'")]
    NoLeadingSlash(String),
    /// A `~` is not an escape.
    #[error("JSON pointer {0:?} has '~' not followed by 0 or 1 (write ~0 for '~', ~1 for '/')")]
    BadEscape(String),
}

/// The problem `why` at `key`.
fn problem(key: impl Into<String>, why: impl ToString) -> ConfigProblem {
    ConfigProblem {
        key: key.into(),
        why: why.to_string(),
    }
}

pub(super) fn validate(config: &SourceConfig) -> Result<(), ConfigProblem> {
    common(&config.common, config.key())?;
    match &config.kind {
        KindConfig::Csv(c) => csv(c),
        KindConfig::HttpJson(c) => http_json(c),
        KindConfig::BambooHr(c) => bamboohr(c),
        KindConfig::WorkdayRaas(c) => workday(c),
        KindConfig::Personio(c) => personio(c),
        KindConfig::Scim(c) => scim(c),
    }
}

fn common(c: &CommonConfig, key: &str) -> Result<(), ConfigProblem> {
    if c.name.trim().is_empty() || c.name.trim() != c.name || c.name.chars().any(char::is_control) {
        return Err(problem(
            "name",
            format!(
                "{:?} must be non-empty, without surrounding spaces or control characters",
                c.name
            ),
        ));
    }
    if key.trim().is_empty() {
        return Err(problem("key", "must not be empty"));
    }
    fields(&c.fields)?;
    status_map(c)?;
    if let Some(r) = c.required.iter().find(|r| r.trim().is_empty()) {
        return Err(problem("required", format!("empty field name {r:?}")));
    }
    if let Some(r) = c.email_fields.iter().find(|r| r.trim().is_empty()) {
        return Err(problem("email_fields", format!("empty field name {r:?}")));
    }
    for f in &c.date_formats {
        date_format(f).map_err(|why| problem("date_formats", why))?;
    }
    Ok(())
}

fn fields(fields: &BTreeMap<String, String>) -> Result<(), ConfigProblem> {
    for (field, spec) in fields {
        if field.trim().is_empty() {
            return Err(problem("fields", "a field name is empty"));
        }
        if spec.is_empty() {
            return Err(problem(
                format!("fields.{field}"),
                "the source field is empty",
            ));
        }
        if spec.starts_with('/') {
            pointer(spec).map_err(|e| problem(format!("fields.{field}"), e))?;
        }
    }
    Ok(())
}

fn status_map(c: &CommonConfig) -> Result<(), ConfigProblem> {
    let mut seen: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    for (value, status) in &c.status_map {
        let folded = value.trim().to_lowercase();
        if folded.is_empty() {
            return Err(problem("status_map", "a source value is empty"));
        }
        if let Some((other, other_status)) = seen.get(&folded) {
            if *other_status != status.as_str() {
                return Err(problem(
                    "status_map",
                    format!(
                        "{other:?} and {value:?} differ only in case but map to different statuses"
                    ),
                ));
            }
        }
        seen.insert(folded, (value.as_str(), status.as_str()));
    }
    Ok(())
}

fn date_format(f: &str) -> Result<(), String> {
    if f.trim().is_empty() {
        return Err("empty format".into());
    }
    if StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
        return Err(format!("{f:?} is not a valid chrono format"));
    }
    Ok(())
}

/// Checks RFC 6901 syntax: "" or `/`-separated tokens where `~` is followed by 0 or 1.
pub(crate) fn pointer(p: &str) -> Result<(), PointerError> {
    if p.is_empty() {
        return Ok(());
    }
    if !p.starts_with('/') {
        return Err(PointerError::NoLeadingSlash(p.to_string()));
    }
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0') | Some('1')) {
            return Err(PointerError::BadEscape(p.to_string()));
        }
    }
    Ok(())
}

fn url(key: &str, raw: &str, allow_insecure_http: bool) -> Result<Url, ConfigProblem> {
    let u =
        Url::parse(raw).map_err(|e| problem(key, format!("{raw:?} is not a valid URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(problem(key, format!("{raw:?} must be an http(s) URL")));
    }
    check_url(&u, allow_insecure_http).map_err(|e| problem(key, e))?;
    Ok(u)
}

fn auth(a: &AuthConfig, allow_insecure_http: bool) -> Result<(), ConfigProblem> {
    if let AuthConfig::Oauth2ClientCredentials {
        token_url,
        client_id,
        ..
    } = a
    {
        url("auth.token_url", token_url, allow_insecure_http)?;
        if client_id.trim().is_empty() {
            return Err(problem("auth.client_id", "must not be empty"));
        }
    }
    if let AuthConfig::ApiKey { header, .. } = a {
        header_name("auth.header", header)?;
    }
    Ok(())
}

fn timeout(secs: u64) -> Result<(), ConfigProblem> {
    if secs == 0 || secs > 3600 {
        return Err(problem(
            "timeout_secs",
            format!("{secs} must be between 1 and 3600"),
        ));
    }
    Ok(())
}

fn positive(key: &str, n: u32) -> Result<(), ConfigProblem> {
    if n == 0 {
        return Err(problem(key, "must be at least 1"));
    }
    Ok(())
}

fn not_empty(key: &str, value: &str) -> Result<(), ConfigProblem> {
    if value.trim().is_empty() {
        return Err(problem(key, "must not be empty"));
    }
    Ok(())
}

fn csv(c: &CsvConfig) -> Result<(), ConfigProblem> {
    if c.path.as_os_str().to_string_lossy().trim().is_empty() {
        return Err(problem("path", "must not be empty"));
    }
    let d = c.delimiter;
    if !d.is_ascii() || matches!(d, '"' | '\n' | '\r') || (d.is_ascii_alphanumeric()) {
        return Err(problem(
            "delimiter",
            format!("{d:?} must be one ASCII punctuation or whitespace character, not a quote or newline"),
        ));
    }
    Ok(())
}

fn header_name(key: &str, name: &str) -> Result<(), ConfigProblem> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| problem(key, format!("{name:?} is not a valid HTTP header name")))
}

fn http_json(c: &HttpJsonConfig) -> Result<(), ConfigProblem> {
    url("url", &c.url, c.allow_insecure_http)?;
    auth(&c.auth, c.allow_insecure_http)?;
    timeout(c.timeout_secs)?;
    positive("max_pages", c.max_pages)?;
    pointer(&c.records_pointer).map_err(|e| problem("records_pointer", e))?;
    for (k, v) in &c.headers {
        header_name("headers", k)?;
        reqwest::header::HeaderValue::from_str(v).map_err(|_| {
            problem(
                format!("headers.{k}"),
                "the value is not a valid header value",
            )
        })?;
    }
    pagination(&c.pagination)
}

/// `pagination.<key>`, when set, is a non-empty, well-formed JSON pointer.
fn page_pointer(key: &str, p: &Option<String>) -> Result<(), ConfigProblem> {
    match p {
        Some(p) if p.is_empty() => Err(problem(format!("pagination.{key}"), "must not be empty")),
        Some(p) => pointer(p).map_err(|e| problem(format!("pagination.{key}"), e)),
        None => Ok(()),
    }
}

/// `pagination.<key>`, when set, is a valid header name.
fn page_header(key: &str, h: &Option<String>) -> Result<(), ConfigProblem> {
    match h {
        Some(h) => header_name(&format!("pagination.{key}"), h),
        None => Ok(()),
    }
}

/// `pagination.<key>`, a query parameter name, is not empty.
fn page_param(key: &str, p: &str) -> Result<(), ConfigProblem> {
    not_empty(&format!("pagination.{key}"), p)
}

/// Checks the keys of whichever pagination style is configured.
fn pagination(p: &Pagination) -> Result<(), ConfigProblem> {
    match p {
        Pagination::None {} => Ok(()),
        Pagination::Offset {
            limit_param,
            offset_param,
            limit,
            total_header,
            total_pointer,
        } => {
            page_param("limit_param", limit_param)?;
            page_param("offset_param", offset_param)?;
            positive("pagination.limit", *limit)?;
            page_header("total_header", total_header)?;
            page_pointer("total_pointer", total_pointer)
        }
        Pagination::Page {
            page_param: param,
            per_page_param,
            per_page,
            first_page: _,
            total_header,
            total_pages_header,
            total_pointer,
            total_pages_pointer,
        } => {
            page_param("page_param", param)?;
            page_param("per_page_param", per_page_param)?;
            positive("pagination.per_page", *per_page)?;
            page_header("total_header", total_header)?;
            page_header("total_pages_header", total_pages_header)?;
            page_pointer("total_pointer", total_pointer)?;
            page_pointer("total_pages_pointer", total_pages_pointer)
        }
        Pagination::Cursor { .. } => cursor_pagination(p),
        Pagination::LinkHeader {
            per_page_param,
            per_page,
            total_header,
        } => {
            if let Some(p) = per_page_param {
                page_param("per_page_param", p)?;
            }
            if let Some(l) = per_page {
                positive("pagination.per_page", *l)?;
            }
            page_header("total_header", total_header)
        }
    }
}

/// Checks a `style = "cursor"` pagination (the only style it is called for).
fn cursor_pagination(p: &Pagination) -> Result<(), ConfigProblem> {
    let Pagination::Cursor {
        cursor_param,
        cursor_pointer,
        next_link_pointer,
        limit_param,
        limit,
        total_header,
        total_pointer,
    } = p
    else {
        return Ok(());
    };
    if cursor_pointer.is_some() == next_link_pointer.is_some() {
        return Err(problem(
            "pagination",
            "style \"cursor\" needs exactly one of cursor_pointer and next_link_pointer",
        ));
    }
    page_param("cursor_param", cursor_param)?;
    page_pointer("cursor_pointer", cursor_pointer)?;
    page_pointer("next_link_pointer", next_link_pointer)?;
    if let Some(p) = limit_param {
        page_param("limit_param", p)?;
    }
    if let Some(l) = limit {
        positive("pagination.limit", *l)?;
    }
    page_header("total_header", total_header)?;
    page_pointer("total_pointer", total_pointer)
}

fn bamboohr(c: &BambooHrConfig) -> Result<(), ConfigProblem> {
    let d = &c.company_domain;
    if d.is_empty() || !d.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
        return Err(problem(
            "company_domain",
            format!("{d:?} must be the BambooHR subdomain (letters, digits, '-')"),
        ));
    }
    if let Some(b) = &c.base_url {
        url("base_url", b, c.allow_insecure_http)?;
    }
    if let Some(f) = c.report_fields.iter().find(|f| f.trim().is_empty()) {
        return Err(problem("report_fields", format!("empty field name {f:?}")));
    }
    if c.full_read_every_hours == 0 {
        return Err(problem("full_read_every_hours", "must be at least 1"));
    }
    timeout(c.timeout_secs)
}

fn workday(c: &WorkdayRaasConfig) -> Result<(), ConfigProblem> {
    url("url", &c.url, c.allow_insecure_http)?;
    not_empty("username", &c.username)?;
    for k in c.prompts.keys() {
        if k.trim().is_empty() {
            return Err(problem("prompts", "a prompt name is empty"));
        }
        if k.eq_ignore_ascii_case("format") {
            return Err(problem(
                "prompts.format",
                "hrsync always asks for format=json",
            ));
        }
    }
    for (group, rule) in &c.group_rules {
        let fields: Vec<&String> = match rule {
            GroupRule::First { field, .. } | GroupRule::Join { field, .. } => vec![field],
            GroupRule::Where {
                field, where_field, ..
            } => vec![field, where_field],
        };
        let key = format!("group_rules.{group}");
        if fields.iter().any(|f| f.trim().is_empty()) {
            return Err(problem(key, "a field name is empty"));
        }
        if rule.output_name(group).trim().is_empty() {
            return Err(problem(key, "the output name is empty"));
        }
    }
    timeout(c.timeout_secs)
}

fn personio(c: &PersonioConfig) -> Result<(), ConfigProblem> {
    url("base_url", &c.base_url, c.allow_insecure_http)?;
    not_empty("client_id", &c.client_id)?;
    if !(1..=100).contains(&c.page_size) {
        return Err(problem(
            "page_size",
            format!(
                "{} must be between 1 and 100 (Personio's limit)",
                c.page_size
            ),
        ));
    }
    timeout(c.timeout_secs)
}

fn scim(c: &ScimSourceConfig) -> Result<(), ConfigProblem> {
    url("base_url", &c.base_url, c.allow_insecure_http)?;
    auth(&c.auth, c.allow_insecure_http)?;
    positive("page_size", c.page_size)?;
    positive("max_pages", c.max_pages)?;
    timeout(c.timeout_secs)
}
