//! Reading whole lists (RFC 7644 §3.4.2): `startIndex`/`count` pages stopped by
//! `totalResults` and by empty or repeated pages, `cursor`/`nextCursor` pages, or a single
//! unpaged answer, per the app's profile. Resources are de-duplicated by id, because pages
//! can shift while they are read.

use std::collections::BTreeSet;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::client::{lock, ScimClient};
use super::error::ScimError;
use super::filter::Filter;
use super::profiles::Pagination;
use super::resource::id;
use super::value::get_ci;
use crate::http::{Replay, Response};

/// Everything but the RFC 3986 unreserved characters is encoded, spaces as `%20` (not
/// `+`, which some servers read literally).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Optional list parameters (RFC 7644 §3.4.2) some servers refuse, with an error rather
/// than by ignoring them. A list refused while carrying some is asked once more without
/// them; when that answer is a success, the client leaves them out from then on.
const DROPPABLE: &[&str] = &[
    "count",
    "attributes",
    "excludedAttributes",
    "sortBy",
    "sortOrder",
];

/// True for answers that may be a refusal of a parameter: a client error other than
/// authentication, absence or throttling, or a plain 500/501 (some servers crash on an
/// unexpected parameter). 502-504 and 503 are the transport's to retry.
fn may_refuse_params(status: u16) -> bool {
    match status {
        401 | 403 | 404 | 408 | 409 | 429 => false,
        400..=501 => true,
        _ => false,
    }
}

/// Upper bound on pages read in one listing, against servers that never stop.
const MAX_PAGES: usize = 100_000;

/// Sets the query string from pairs, percent-encoding the values.
pub(crate) fn set_query(url: &mut Url, pairs: &[(&str, String)]) {
    if pairs.is_empty() {
        url.set_query(None);
        return;
    }
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    url.set_query(Some(&q.join("&")));
}

/// The resources of a list response (`Resources` in any case, or a bare array).
fn resources_of(body: &Value) -> Option<Vec<Value>> {
    match body {
        Value::Array(a) => Some(a.clone()),
        Value::Object(o) => match get_ci(o, "Resources") {
            Some(Value::Array(a)) => Some(a.clone()),
            Some(Value::Null) | None => Some(Vec::new()),
            Some(_) => None,
        },
        _ => None,
    }
}

fn number_of(body: &Value, key: &str) -> Option<usize> {
    let v = get_ci(body.as_object()?, key)?;
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn next_cursor(body: &Value) -> Option<String> {
    body.as_object()
        .and_then(|o| get_ci(o, "nextCursor"))
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// Told the number of resources of each page as it arrives (progress of a long read).
pub type OnPage<'a> = &'a (dyn Fn(usize) + Send + Sync);

/// Resources gathered across pages, each kept once: pages can shift while they are read.
#[derive(Default)]
struct Gathered<'a> {
    out: Vec<Value>,
    seen: BTreeSet<String>,
    on_page: Option<OnPage<'a>>,
}

impl Gathered<'_> {
    /// Keeps the resources not seen before; returns how many that was.
    fn keep_new(&mut self, page: Vec<Value>) -> usize {
        if let Some(hook) = self.on_page {
            hook(page.len());
        }
        let mut fresh = 0usize;
        for r in page {
            let key = id(&r).map_or_else(|| r.to_string(), str::to_string);
            if self.seen.insert(key) {
                self.out.push(r);
                fresh += 1;
            }
        }
        fresh
    }
}

impl ScimClient {
    /// Lists every resource of an endpoint (`Users`, `Groups`), optionally filtered by the
    /// server; the caller verifies filter results itself.
    pub(crate) async fn list(
        &self,
        op: &'static str,
        endpoint: &str,
        filter: Option<&Filter>,
    ) -> Result<Vec<Value>, ScimError> {
        self.list_observed(op, endpoint, filter, None).await
    }

    /// [`ScimClient::list`], telling `on_page` the size of each page as it arrives.
    pub(crate) async fn list_observed(
        &self,
        op: &'static str,
        endpoint: &str,
        filter: Option<&Filter>,
        on_page: Option<OnPage<'_>>,
    ) -> Result<Vec<Value>, ScimError> {
        let profile = &self.inner.profile;
        if filter.is_none() && profile.filter_required {
            return Err(ScimError::Unsupported {
                app: self.inner.app.clone(),
                op,
                detail: format!("{} lists {endpoint} only with a filter", profile.name),
            });
        }
        let mut base: Vec<(&str, String)> = Vec::new();
        if let Some(f) = filter {
            base.push(("filter", f.to_string()));
        }
        let mut gathered = Gathered {
            on_page,
            ..Gathered::default()
        };
        match profile.pagination {
            Pagination::None => {
                let page = self.page(op, endpoint, &base).await?.0;
                gathered.keep_new(page);
            }
            Pagination::Index { max_count } => {
                self.list_by_index(op, endpoint, base, max_count, &mut gathered)
                    .await?
            }
            Pagination::Cursor { max_count } => {
                self.list_by_cursor(op, endpoint, base, max_count, &mut gathered)
                    .await?
            }
        }
        Ok(gathered.out)
    }

    /// The `count` asked for per page: the profile's, lowered to the app's `maxResults`.
    fn page_size(&self, max_count: usize) -> String {
        let cap = self.capabilities().and_then(|c| c.filter.max_results);
        cap.map_or(max_count, |c| c.min(max_count))
            .max(1)
            .to_string()
    }

