//! `kind = "http_json"`: any JSON API — records at a JSON pointer, fields by pointer or
//! name, several paging styles, and a read that fails loudly (never "zero employees")
//! when the pages contradict themselves.

mod link;
mod paging;

use reqwest::Method;
use serde_json::Value;
use url::Url;

pub use link::next_link;
use paging::{PageSeen, Pager};

use super::config::{CommonConfig, HttpJsonConfig, Pagination};
use super::net::{Endpoint, PageGuard};
use super::normalize::{pointer, Normalizer, RawRecord, VendorRules};
use super::{FetchContext, Position, Source, SourceError, SourceRead};
use crate::http::{HttpClient, Replay, Request};

/// Reads persons from a paged JSON API.
#[derive(Debug, Clone)]
pub struct HttpJsonSource {
    endpoint: Endpoint,
    url: String,
    records_pointer: String,
    pagination: Pagination,
    max_pages: u32,
    normalizer: Normalizer,
}

impl HttpJsonSource {
    /// A source for a checked config, sending through `client`.
    pub fn new(
        common: &CommonConfig,
        key: &str,
        config: &HttpJsonConfig,
        client: HttpClient,
    ) -> Self {
        HttpJsonSource {
            endpoint: Endpoint::new(&common.name, client),
            url: config.url.clone(),
            records_pointer: config.records_pointer.clone(),
            pagination: config.pagination.clone(),
            max_pages: config.max_pages,
            normalizer: Normalizer::new(common, key, &VendorRules::default()),
        }
    }
}

/// Takes the records array out of one page.
pub(crate) fn records_at(body: Value, ptr: &str, what: &str) -> Result<Vec<Value>, String> {
    let found = if ptr.is_empty() {
        Some(body)
    } else {
        pointer(&body, ptr).cloned()
    };
    let shown = if ptr.is_empty() { "the body" } else { ptr };
    match found {
        Some(Value::Array(items)) => Ok(items),
        None => Err(format!(
            "{what}: records_pointer {shown:?} not found in the response"
        )),
        Some(other) => Err(format!(
            "{what}: {shown} is {}, not an array of records",
            match other {
                Value::Object(_) => "an object",
                Value::Null => "null",
                Value::String(_) => "a string",
                _ => "a scalar",
            }
        )),
    }
}

#[async_trait::async_trait]
impl Source for HttpJsonSource {
    fn name(&self) -> &str {
        self.normalizer.source()
    }

    fn kind(&self) -> &'static str {
        "http_json"
    }

    async fn fetch(&self, _ctx: &FetchContext) -> Result<SourceRead, SourceError> {
        let ep = &self.endpoint;
        let base = Url::parse(&self.url).map_err(|e| ep.invalid(format!("url: {e}")))?;
        let mut pager = Pager::new(&self.pagination, base);
        let mut url = pager.first();
        let mut guard = PageGuard::default();
        let mut records: Vec<RawRecord> = Vec::new();
        loop {
            let what = format!("page {}", guard.pages() + 1);
            let req = Request::new(Method::GET, url.clone(), Replay::Safe);
            let (resp, body) = ep.json(&req, &what).await?;
            let items = records_at(body.clone(), &self.records_pointer, &what)
                .map_err(|m| ep.invalid(m))?;
            guard
                .page(&items, self.max_pages)
                .map_err(|m| ep.invalid(m))?;
            let n = items.len();
            for value in items {
                records.push(RawRecord {
                    position: Position::Index(records.len() as u64),
                    value,
                });
            }
            let seen = PageSeen {
                url: &url,
                response: &resp,
                body: &body,
                records: n,
                collected: records.len() as u64,
            };
            match pager.next(&seen).map_err(|m| ep.invalid(m))? {
                Some(next) => url = next,
                None => break,
            }
        }
        let read = self.normalizer.finish(records, Vec::new());
        tracing::info!(
            source = %self.normalizer.source(),
            pages = guard.pages(),
            persons = read.persons.len(),
            rejected = read.rejected.len(),
            "Read HTTP JSON source."
        );
        Ok(read)
    }
}
