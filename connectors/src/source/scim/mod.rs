//! `kind = "scim"`: another SCIM 2.0 service provider read as an HR source — `/Users`
//! paged by `startIndex`/`count` until `totalResults`, flattened for templates, and
//! optionally `/Groups` turned into each person's `groups` list.

mod flatten;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::Value;
use url::Url;

pub use flatten::{flatten_user, ENTERPRISE};

use super::config::{CommonConfig, ScimSourceConfig};
use super::net::{pointer_count, Endpoint, PageGuard};
use super::normalize::{lookup, Normalizer, RawRecord, VendorRules};
use super::{FetchContext, Lifecycle, Position, Source, SourceError, SourceRead};
use crate::http::{HttpClient, Replay, Request};

/// `active` read as a status.
pub fn vendor_rules() -> VendorRules {
    VendorRules {
        fields: Vec::new(),
        statuses: vec![
            ("true", Lifecycle::Active),
            ("false", Lifecycle::Terminated),
        ],
        zero_date_is_none: false,
        offset_dates: false,
    }
}

/// Reads persons from a SCIM service provider.
#[derive(Debug, Clone)]
pub struct ScimSource {
    endpoint: Endpoint,
    base: String,
    include_groups: bool,
    page_size: u32,
    max_pages: u32,
    normalizer: Normalizer,
}

impl ScimSource {
    /// A source for a checked config, sending through `client`.
    pub fn new(
        common: &CommonConfig,
        key: &str,
        config: &ScimSourceConfig,
        client: HttpClient,
    ) -> Self {
        let mut base = config.base_url.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        ScimSource {
            endpoint: Endpoint::new(&common.name, client),
            base,
            include_groups: config.include_groups,
            page_size: config.page_size,
            max_pages: config.max_pages,
            normalizer: Normalizer::new(common, key, &vendor_rules()),
        }
    }

    /// Every resource of one type, page by page until `totalResults`.
    async fn list(&self, resource: &str) -> Result<Vec<Value>, SourceError> {
        let ep = &self.endpoint;
        let mut guard = PageGuard::default();
        let mut all: Vec<Value> = Vec::new();
        loop {
            let what = format!("{resource} page {}", guard.pages() + 1);
            let mut url = Url::parse(&self.base)
                .and_then(|b| b.join(resource))
                .map_err(|e| ep.invalid(format!("base_url: {e}")))?;
            url.query_pairs_mut()
                .append_pair("startIndex", &(all.len() + 1).to_string())
                .append_pair("count", &self.page_size.to_string());
            let req = Request::new(Method::GET, url, Replay::Safe);
            let (_, body) = ep.json(&req, &what).await?;
            let total = pointer_count(&body, "/totalResults")
                .map_err(|m| ep.invalid(format!("{what}: {m}")))?
                .ok_or_else(|| {
                    ep.invalid(format!("{what}: not a ListResponse (no totalResults)"))
                })?;
            let items = match body.get("Resources") {
                Some(Value::Array(a)) => a.clone(),
                None | Some(Value::Null) if total == 0 => Vec::new(),
                None | Some(Value::Null) => {
                    return Err(ep.invalid(format!(
                        "{what}: totalResults is {total} but there are no Resources"
                    )))
                }
                Some(_) => return Err(ep.invalid(format!("{what}: Resources is not an array"))),
            };
            guard
                .page(&items, self.max_pages)
                .map_err(|m| ep.invalid(m))?;
            let n = items.len();
            all.extend(items);
            if all.len() as u64 >= total {
                break;
            }
            if n == 0 {
                return Err(ep.invalid(format!(
                    "{what} is empty but totalResults is {total} and only {} were read",
                    all.len()
                )));
            }
        }
        Ok(all)
    }

    /// User id → display names of the groups that list the user as a member.
    async fn memberships(&self) -> Result<BTreeMap<String, BTreeSet<String>>, SourceError> {
        let mut by_user: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for group in self.list("Groups").await? {
            let name = group
                .get("displayName")
                .or_else(|| group.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if name.is_empty() {
                continue;
            }
            let members = group.get("members").and_then(Value::as_array);
            for m in members.into_iter().flatten() {
                // Nested groups are not expanded: only direct user members count.
                let is_group = m
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("group"));
                if let (Some(id), false) = (m.get("value").and_then(Value::as_str), is_group) {
                    by_user
                        .entry(id.to_string())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
        Ok(by_user)
    }
}

#[async_trait::async_trait]
impl Source for ScimSource {
    fn name(&self) -> &str {
        self.normalizer.source()
    }

    fn kind(&self) -> &'static str {
        "scim"
    }

    async fn fetch(&self, _ctx: &FetchContext) -> Result<SourceRead, SourceError> {
        let users = self.list("Users").await?;
        let groups = if self.include_groups {
            Some(self.memberships().await?)
        } else {
            None
        };
        let mut flat: Vec<Value> = users.iter().map(flatten_user).collect();
        let key_spec = self.normalizer.key_spec().to_string();
        if key_spec != "id" {
            manager_ids_to_keys(&mut flat, &key_spec);
        }
        if let Some(groups) = &groups {
            attach_groups(&mut flat, groups);
        }
        let records = flat
            .into_iter()
            .enumerate()
            .map(|(i, value)| RawRecord {
                position: Position::Index(i as u64),
                value,
            })
            .collect();
        let read = self.normalizer.finish(records, Vec::new());
        tracing::info!(
            source = %self.normalizer.source(),
            persons = read.persons.len(),
            rejected = read.rejected.len(),
            groups = groups.as_ref().map(|g| g.len()).unwrap_or(0),
            "Read SCIM source."
        );
        Ok(read)
    }
}

/// manager.value is the manager's SCIM id; when persons are keyed by something else, point
/// manager_id at the manager's key instead.
fn manager_ids_to_keys(flat: &mut [Value], key_spec: &str) {
    let keys: BTreeMap<String, Value> = flat
        .iter()
        .filter_map(|f| {
            let obj = f.as_object()?;
            let id = obj.get("id")?.as_str()?.to_string();
            Some((id, lookup(obj, key_spec)?.clone()))
        })
        .collect();
    for f in flat.iter_mut() {
        if let Some(obj) = f.as_object_mut() {
            let mapped = obj
                .get("manager_id")
                .and_then(Value::as_str)
                .and_then(|m| keys.get(m).cloned());
            if let Some(k) = mapped {
                obj.insert("manager_id".into(), k);
            }
        }
    }
}

/// Adds each user's group names (by SCIM id) as the `groups` field.
fn attach_groups(flat: &mut [Value], groups: &BTreeMap<String, BTreeSet<String>>) {
    for f in flat.iter_mut() {
        if let Some(obj) = f.as_object_mut() {
            let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
            if let Some(names) = groups.get(id) {
                let list = names.iter().cloned().map(Value::String).collect();
                obj.insert("groups".into(), Value::Array(list));
            }
        }
    }
}
