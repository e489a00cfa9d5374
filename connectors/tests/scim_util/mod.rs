//! A small fake SCIM service provider on 127.0.0.1:0 for the SCIM client tests. It keeps
//! users and groups in memory, records every request, and can be told to behave like the
//! deviations real apps show (PATCH 204 or 501, integer statuses, ignored filters, cursor
//! paging, picky member removal, bulk limits).
#![allow(dead_code)]

mod handlers;
mod query;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use hrsync_connectors::http::{Auth, HttpClient, HttpSettings, RetryPolicy};
use hrsync_connectors::scim::{Profile, RemovalForm, ScimClient};
use hrsync_connectors::secret::Secret;
use serde_json::Value;
use url::Url;

/// The bearer token the fake accepts.
pub const TOKEN: &str = "test-token";

/// How PATCH is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchMode {
    /// 200 with the whole resource.
    Body200,
    /// 204 without a body.
    NoContent,
    /// 501 Not Implemented.
    NotImplemented,
    /// 400 invalidSyntax for every PATCH.
    BadRequest,
}

/// How lists are paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// RFC startIndex/count.
    Index,
    /// `cursor`/`nextCursor`.
    Cursor,
    /// Always the first page, whatever startIndex says.
    IgnoreStartIndex,
}

/// Behaviour switches.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// PATCH answers.
    pub patch: PatchMode,
    /// Error `status` as a JSON integer instead of a string.
    pub status_as_int: bool,
    /// Answer every list as if there were no filter.
    pub ignore_filter: bool,
    /// Answer 400 invalidFilter to any filter.
    pub reject_filters: bool,
    /// Paging style.
    pub paging: Paging,
    /// Most resources per page, whatever `count` asks.
    pub page_cap: usize,
    /// Member-removal forms accepted (others get 400).
    pub removal_ok: BTreeSet<RemovalForm>,
    /// Member-removal forms answered 200 but not applied.
    pub removal_silent: BTreeSet<RemovalForm>,
    /// Bulk: (maxOperations advertised, answer 413 above this many operations).
    pub bulk: Option<(usize, usize)>,
    /// `ServiceProviderConfig` only at the plural path.
    pub plural_discovery_only: bool,
    /// `patch.supported` advertised.
    pub advertise_patch: bool,
    /// Writes (PUT/PATCH/DELETE) stay in progress this long, to observe overlap.
    pub write_delay_ms: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            patch: PatchMode::Body200,
            status_as_int: false,
            ignore_filter: false,
            reject_filters: false,
            paging: Paging::Index,
            page_cap: 1000,
            removal_ok: [
                RemovalForm::ValuePath,
                RemovalForm::ValueArray,
                RemovalForm::ReplaceMembers,
                RemovalForm::PutGroup,
            ]
            .into(),
            removal_silent: BTreeSet::new(),
            bulk: None,
            plural_discovery_only: false,
            advertise_patch: true,
            write_delay_ms: 0,
        }
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path below `/scim/v2`, e.g. `/Users/u1`.
    pub path: String,
    /// Decoded query pairs.
    pub query: BTreeMap<String, String>,
    /// JSON body.
    pub body: Option<Value>,
    /// `content-type`, `accept`, `user-agent` headers.
    pub headers: BTreeMap<String, String>,
}

/// The fake's data.
#[derive(Debug, Default)]
pub struct Store {
    /// Behaviour.
    pub knobs: Knobs,
    /// Users by id.
    pub users: BTreeMap<String, Value>,
    /// Groups by id.
    pub groups: BTreeMap<String, Value>,
    /// Requests in order.
    pub seen: Vec<Seen>,
    /// Writes in progress per path.
    pub in_flight: BTreeMap<String, usize>,
    /// Most writes to one path seen in progress at once.
    pub max_in_flight: usize,
    next_id: u64,
}

impl Store {
    /// A fresh id with a prefix.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }
}

/// A running fake.
#[derive(Clone)]
pub struct Fake {
    /// Base URL `http://127.0.0.1:PORT/scim/v2`.
    pub base: Url,
    /// Shared data.
    pub store: Arc<Mutex<Store>>,
}

impl Fake {
    /// Starts a fake with these knobs.
    pub async fn start(knobs: Knobs) -> Fake {
        let store = Arc::new(Mutex::new(Store {
            knobs,
            ..Store::default()
        }));
        let router = Router::new()
            .fallback(handlers::handle)
            .with_state(store.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("fake scim");
        });
        Fake {
            base: Url::parse(&format!("http://{addr}/scim/v2")).expect("url"),
            store,
        }
    }

    /// The data.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().expect("store")
    }

    /// A client for this fake with the profile given.
    pub fn client(&self, profile: Profile) -> ScimClient {
        self.client_with_token(profile, TOKEN)
    }

    /// A client presenting another token.
    pub fn client_with_token(&self, profile: Profile, token: &str) -> ScimClient {
        let settings = HttpSettings {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            ..HttpSettings::default()
        };
        let http = HttpClient::new(settings, Auth::Bearer(Secret::new(token))).expect("http");
        ScimClient::new("fake-app", self.base.clone(), http, profile)
    }

    /// Stores a user directly and returns its id.
    pub fn seed_user(&self, mut user: Value) -> String {
        let mut s = self.store();
        let id = s.new_id("u");
        user["id"] = Value::String(id.clone());
        s.users.insert(id.clone(), user);
        id
    }

    /// Stores a group directly and returns its id.
    pub fn seed_group(&self, mut group: Value) -> String {
        let mut s = self.store();
        let id = s.new_id("g");
        group["id"] = Value::String(id.clone());
        s.groups.insert(id.clone(), group);
        id
    }

    /// Requests seen so far, then forgets them.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut self.store().seen)
    }

    /// Requests with this method, in order.
    pub fn seen_with(&self, method: &str) -> Vec<Seen> {
        self.store()
            .seen
            .iter()
            .filter(|s| s.method == method)
            .cloned()
            .collect()
    }
}
