//! `kind = "workday_raas"`: a Workday custom report fetched as JSON with basic auth for the
//! Integration System User; prompts become query parameters, `*_group` arrays are
//! flattened by rules, and `Worker_Status` is read through the status vocabulary.

mod groups;

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::Value;
use url::Url;

pub use groups::flatten;

use super::config::{CommonConfig, GroupRule, WorkdayRaasConfig};
use super::net::Endpoint;
use super::normalize::{Normalizer, RawRecord, VendorRules};
use super::{FetchContext, Lifecycle, Position, Source, SourceError, SourceRead};
use crate::http::{HttpClient, Replay, Request};

/// Common report aliases mapped onto hrsync's names; report authors choose aliases, so
/// `fields` overrides any of these.
pub fn vendor_rules() -> VendorRules {
    VendorRules {
        fields: vec![
            ("employee_id", "Employee_ID"),
            ("status", "Worker_Status"),
            ("start_date", "Hire_Date"),
            ("end_date", "Termination_Date"),
            ("manager_id", "Manager_ID"),
            ("email", "Email_Address"),
            ("first_name", "First_Name"),
            ("last_name", "Last_Name"),
        ],
        statuses: vec![
            ("active", Lifecycle::Active),
            ("terminated", Lifecycle::Terminated),
            ("on leave", Lifecycle::Leave),
            ("leave of absence", Lifecycle::Leave),
        ],
        zero_date_is_none: false,
        offset_dates: true,
    }
}

/// Reads persons from a Workday RaaS report.
#[derive(Debug, Clone)]
pub struct WorkdayRaasSource {
    endpoint: Endpoint,
    url: String,
    prompts: BTreeMap<String, String>,
    group_rules: BTreeMap<String, GroupRule>,
    normalizer: Normalizer,
}

impl WorkdayRaasSource {
    /// A source for a checked config, sending through `client` (basic auth for the ISU).
    pub fn new(
        common: &CommonConfig,
        key: &str,
        config: &WorkdayRaasConfig,
        client: HttpClient,
    ) -> Self {
        WorkdayRaasSource {
            endpoint: Endpoint::new(&common.name, client),
            url: config.url.clone(),
            prompts: config.prompts.clone(),
            group_rules: config.group_rules.clone(),
            normalizer: Normalizer::new(common, key, &vendor_rules()),
        }
    }

    /// The report URL with the prompts and `format=json`.
    pub fn report_url(&self) -> Result<Url, SourceError> {
        let mut url =
            Url::parse(&self.url).map_err(|e| self.endpoint.invalid(format!("url: {e}")))?;
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| {
                !k.eq_ignore_ascii_case("format") && !self.prompts.contains_key(k.as_ref())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = url.query_pairs_mut();
            q.clear();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            for (k, v) in &self.prompts {
                q.append_pair(k, v);
            }
            q.append_pair("format", "json");
        }
        Ok(url)
    }
}

#[async_trait::async_trait]
impl Source for WorkdayRaasSource {
    fn name(&self) -> &str {
        self.normalizer.source()
    }

    fn kind(&self) -> &'static str {
        "workday_raas"
    }

    async fn fetch(&self, _ctx: &FetchContext) -> Result<SourceRead, SourceError> {
        let ep = &self.endpoint;
        let req = Request::new(Method::GET, self.report_url()?, Replay::Safe);
        let (_, body) = ep.json(&req, "report").await?;
        let entries = match body.get("Report_Entry") {
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(ep.invalid("report: Report_Entry is not an array")),
            None => {
                return Err(ep.invalid(
                    "report: no Report_Entry in the response (is the report an Advanced report enabled as a web service?)",
                ))
            }
        };
        let records = entries
            .into_iter()
            .enumerate()
            .map(|(i, mut value)| {
                if let Some(obj) = value.as_object_mut() {
                    flatten(obj, &self.group_rules);
                }
                RawRecord {
                    position: Position::Index(i as u64),
                    value,
                }
            })
            .collect();
        let read = self.normalizer.finish(records, Vec::new());
        tracing::info!(
            source = %self.normalizer.source(),
            persons = read.persons.len(),
            rejected = read.rejected.len(),
            "Read Workday report."
        );
        Ok(read)
    }
}
