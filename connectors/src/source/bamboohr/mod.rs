//! `kind = "bamboohr"`: full reads through a custom report (falling back to the employee
//! directory), and incremental reads through `/employees/changed` between full reads.

mod managers;
mod watermark;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use url::Url;

pub use watermark::Watermark;

use super::config::{BambooHrConfig, CommonConfig};
use super::net::Endpoint;
use super::normalize::{Normalizer, RawRecord, VendorRules};
use super::{FetchContext, Lifecycle, Position, Source, SourceError, SourceRead};
use crate::http::{HttpClient, Replay, Request, Response};

/// The header in which BambooHR explains an error.
pub const ERROR_HEADER: &str = "X-BambooHR-Error-Message";

/// More changed employees than this are read with one full read instead of one GET each.
pub const MAX_PER_EMPLOYEE_READS: usize = 50;

/// BambooHR's field names mapped onto hrsync's.
pub fn vendor_rules() -> VendorRules {
    VendorRules {
        fields: vec![
            ("email", "workEmail"),
            ("first_name", "firstName"),
            ("last_name", "lastName"),
            ("job_title", "jobTitle"),
            ("employee_number", "employeeNumber"),
            ("start_date", "hireDate"),
            ("end_date", "terminationDate"),
            ("manager_id", "supervisorEId"),
        ],
        statuses: vec![
            ("active", Lifecycle::Active),
            ("inactive", Lifecycle::Terminated),
        ],
        zero_date_is_none: true,
        offset_dates: false,
    }
}

/// Reads persons from BambooHR.
#[derive(Debug, Clone)]
pub struct BambooHrSource {
    endpoint: Endpoint,
    base: String,
    fields: Vec<String>,
    incremental: bool,
    full_read_every_hours: u64,
    key_is_id: bool,
    translate_managers: bool,
    normalizer: Normalizer,
    clock: fn() -> DateTime<Utc>,
}

/// The only place the BambooHR source reads the wall clock: watermarks are wall-clock
/// times shared with the vendor.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> DateTime<Utc> {
    Utc::now()
}

impl BambooHrSource {
    /// A source for a checked config, sending through `client` (basic auth with the key).
    pub fn new(
        common: &CommonConfig,
        key: &str,
        config: &BambooHrConfig,
        client: HttpClient,
    ) -> Self {
        let mut base = config.base_url.clone().unwrap_or_else(|| {
            format!(
                "https://api.bamboohr.com/api/gateway.php/{}/v1/",
                config.company_domain
            )
        });
        if !base.ends_with('/') {
            base.push('/');
        }
        let normalizer = Normalizer::new(common, key, &vendor_rules());
        let key_is_id = normalizer.key_spec() == "id";
        // Only the vendor's default manager field (`supervisorEId`, an employee number)
        // needs translating, and not when the employee number is the key.
        let translate_managers = normalizer.key_spec() != managers::NUMBER_FIELD
            && !common.fields.contains_key("manager_id");
        let mut fields = config.report_fields.clone();
        if !fields.iter().any(|f| f == "id") {
            fields.insert(0, "id".into());
        }
        if translate_managers && !fields.iter().any(|f| f == managers::NUMBER_FIELD) {
            fields.push(managers::NUMBER_FIELD.into());
        }
        let mut endpoint = Endpoint::new(&common.name, client);
        endpoint.error_header = Some(ERROR_HEADER);
        BambooHrSource {
            endpoint,
            base,
            fields,
            incremental: config.incremental,
            full_read_every_hours: config.full_read_every_hours,
            key_is_id,
            translate_managers,
            normalizer,
            clock: wall_clock,
        }
    }

    /// Replaces the wall clock (tests of the full-read schedule).
    pub fn with_clock(mut self, clock: fn() -> DateTime<Utc>) -> Self {
        self.clock = clock;
        self
    }

    fn url(&self, path: &str) -> Result<Url, SourceError> {
        Url::parse(&self.base)
            .and_then(|b| b.join(path))
            .map_err(|e| self.endpoint.invalid(format!("base_url: {e}")))
    }

