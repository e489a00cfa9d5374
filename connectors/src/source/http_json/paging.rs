//! The paging state machine of `http_json`: the first URL, then after each page either
//! the next URL or the end — and an error when the server's totals and pages disagree
//! (an empty page while more are promised), so a broken read is never "fewer people".

use std::collections::BTreeSet;

use serde_json::Value;
use url::Url;

use super::link::next_link;
use crate::http::Response;
use crate::source::config::Pagination;
use crate::source::net::{header_count, pointer_count};
use crate::source::normalize::pointer;

/// What one page told the pager.
pub struct PageSeen<'a> {
    /// The URL it was fetched from.
    pub url: &'a Url,
    /// The response (headers).
    pub response: &'a Response,
    /// The parsed body.
    pub body: &'a Value,
    /// Records on this page.
    pub records: usize,
    /// Records on all pages so far, this one included.
    pub collected: u64,
}

/// Walks the pages of one read.
pub struct Pager {
    style: Pagination,
    base: Url,
    offset: u64,
    page: u64,
    pages_read: u64,
    seen_next: BTreeSet<String>,
}

impl Pager {
    /// A pager starting at `base` (the configured URL).
    pub fn new(style: &Pagination, base: Url) -> Self {
        let page = match style {
            Pagination::Page { first_page, .. } => u64::from(*first_page),
            _ => 0,
        };
        Pager {
            style: style.clone(),
            base,
            offset: 0,
            page,
            pages_read: 0,
            seen_next: BTreeSet::new(),
        }
    }

    /// The first page's URL.
    pub fn first(&self) -> Url {
        match &self.style {
            Pagination::None {} => self.base.clone(),
            Pagination::Offset {
                limit_param,
                offset_param,
                limit,
                ..
            } => with_params(
                &self.base,
                &[(limit_param, limit.to_string()), (offset_param, "0".into())],
            ),
            Pagination::Page {
                page_param,
                per_page_param,
                per_page,
                ..
            } => with_params(
                &self.base,
                &[
                    (per_page_param, per_page.to_string()),
                    (page_param, self.page.to_string()),
                ],
            ),
            Pagination::Cursor {
                limit_param: Some(p),
                limit: Some(l),
                ..
            }
            | Pagination::LinkHeader {
                per_page_param: Some(p),
                per_page: Some(l),
                ..
            } => with_params(&self.base, &[(p, l.to_string())]),
            Pagination::Cursor { .. } | Pagination::LinkHeader { .. } => self.base.clone(),
        }
    }

    /// After a page: `Ok(Some(url))` to go on, `Ok(None)` when the read is complete.
    pub fn next(&mut self, seen: &PageSeen<'_>) -> Result<Option<Url>, String> {
        self.pages_read += 1;
        let style = self.style.clone();
        match &style {
            Pagination::None {} => Ok(None),
            Pagination::Offset {
                limit_param,
                offset_param,
                limit,
                total_header,
                total_pointer,
            } => {
                let total = totals(seen, total_header, total_pointer)?;
                if !self.more_by_count(seen, total)? {
                    return Ok(None);
                }
                self.offset += seen.records as u64;
                Ok(Some(with_params(
                    &self.base,
                    &[
                        (limit_param, limit.to_string()),
                        (offset_param, self.offset.to_string()),
                    ],
                )))
            }
            Pagination::Page {
                page_param,
                per_page_param,
                per_page,
                total_header,
                total_pages_header,
                total_pointer,
                total_pages_pointer,
                ..
            } => {
                let total = totals(seen, total_header, total_pointer)?;
                let total_pages = totals(seen, total_pages_header, total_pages_pointer)?;
                if let Some(tp) = total_pages {
                    if self.pages_read >= tp {
                        return self.ended(seen, total);
                    }
                    if seen.records == 0 {
                        return Err(format!(
                            "page {} is empty but the server reports {tp} pages",
                            self.pages_read
                        ));
                    }
                } else if !self.more_by_count(seen, total)? {
                    return Ok(None);
                }
                self.page += 1;
                Ok(Some(with_params(
                    &self.base,
                    &[
                        (per_page_param, per_page.to_string()),
                        (page_param, self.page.to_string()),
                    ],
                )))
            }
            Pagination::Cursor {
                cursor_param,
                cursor_pointer,
                next_link_pointer,
                total_header,
                total_pointer,
                ..
            } => {
                let total = totals(seen, total_header, total_pointer)?;
                let next = if let Some(p) = cursor_pointer {
                    cursor_at(seen.body, p)?.map(|c| {
                        let mut u = self.first();
                        set_param(&mut u, cursor_param, &c);
                        u
                    })
                } else if let Some(p) = next_link_pointer {
                    match cursor_at(seen.body, p)? {
                        Some(link) => Some(self.resolve(seen.url, &link)?),
                        None => None,
                    }
                } else {
                    None
                };
                self.follow(seen, total, next)
            }
            Pagination::LinkHeader { total_header, .. } => {
                let total = totals(seen, total_header, &None)?;
                let values = seen
                    .response
                    .headers
                    .get_all(reqwest::header::LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok());
                let next = match next_link(values) {
                    Some(link) => Some(self.resolve(seen.url, &link)?),
                    None => None,
                };
                self.follow(seen, total, next)
            }
        }
    }

