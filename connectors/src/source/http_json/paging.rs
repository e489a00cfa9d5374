//! The paging state machine of `http_json`: the first URL, then after each page either
//! the next URL or the end — and an error when the server's totals and pages disagree
//! (an empty page while more are promised), so a broken read is never "fewer people".

use std::collections::BTreeSet;

use serde_json::Value;
use url::Url;

use super::link::next_link;
use crate::http::Response;
use crate::source::config::Pagination;
use crate::source::net::{header_count, pointer_count, Malformed};
use crate::source::normalize::pointer;

/// Why the run of pages cannot be trusted: the read fails as an invalid response (the
/// cycle aborts) rather than count the people it could not read as gone.
#[derive(Debug, thiserror::Error)]
pub enum PagingError {
    /// A count in a header or the body is unreadable.
    #[error(transparent)]
    Count(#[from] Malformed),
    /// An empty page before the last page the server announced.
    #[error("page {page} is empty but the server reports {pages} pages")]
    EmptyBeforeLastPage {
        /// This page (1-based).
        page: u64,
        /// The announced page count.
        pages: u64,
    },
    /// An empty page before the announced total was read.
    #[error("page {page} is empty but the server reports {total} records and only {collected} were read")]
    EmptyBeforeTotal {
        /// This page (1-based).
        page: u64,
        /// The announced total.
        total: u64,
        /// Records read so far.
        collected: u64,
    },
    /// The last page came before the announced total.
    #[error("paging ended after {collected} records but the server reports {total}")]
    EndedShort {
        /// Records read.
        collected: u64,
        /// The announced total.
        total: u64,
    },
    /// The next cursor or link leads to a page already read.
    #[error("page {page} points back to a page already read (the cursor repeats)")]
    CursorRepeats {
        /// This page (1-based).
        page: u64,
    },
    /// The next link does not parse.
    #[error("next link {link:?} is not a URL: {why}")]
    BadLink {
        /// The link as given.
        link: String,
        /// The parser's reason.
        why: url::ParseError,
    },
    /// The next link leaves the configured origin; credentials are never sent there.
    #[error("next link points to another origin ({origin}), refusing to send credentials there")]
    ForeignOrigin {
        /// The other origin.
        origin: String,
    },
    /// The value at the cursor pointer is neither a string nor a number.
    #[error("{pointer} is not a cursor or link: {value}")]
    NotACursor {
        /// The configured pointer.
        pointer: String,
        /// What is there.
        value: String,
    },
}

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
    pub fn next(&mut self, seen: &PageSeen<'_>) -> Result<Option<Url>, PagingError> {
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
                let limit = (limit_param, limit.to_string());
                Ok(Some(with_params(
                    &self.base,
                    &[limit, (offset_param, self.offset.to_string())],
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
                let per_page = (per_page_param, per_page.to_string());
                self.next_page(seen, total, total_pages, per_page, page_param)
            }
            Pagination::Cursor {
                total_header,
                total_pointer,
                ..
            } => {
                let total = totals(seen, total_header, total_pointer)?;
                let next = self.cursor_next(seen, &style)?;
                self.follow(seen, total, next)
            }
            Pagination::LinkHeader { total_header, .. } => {
                let total = totals(seen, total_header, &None)?;
                let next = self.link_header_next(seen)?;
                self.follow(seen, total, next)
            }
        }
    }

    /// Page style: go on until the announced page count (or, without one, the total or
    /// an empty page).
    fn next_page(
        &mut self,
        seen: &PageSeen<'_>,
        total: Option<u64>,
        total_pages: Option<u64>,
        per_page: (&String, String),
        page_param: &String,
    ) -> Result<Option<Url>, PagingError> {
        if let Some(tp) = total_pages {
            if self.pages_read >= tp {
                return self.ended(seen, total);
            }
            if seen.records == 0 {
                return Err(PagingError::EmptyBeforeLastPage {
                    page: self.pages_read,
                    pages: tp,
                });
            }
        } else if !self.more_by_count(seen, total)? {
            return Ok(None);
        }
        self.page += 1;
        Ok(Some(with_params(
            &self.base,
            &[per_page, (page_param, self.page.to_string())],
        )))
    }

    /// Cursor style: the next URL from a cursor value or a next link in the body.
    fn cursor_next(
        &self,
        seen: &PageSeen<'_>,
        style: &Pagination,
    ) -> Result<Option<Url>, PagingError> {
        let Pagination::Cursor {
            cursor_param,
            cursor_pointer,
            next_link_pointer,
            ..
        } = style
        else {
            return Ok(None);
        };
        if let Some(p) = cursor_pointer {
            Ok(cursor_at(seen.body, p)?.map(|c| {
                let mut u = self.first();
                set_param(&mut u, cursor_param, &c);
                u
            }))
        } else if let Some(p) = next_link_pointer {
            match cursor_at(seen.body, p)? {
                Some(link) => Ok(Some(self.resolve(seen.url, &link)?)),
                None => Ok(None),
            }
        } else {
            Ok(None)
        }
    }

    /// Link-header style: the `rel="next"` link of the response.
    fn link_header_next(&self, seen: &PageSeen<'_>) -> Result<Option<Url>, PagingError> {
        let values = seen
            .response
            .headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok());
        match next_link(values) {
            Some(link) => Ok(Some(self.resolve(seen.url, &link)?)),
            None => Ok(None),
        }
    }