    /// Runs a custom report of `fields` and returns its employees; `None` when this API key
    /// may not run reports (403/404). `what` names the report in errors.
    async fn custom_report(
        &self,
        title: &str,
        fields: &[String],
        what: &str,
    ) -> Result<Option<Vec<Value>>, SourceError> {
        let url = self.url("reports/custom?format=JSON")?;
        let body = json!({"title": title, "fields": fields});
        // A report request changes nothing, so it may be repeated like a GET.
        let req =
            Request::new(Method::POST, url.clone(), Replay::Safe).json(&body, "application/json");
        let resp = self.endpoint.send(&req).await?;
        if matches!(resp.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
            tracing::warn!(
                source = %self.endpoint.source,
                status = resp.status.as_u16(),
                report = what,
                "Custom report refused."
            );
            return Ok(None);
        }
        self.employees(&resp, &url, what).map(Some)
    }

    /// The `employees` array of a successful answer.
    fn employees(&self, resp: &Response, url: &Url, what: &str) -> Result<Vec<Value>, SourceError> {
        let ep = &self.endpoint;
        if !resp.status.is_success() {
            return Err(ep.status_error(resp, url, what));
        }
        match ep.parse(resp, what)?.get("employees") {
            Some(Value::Array(a)) => Ok(a.clone()),
            _ => Err(ep.invalid(format!("{what}: no `employees` array in the response"))),
        }
    }

    /// Every employee: the custom report, or the directory when reports are refused.
    async fn full_read(&self) -> Result<SourceRead, SourceError> {
        let employees = match self
            .custom_report("hrsync", &self.fields, "custom report")
            .await?
        {
            Some(e) => e,
            None => {
                tracing::info!(source = %self.endpoint.source, "Reading the employee directory instead.");
                let dir = self.url("employees/directory")?;
                let req = Request::new(Method::GET, dir.clone(), Replay::Safe);
                let resp = self.endpoint.send(&req).await?;
                self.employees(&resp, &dir, "employee directory")?
            }
        };
        let mut records: Vec<RawRecord> = employees
            .into_iter()
            .enumerate()
            .map(|(i, value)| RawRecord {
                position: Position::Index(i as u64),
                value,
            })
            .collect();
        if self.translate_managers {
            let known = managers::keys_by_number(&records, self.normalizer.key_spec());
            managers::translate(&mut records, &known);
        }
        Ok(self.normalizer.finish(records, Vec::new()))
    }

    /// Employees changed since the watermark; `None` when a full read is the better answer.
    async fn changed_read(&self, since: &str) -> Result<Option<(SourceRead, String)>, SourceError> {
        let ep = &self.endpoint;
        let Changes {
            latest,
            changed,
            mut deleted,
        } = self.changes_since(since).await?;
        if changed.len() > MAX_PER_EMPLOYEE_READS {
            tracing::info!(source = %ep.source, changed = changed.len(), "Many changes; reading in full.");
            return Ok(None);
        }
        let mut records = Vec::new();
        for id in &changed {
            let Some(value) = self.employee(id).await? else {
                deleted.insert(id.clone());
                continue;
            };
            records.push(RawRecord {
                position: Position::Index(records.len() as u64),
                value,
            });
        }
        if !deleted.is_empty() && !self.key_is_id {
            // Deletions arrive as BambooHR ids; only a full read can tell which keys left.
            tracing::info!(source = %ep.source, "Deletions with a key other than id; reading in full.");
            return Ok(None);
        }
        if self.translate_managers && !self.translate_changed_managers(&mut records).await? {
            return Ok(None);
        }
        let mut read = self.normalizer.finish(records, Vec::new());
        read.complete = false;
        read.deleted_keys = deleted.into_iter().collect();
        Ok(Some((read, latest)))
    }

