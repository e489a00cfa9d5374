//! Resource operations as the HTTP front and `/Bulk` both run them: body checks, the call
//! onto the database thread, and the answer (status, body, ETag, location).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::error::ScimError;
use super::faults::{Injector, Limiter, ObjectLocks};
use super::imitation::Profile;
use super::list;
use super::patch;
use super::repo::{self, Ctx};
use super::resource::{normalize, parse_attr_list, project, Meta};
use super::schema::Kind;
use super::stats::Stats;
use super::store::Store;

/// The running sandbox, shared by every request.
pub struct App {
    /// The active profile.
    pub profile: Arc<Profile>,
    /// The database.
    pub store: Store,
    /// Request counters.
    pub stats: Arc<Stats>,
    /// Fault decisions.
    pub injector: Injector,
    /// Rate limits.
    pub limiter: Limiter,
    /// Objects being written (Slack's one-write-per-object rule).
    pub locks: ObjectLocks,
    /// SHA-256 of the bearer token, when one is required.
    pub token_digest: Option<[u8; 32]>,
    /// The discovery endpoints answer without the token.
    pub public_discovery: bool,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// Weak ETag of the resource.
    pub etag: Option<String>,
    /// `Location` of a created resource.
    pub location: Option<String>,
}

impl Reply {
    fn resource(status: u16, body: Value, meta: &Meta, etag: bool) -> Reply {
        let location = (status == 201)
            .then(|| body["meta"]["location"].as_str().map(str::to_string))
            .flatten();
        Reply {
            status,
            body: Some(body),
            etag: etag.then(|| meta.etag()),
            location,
        }
    }

    /// A JSON answer without resource headers.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            etag: None,
            location: None,
        }
    }
}

impl App {
    fn ctx(&self, base: &str) -> Ctx {
        Ctx {
            profile: self.profile.clone(),
            base: base.to_string(),
        }
    }

    fn project_params(
        &self,
        kind: Kind,
        params: &BTreeMap<String, String>,
        v: Value,
    ) -> Result<Value, ScimError> {
        let get = |n: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        let attrs = parse_attr_list(get("attributes"))?;
        let excl = parse_attr_list(get("excludedAttributes"))?;
        Ok(project(kind, v, &attrs, &excl))
    }

    /// POST to a resource endpoint.
    pub async fn create(&self, kind: Kind, body: &Value, base: &str) -> Result<Reply, ScimError> {
        let norm = normalize(kind, body)?;
        let ctx = self.ctx(base);
        let (v, meta) = self
            .store
            .call(move |c| repo::create(c, &ctx, kind, norm))
            .await??;
        if kind == Kind::User {
            self.stats.user_created();
        }
        tracing::debug!(kind = kind.name(), id = %meta.id, "Sandbox created a resource.");
        Ok(Reply::resource(201, v, &meta, self.profile.etag))
    }

    /// GET of one resource; `None` from `if_none_match` means 304.
    pub async fn get(
        &self,
        kind: Kind,
        id: &str,
        params: &BTreeMap<String, String>,
        if_none_match: Option<&str>,
        base: &str,
    ) -> Result<Reply, ScimError> {
        let ctx = self.ctx(base);
        let id = id.to_string();
        let (v, meta) = self
            .store
            .call(move |c| repo::get(c, &ctx, kind, &id))
            .await??;
        if self.profile.etag && if_none_match.is_some_and(|h| repo::etag_matches(h, &meta)) {
            return Ok(Reply {
                status: 304,
                body: None,
                etag: Some(meta.etag()),
                location: None,
            });
        }
        let v = self.project_params(kind, params, v)?;
        Ok(Reply::resource(200, v, &meta, self.profile.etag))
    }

    /// PUT of one resource.
    pub async fn replace(
        &self,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        base: &str,
    ) -> Result<Reply, ScimError> {
        let norm = normalize(kind, body)?;
        let ctx = self.ctx(base);
        let (id, im) = (id.to_string(), if_match.map(str::to_string));
        let (v, meta) = self
            .store
            .call(move |c| repo::replace(c, &ctx, kind, &id, norm, im.as_deref()))
            .await??;
        Ok(Reply::resource(200, v, &meta, self.profile.etag))
    }

    /// PATCH of one resource.
    pub async fn patch(
        &self,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        params: &BTreeMap<String, String>,
        base: &str,
    ) -> Result<Reply, ScimError> {
        let ops = patch::parse_body(body)?;
        let ctx = self.ctx(base);
        let (id, im) = (id.to_string(), if_match.map(str::to_string));
        let (v, meta) = self
            .store
            .call(move |c| repo::patch(c, &ctx, kind, &id, &ops, im.as_deref()))
            .await??;
        let v = self.project_params(kind, params, v)?;
        Ok(Reply::resource(200, v, &meta, self.profile.etag))
    }

    /// DELETE of one resource.
    pub async fn delete(
        &self,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
        base: &str,
    ) -> Result<Reply, ScimError> {
        let ctx = self.ctx(base);
        let (id, im) = (id.to_string(), if_match.map(str::to_string));
        self.store
            .call(move |c| repo::delete(c, &ctx, kind, &id, im.as_deref()))
            .await??;
        Ok(Reply {
            status: 204,
            body: None,
            etag: None,
            location: None,
        })
    }

    /// GET of a resource endpoint, or POST `.search`.
    pub async fn list(
        &self,
        kind: Kind,
        params: &BTreeMap<String, String>,
        base: &str,
    ) -> Result<Reply, ScimError> {
        let req = list::parse(&self.profile, kind, params)?;
        let ctx = self.ctx(base);
        let q = req.query.clone();
        let page = self
            .store
            .call(move |c| repo::list(c, &ctx, kind, &q))
            .await??;
        Ok(Reply::json(
            200,
            list::response(&self.profile, kind, &req, page),
        ))
    }

    /// Every stored user, by id.
    pub async fn all_users(&self, base: &str) -> Result<Vec<Value>, ScimError> {
        let ctx = self.ctx(base);
        self.store.call(move |c| repo::all_users(c, &ctx)).await?
    }
}