    /// Offset and page styles without a page count: go on while the total says more
    /// remain, or (no total) until an empty page.
    fn more_by_count(&self, seen: &PageSeen<'_>, total: Option<u64>) -> Result<bool, PagingError> {
        match total {
            Some(t) if seen.collected >= t => Ok(false),
            Some(t) if seen.records == 0 => Err(self.empty_before(t, seen)),
            Some(_) => Ok(true),
            None => Ok(seen.records > 0),
        }
    }

    /// The server says this was the last page: check it against the total.
    fn ended(&self, seen: &PageSeen<'_>, total: Option<u64>) -> Result<Option<Url>, PagingError> {
        match total {
            Some(t) if seen.collected < t => Err(PagingError::EndedShort {
                collected: seen.collected,
                total: t,
            }),
            _ => Ok(None),
        }
    }

    /// This page is empty although `total` records were announced.
    fn empty_before(&self, total: u64, seen: &PageSeen<'_>) -> PagingError {
        PagingError::EmptyBeforeTotal {
            page: self.pages_read,
            total,
            collected: seen.collected,
        }
    }

    /// Cursor and link styles: follow `next` unless it repeats or contradicts the total.
    fn follow(
        &mut self,
        seen: &PageSeen<'_>,
        total: Option<u64>,
        next: Option<Url>,
    ) -> Result<Option<Url>, PagingError> {
        let Some(next) = next else {
            return self.ended(seen, total);
        };
        if let Some(t) = total {
            if seen.collected >= t {
                return Ok(None);
            }
            if seen.records == 0 {
                return Err(self.empty_before(t, seen));
            }
        }
        if next == *seen.url || !self.seen_next.insert(next.to_string()) {
            return Err(PagingError::CursorRepeats {
                page: self.pages_read,
            });
        }
        Ok(Some(next))
    }

    /// Resolves a next link; it must stay on the configured origin, so credentials are
    /// never sent elsewhere.
    fn resolve(&self, current: &Url, link: &str) -> Result<Url, PagingError> {
        let url = current.join(link).map_err(|why| PagingError::BadLink {
            link: link.to_string(),
            why,
        })?;
        if url.origin() != self.base.origin() {
            return Err(PagingError::ForeignOrigin {
                origin: url.origin().ascii_serialization(),
            });
        }
        Ok(url)
    }
}

/// The announced count, from the header if it is there, else from the body.
fn totals(
    seen: &PageSeen<'_>,
    header: &Option<String>,
    ptr: &Option<String>,
) -> Result<Option<u64>, Malformed> {
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
fn cursor_at(body: &Value, ptr: &str) -> Result<Option<String>, PagingError> {
    match pointer(body, ptr) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(PagingError::NotACursor {
            pointer: ptr.to_string(),
            value: other.to_string(),
        }),
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