    /// Asks `employees/changed` which employees changed or left since the watermark.
    async fn changes_since(&self, since: &str) -> Result<Changes, SourceError> {
        let ep = &self.endpoint;
        let mut url = self.url("employees/changed")?;
        url.query_pairs_mut().append_pair("since", since);
        let req = Request::new(Method::GET, url, Replay::Safe);
        let (_, body) = ep.json(&req, "changed employees").await?;
        let latest = body
            .get("latest")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_default();
        let entries: Vec<(String, Value)> = match body.get("employees") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(Value::Array(a)) => a.iter().map(|v| (String::new(), v.clone())).collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(ep.invalid("changed employees: `employees` is not a table")),
        };
        let mut changes = Changes {
            latest,
            ..Changes::default()
        };
        for (map_key, entry) in entries {
            let id = match entry.get("id") {
                Some(Value::String(s)) => s.trim().to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => map_key.trim().to_string(),
            };
            if id.is_empty() {
                return Err(ep.invalid("changed employees: an entry has no id"));
            }
            let action = entry.get("action").and_then(Value::as_str);
            if action.is_some_and(|a| a.eq_ignore_ascii_case("deleted")) {
                changes.deleted.insert(id);
            } else {
                changes.changed.insert(id);
            }
        }
        Ok(changes)
    }

    /// One employee's fields, with its id; `None` when BambooHR no longer knows it.
    async fn employee(&self, id: &str) -> Result<Option<Value>, SourceError> {
        let ep = &self.endpoint;
        let mut url = self.url(&format!("employees/{id}"))?;
        url.query_pairs_mut()
            .append_pair("fields", &self.fields.join(","));
        let req = Request::new(Method::GET, url.clone(), Replay::Safe);
        let resp = ep.send(&req).await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let what = format!("employee {id}");
        if !resp.status.is_success() {
            return Err(ep.status_error(&resp, &url, &what));
        }
        let mut value = ep.parse(&resp, &what)?;
        match value.as_object_mut() {
            Some(obj) => {
                obj.entry("id")
                    .or_insert_with(|| Value::String(id.to_string()));
            }
            None => return Err(ep.invalid(format!("{what}: not a JSON object"))),
        }
        Ok(Some(value))
    }
}

/// What `employees/changed` reported.
#[derive(Debug, Default)]
struct Changes {
    /// The watermark for the next read.
    latest: String,
    /// Ids changed or added.
    changed: BTreeSet<String>,
    /// Ids deleted.
    deleted: BTreeSet<String>,
}

impl BambooHrSource {
    /// Names the managers of changed employees by key. Supervisors are named by employee
    /// number, which no per-employee endpoint takes, so when a supervisor is not among the
    /// changes one small report of every employee's number and key is read. False when
    /// that report is refused: only a full read can then name the managers.
    async fn translate_changed_managers(
        &self,
        records: &mut [RawRecord],
    ) -> Result<bool, SourceError> {
        let key_spec = self.normalizer.key_spec().to_string();
        let mut known = managers::keys_by_number(records, &key_spec);
        if !managers::unresolved(records, &known).is_empty() {
            let mut fields = vec!["id".to_string(), managers::NUMBER_FIELD.to_string()];
            if !fields.contains(&key_spec) {
                fields.push(key_spec.clone());
            }
            let Some(employees) = self
                .custom_report("hrsync supervisors", &fields, "employee numbers report")
                .await?
            else {
                tracing::info!(source = %self.endpoint.source, "Reading in full to name managers.");
                return Ok(false);
            };
            let table: Vec<RawRecord> = employees
                .into_iter()
                .map(|value| RawRecord {
                    position: Position::Unknown,
                    value,
                })
                .collect();
            for (number, key) in managers::keys_by_number(&table, &key_spec) {
                known.entry(number).or_insert(key);
            }
        }
        managers::translate(records, &known);
        Ok(true)
    }
}

#[async_trait::async_trait]
impl Source for BambooHrSource {
    fn name(&self) -> &str {
        self.normalizer.source()
    }

    fn kind(&self) -> &'static str {
        "bamboohr"
    }

    async fn fetch(&self, ctx: &FetchContext) -> Result<SourceRead, SourceError> {
        let started = (self.clock)();
        if !self.incremental {
            return self.full_read().await;
        }
        let previous = Watermark::parse(ctx.watermark.as_deref());
        if let Some(w) = previous
            .filter(|w| !ctx.force_full && !w.full_read_due(started, self.full_read_every_hours))
        {
            if let Some((mut read, latest)) = self.changed_read(&w.since).await? {
                let since = if latest.trim().is_empty() {
                    watermark::iso(started - watermark::OVERLAP)
                } else {
                    latest
                };
                read.watermark = Some(
                    Watermark {
                        since,
                        full_at: w.full_at.clone(),
                    }
                    .encode(),
                );
                tracing::info!(
                    source = %self.normalizer.source(),
                    changed = read.persons.len(),
                    deleted = read.deleted_keys.len(),
                    rejected = read.rejected.len(),
                    "Read BambooHR changes."
                );
                return Ok(read);
            }
        }
        let mut read = self.full_read().await?;
        read.watermark = Some(Watermark::after_full_read(started).encode());
        tracing::info!(
            source = %self.normalizer.source(),
            persons = read.persons.len(),
            rejected = read.rejected.len(),
            "Read BambooHR in full."
        );
        Ok(read)
    }
}
