//! Static checks of a source config: everything that can be known wrong without I/O.

use std::collections::BTreeMap;

use chrono::format::{Item, StrftimeItems};
use url::Url;

use super::{
    BambooHrConfig, CommonConfig, CsvConfig, GroupRule, HttpJsonConfig, KindConfig, Pagination,
    PersonioConfig, ScimSourceConfig, SourceConfig, WorkdayRaasConfig,
};
use crate::http::{check_url, AuthConfig};

pub(super) fn validate(config: &SourceConfig) -> Result<(), String> {
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

fn common(c: &CommonConfig, key: &str) -> Result<(), String> {
    if c.name.trim().is_empty() || c.name.trim() != c.name || c.name.chars().any(char::is_control) {
        return Err(format!(
            "name: {:?} must be non-empty, without surrounding spaces or control characters",
            c.name
        ));
    }
    if key.trim().is_empty() {
        return Err("key: must not be empty".into());
    }
    for (field, spec) in &c.fields {
        if field.trim().is_empty() {
            return Err("fields: a field name is empty".into());
        }
        if spec.is_empty() {
            return Err(format!("fields.{field}: the source field is empty"));
        }
        if spec.starts_with('/') {
            pointer(spec).map_err(|e| format!("fields.{field}: {e}"))?;
        }
    }
    let mut seen: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    for (value, status) in &c.status_map {
        let folded = value.trim().to_lowercase();
        if folded.is_empty() {
            return Err("status_map: a source value is empty".into());
        }
        if let Some((other, other_status)) = seen.get(&folded) {
            if *other_status != status.as_str() {
                return Err(format!(
                    "status_map: {other:?} and {value:?} differ only in case but map to different statuses"
                ));
            }
        }
        seen.insert(folded, (value.as_str(), status.as_str()));
    }
    if let Some(r) = c.required.iter().find(|r| r.trim().is_empty()) {
        return Err(format!("required: empty field name {r:?}"));
    }
    if let Some(r) = c.email_fields.iter().find(|r| r.trim().is_empty()) {
        return Err(format!("email_fields: empty field name {r:?}"));
    }
    for f in &c.date_formats {
        date_format(f).map_err(|e| format!("date_formats: {e}"))?;
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
pub(crate) fn pointer(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Ok(());
    }
    if !p.starts_with('/') {
        return Err(format!("JSON pointer {p:?} must start with '/'"));
    }
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0') | Some('1')) {
            return Err(format!(
                "JSON pointer {p:?} has '~' not followed by 0 or 1 (write ~0 for '~', ~1 for '/')"
            ));
        }
    }
    Ok(())
}

fn url(key: &str, raw: &str, allow_insecure_http: bool) -> Result<Url, String> {
    let u = Url::parse(raw).map_err(|e| format!("{key}: {raw:?} is not a valid URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("{key}: {raw:?} must be an http(s) URL"));
    }
    check_url(&u, allow_insecure_http).map_err(|e| format!("{key}: {e}"))?;
    Ok(u)
}

fn auth(a: &AuthConfig, allow_insecure_http: bool) -> Result<(), String> {
    if let AuthConfig::Oauth2ClientCredentials {
        token_url,
        client_id,
        ..
    } = a
    {
        url("auth.token_url", token_url, allow_insecure_http)?;
        if client_id.trim().is_empty() {
            return Err("auth.client_id: must not be empty".into());
        }
    }
    if let AuthConfig::ApiKey { header, .. } = a {
        header_name("auth.header", header)?;
    }
    Ok(())
}

fn timeout(secs: u64) -> Result<(), String> {
    if secs == 0 || secs > 3600 {
        return Err(format!("timeout_secs: {secs} must be between 1 and 3600"));
    }
    Ok(())
}

fn positive(key: &str, n: u32) -> Result<(), String> {
    if n == 0 {
        return Err(format!("{key}: must be at least 1"));
    }
    Ok(())
}

fn csv(c: &CsvConfig) -> Result<(), String> {
    if c.path.as_os_str().is_empty() {
        return Err("path: must not be empty".into());
    }
    let d = c.delimiter;
    if !d.is_ascii() || matches!(d, '"' | '\n' | '\r') || (d.is_ascii_alphanumeric()) {
        return Err(format!(
            "delimiter: {d:?} must be one ASCII punctuation or whitespace character, not a quote or newline"
        ));
    }
    Ok(())
}

fn header_name(key: &str, name: &str) -> Result<(), String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| format!("{key}: {name:?} is not a valid HTTP header name"))
}