    /// Offset and page styles without a page count: go on while the total says more
    /// remain, or (no total) until an empty page.
    fn more_by_count(&self, seen: &PageSeen<'_>, total: Option<u64>) -> Result<bool, String> {
        match total {
            Some(t) if seen.collected >= t => Ok(false),
            Some(t) if seen.records == 0 => Err(format!(
                "page {} is empty but the server reports {t} records and only {} were read",
                self.pages_read, seen.collected
            )),
            Some(_) => Ok(true),
            None => Ok(seen.records > 0),
        }
    }

    /// The server says this was the last page: check it against the total.
    fn ended(&self, seen: &PageSeen<'_>, total: Option<u64>) -> Result<Option<Url>, String> {
        match total {
            Some(t) if seen.collected < t => Err(format!(
                "paging ended after {} records but the server reports {t}",
                seen.collected
            )),
            _ => Ok(None),
        }
    }

    /// Cursor and link styles: follow `next` unless it repeats or contradicts the total.
    fn follow(
        &mut self,
        seen: &PageSeen<'_>,
        total: Option<u64>,
        next: Option<Url>,
    ) -> Result<Option<Url>, String> {
        let Some(next) = next else {
            return self.ended(seen, total);
        };
        if let Some(t) = total {
            if seen.collected >= t {
                return Ok(None);
            }
            if seen.records == 0 {
                return Err(format!(
                    "page {} is empty but the server reports {t} records and only {} were read",
                    self.pages_read, seen.collected
                ));
            }
        }
        if next == *seen.url || !self.seen_next.insert(next.to_string()) {
            return Err(format!(
                "page {} points back to a page already read (the cursor repeats)",
                self.pages_read
            ));
        }
        Ok(Some(next))
    }

    /// Resolves a next link; it must stay on the configured origin, so credentials are
    /// never sent elsewhere.
    fn resolve(&self, current: &Url, link: &str) -> Result<Url, String> {
        let url = current
            .join(link)
            .map_err(|e| format!("next link {link:?} is not a URL: {e}"))?;
        if url.origin() != self.base.origin() {
            return Err(format!(
                "next link points to another origin ({}), refusing to send credentials there",
                url.origin().ascii_serialization()
            ));
        }
        Ok(url)
    }
}

fn totals(
    seen: &PageSeen<'_>,
    header: &Option<String>,
    ptr: &Option<String>,
) -> Result<Option<u64>, String> {
    if let Some(h) = header {
        if let Some(n) = header_count(seen.response, h)? {
            return Ok(Some(n));
        }
    }
    if let Some(p) = ptr {
        return pointer_count(seen.body, p);
    }
    Ok(None)
}

/// A cursor or link at a pointer: absent, null or "" means the last page.
fn cursor_at(body: &Value, ptr: &str) -> Result<Option<String>, String> {
    match pointer(body, ptr) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("{ptr} is not a cursor or link: {other}")),
    }
}

/// `url` with each `(name, value)` set, replacing any existing value of that name.
pub fn with_params(url: &Url, params: &[(&String, String)]) -> Url {
    let mut u = url.clone();
    for (name, value) in params {
        set_param(&mut u, name, value);
    }
    u
}

fn set_param(url: &mut Url, name: &str, value: &str) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = url.query_pairs_mut();
    q.clear();
    for (k, v) in &kept {
        q.append_pair(k, v);
    }
    q.append_pair(name, value);
}