    /// `startIndex`/`count` pages until one is empty, repeats earlier results or passes
    /// `totalResults`.
    async fn list_by_index(
        &self,
        op: &'static str,
        endpoint: &str,
        base: Vec<(&str, String)>,
        max_count: usize,
        gathered: &mut Gathered<'_>,
    ) -> Result<(), ScimError> {
        let count = self.page_size(max_count);
        let mut start = 1usize;
        for _ in 0..MAX_PAGES {
            let mut q = base.clone();
            q.push(("startIndex", start.to_string()));
            q.push(("count", count.clone()));
            let (page, body) = self.page(op, endpoint, &q).await?;
            let len = page.len();
            if len == 0 {
                break;
            }
            if gathered.keep_new(page) == 0 {
                // The server ignores startIndex and sends the same page again.
                tracing::warn!(app = %self.inner.app, endpoint, start, "Page repeats earlier results; stopping.");
                break;
            }
            start += len;
            match number_of(&body, "totalResults") {
                Some(total) if start > total => break,
                _ => {}
            }
        }
        Ok(())
    }

    /// `cursor`/`nextCursor` pages until a page is empty or a cursor comes back again.
    async fn list_by_cursor(
        &self,
        op: &'static str,
        endpoint: &str,
        base: Vec<(&str, String)>,
        max_count: usize,
        gathered: &mut Gathered<'_>,
    ) -> Result<(), ScimError> {
        let count = self.page_size(max_count);
        let mut cursors = BTreeSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut q = base.clone();
            q.push(("count", count.clone()));
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let (page, body) = self.page(op, endpoint, &q).await?;
            let empty = page.is_empty();
            gathered.keep_new(page);
            match next_cursor(&body) {
                Some(next) if !empty && cursors.insert(next.clone()) => cursor = Some(next),
                _ => break,
            }
        }
        Ok(())
    }

    /// `GET endpoint?query`, leaving out the parameters the app refused before. When the app
    /// refuses the request and it carried optional parameters, it is asked once more
    /// without them; if that works, they are remembered as refused. Returns the answer
    /// that worked, or the first one.
    pub(crate) async fn get_list(
        &self,
        op: &'static str,
        endpoint: &str,
        query: &[(&str, String)],
    ) -> Result<Response, ScimError> {
        let refused = lock(&self.inner.refused_params).clone();
        let query: Vec<(&str, String)> = query
            .iter()
            .filter(|(k, _)| !refused.contains(*k))
            .cloned()
            .collect();
        let resp = self.get_query(op, endpoint, &query).await?;
        let optional: Vec<&str> = query
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| DROPPABLE.contains(k))
            .collect();
        if resp.status.is_success()
            || optional.is_empty()
            || !may_refuse_params(resp.status.as_u16())
        {
            return Ok(resp);
        }
        let lean: Vec<(&str, String)> = query
            .iter()
            .filter(|(k, _)| !DROPPABLE.contains(k))
            .cloned()
            .collect();
        let retry = self.get_query(op, endpoint, &lean).await?;
        if !retry.status.is_success() {
            return Ok(resp);
        }
        tracing::warn!(app = %self.inner.app, endpoint, status = resp.status.as_u16(), params = ?optional, "App refused a list carrying optional parameters and answered without them; they are left out from now on.");
        lock(&self.inner.refused_params).extend(optional.iter().map(|k| k.to_string()));
        Ok(retry)
    }

    async fn get_query(
        &self,
        op: &'static str,
        endpoint: &str,
        query: &[(&str, String)],
    ) -> Result<Response, ScimError> {
        let mut url = self.endpoint(&[endpoint])?;
        set_query(&mut url, query);
        self.send(op, Method::GET, url, None, Replay::Safe).await
    }

    /// One page of an endpoint: its resources and the whole body (for totals and cursors).
    async fn page(
        &self,
        op: &'static str,
        endpoint: &str,
        query: &[(&str, String)],
    ) -> Result<(Vec<Value>, Value), ScimError> {
        let resp = self.get_list(op, endpoint, query).await?;
        if !resp.status.is_success() {
            return Err(self.error_from(op, endpoint, &resp));
        }
        let body: Value = serde_json::from_slice(&resp.body).map_err(|_| {
            self.invalid(
                op,
                format!("list of {endpoint} is not JSON: {}", resp.body_excerpt()),
            )
        })?;
        let page = resources_of(&body).ok_or_else(|| {
            self.invalid(op, format!("list of {endpoint} has no Resources array"))
        })?;
        Ok((page, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_values_are_percent_encoded() {
        let mut url = Url::parse("https://x.example/scim/v2/Users").expect("url");
        set_query(
            &mut url,
            &[
                ("filter", r#"userName eq "a+b@x&y=z" and x"#.to_string()),
                ("count", "10".into()),
            ],
        );
        assert_eq!(
            url.query(),
            Some("filter=userName%20eq%20%22a%2Bb%40x%26y%3Dz%22%20and%20x&count=10")
        );
        let decoded: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(decoded[0].1, r#"userName eq "a+b@x&y=z" and x"#);
    }

    #[test]
    fn list_bodies_of_every_shape() {
        assert_eq!(
            resources_of(&json!({"Resources": [1, 2]})),
            Some(vec![json!(1), json!(2)])
        );
        assert_eq!(
            resources_of(&json!({"resources": [1]})),
            Some(vec![json!(1)])
        );
        assert_eq!(resources_of(&json!({"totalResults": 0})), Some(vec![]));
        assert_eq!(resources_of(&json!([3])), Some(vec![json!(3)]));
        assert_eq!(resources_of(&json!({"Resources": "x"})), None);
        assert_eq!(
            number_of(&json!({"totalResults": "12"}), "totalResults"),
            Some(12)
        );
        assert_eq!(next_cursor(&json!({"nextCursor": ""})), None);
        assert_eq!(
            next_cursor(&json!({"nextCursor": "abc"})),
            Some("abc".into())
        );
    }
}