fn http_json(c: &HttpJsonConfig) -> Result<(), String> {
    url("url", &c.url, c.allow_insecure_http)?;
    auth(&c.auth, c.allow_insecure_http)?;
    timeout(c.timeout_secs)?;
    positive("max_pages", c.max_pages)?;
    pointer(&c.records_pointer).map_err(|e| format!("records_pointer: {e}"))?;
    for (k, v) in &c.headers {
        header_name("headers", k)?;
        reqwest::header::HeaderValue::from_str(v)
            .map_err(|_| format!("headers.{k}: the value is not a valid header value"))?;
    }
    let ptr = |key: &str, p: &Option<String>| -> Result<(), String> {
        match p {
            Some(p) if p.is_empty() => Err(format!("pagination.{key}: must not be empty")),
            Some(p) => pointer(p).map_err(|e| format!("pagination.{key}: {e}")),
            None => Ok(()),
        }
    };
    let hdr = |key: &str, h: &Option<String>| -> Result<(), String> {
        match h {
            Some(h) => header_name(&format!("pagination.{key}"), h),
            None => Ok(()),
        }
    };
    let param = |key: &str, p: &str| -> Result<(), String> {
        if p.trim().is_empty() {
            Err(format!("pagination.{key}: must not be empty"))
        } else {
            Ok(())
        }
    };
    match &c.pagination {
        Pagination::None {} => {}
        Pagination::Offset {
            limit_param,
            offset_param,
            limit,
            total_header,
            total_pointer,
        } => {
            param("limit_param", limit_param)?;
            param("offset_param", offset_param)?;
            positive("pagination.limit", *limit)?;
            hdr("total_header", total_header)?;
            ptr("total_pointer", total_pointer)?;
        }
        Pagination::Page {
            page_param,
            per_page_param,
            per_page,
            first_page: _,
            total_header,
            total_pages_header,
            total_pointer,
            total_pages_pointer,
        } => {
            param("page_param", page_param)?;
            param("per_page_param", per_page_param)?;
            positive("pagination.per_page", *per_page)?;
            hdr("total_header", total_header)?;
            hdr("total_pages_header", total_pages_header)?;
            ptr("total_pointer", total_pointer)?;
            ptr("total_pages_pointer", total_pages_pointer)?;
        }
        Pagination::Cursor {
            cursor_param,
            cursor_pointer,
            next_link_pointer,
            limit_param,
            limit,
            total_header,
            total_pointer,
        } => {
            match (cursor_pointer, next_link_pointer) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(
                        "pagination: style \"cursor\" needs exactly one of cursor_pointer and next_link_pointer"
                            .into(),
                    )
                }
                _ => {}
            }
            param("cursor_param", cursor_param)?;
            ptr("cursor_pointer", cursor_pointer)?;
            ptr("next_link_pointer", next_link_pointer)?;
            if let Some(p) = limit_param {
                param("limit_param", p)?;
            }
            if let Some(l) = limit {
                positive("pagination.limit", *l)?;
            }
            hdr("total_header", total_header)?;
            ptr("total_pointer", total_pointer)?;
        }
        Pagination::LinkHeader {
            per_page_param,
            per_page,
            total_header,
        } => {
            if let Some(p) = per_page_param {
                param("per_page_param", p)?;
            }
            if let Some(l) = per_page {
                positive("pagination.per_page", *l)?;
            }
            hdr("total_header", total_header)?;
        }
    }
    Ok(())
}

fn bamboohr(c: &BambooHrConfig) -> Result<(), String> {
    let d = &c.company_domain;
    if d.is_empty() || !d.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
        return Err(format!(
            "company_domain: {d:?} must be the BambooHR subdomain (letters, digits, '-')"
        ));
    }
    if let Some(b) = &c.base_url {
        url("base_url", b, c.allow_insecure_http)?;
    }
    if let Some(f) = c.report_fields.iter().find(|f| f.trim().is_empty()) {
        return Err(format!("report_fields: empty field name {f:?}"));
    }
    if c.full_read_every_hours == 0 {
        return Err("full_read_every_hours: must be at least 1".into());
    }
    timeout(c.timeout_secs)
}

fn workday(c: &WorkdayRaasConfig) -> Result<(), String> {
    url("url", &c.url, c.allow_insecure_http)?;
    if c.username.trim().is_empty() {
        return Err("username: must not be empty".into());
    }
    for k in c.prompts.keys() {
        if k.trim().is_empty() {
            return Err("prompts: a prompt name is empty".into());
        }
        if k.eq_ignore_ascii_case("format") {
            return Err("prompts.format: hrsync always asks for format=json".into());
        }
    }
    for (group, rule) in &c.group_rules {
        let fields: Vec<&String> = match rule {
            GroupRule::First { field, .. } | GroupRule::Join { field, .. } => vec![field],
            GroupRule::Where {
                field, where_field, ..
            } => vec![field, where_field],
        };
        if fields.iter().any(|f| f.trim().is_empty()) {
            return Err(format!("group_rules.{group}: a field name is empty"));
        }
        if rule.output_name(group).trim().is_empty() {
            return Err(format!("group_rules.{group}: the output name is empty"));
        }
    }
    timeout(c.timeout_secs)
}

fn personio(c: &PersonioConfig) -> Result<(), String> {
    url("base_url", &c.base_url, c.allow_insecure_http)?;
    if c.client_id.trim().is_empty() {
        return Err("client_id: must not be empty".into());
    }
    if !(1..=100).contains(&c.page_size) {
        return Err(format!(
            "page_size: {} must be between 1 and 100 (Personio's limit)",
            c.page_size
        ));
    }
    timeout(c.timeout_secs)
}

fn scim(c: &ScimSourceConfig) -> Result<(), String> {
    url("base_url", &c.base_url, c.allow_insecure_http)?;
    auth(&c.auth, c.allow_insecure_http)?;
    positive("page_size", c.page_size)?;
    positive("max_pages", c.max_pages)?;
    timeout(c.timeout_secs)
}
