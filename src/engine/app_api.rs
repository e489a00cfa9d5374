//! The engine's view of one app: builds the app's SCIM client (HTTP transport, auth,
//! throttle, profile) and offers the few operations the engine needs, in its own terms.

use std::collections::BTreeMap;
use std::sync::Arc;

use hrsync_connectors::http::throttle::{RateLimit, Throttle};
use hrsync_connectors::http::{HttpClient, HttpError, RateLimitError};
use hrsync_connectors::scim::{self, AttrPath, MatchOn, PatchOp, ScimClient, ScimError};
use serde_json::Value;

use crate::config::{AppSettings, MatchAttr};
use crate::mapping::AttrMap;
use crate::reconcile::{Change, RemoteUser};

/// Why an app's client cannot be built: the app is reported unusable (its plan carries
/// the error, `check` shows it); the other apps go on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The app's rate limit cannot be enforced as written.
    #[error("app {app}: rate_limit: {source}")]
    RateLimit {
        /// The app.
        app: String,
        /// What is wrong with it.
        source: RateLimitError,
    },
    /// The app's HTTP transport or authentication cannot be set up.
    #[error("app {app}: {source}")]
    Http {
        /// The app.
        app: String,
        /// Why.
        source: HttpError,
    },
}

/// Summary of what `check` and the half-open probe learned.
pub struct ProbeResult(scim::Capabilities);

impl ProbeResult {
    /// What the app's `ServiceProviderConfig` said it can do.
    pub fn capabilities(&self) -> &scim::Capabilities {
        &self.0
    }
}

impl std::fmt::Display for ProbeResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.0;
        write!(
            f,
            "PATCH {}, bulk {}, filter {}, etag {}",
            if c.patch { "yes" } else { "no" },
            if c.bulk.supported { "yes" } else { "no" },
            if c.filter.supported { "yes" } else { "no" },
            if c.etag { "yes" } else { "no" }
        )
    }
}

/// One app, as the engine uses it.
pub struct AppApi {
    client: ScimClient,
    match_on: Vec<MatchOn>,
    throttle: Arc<Throttle>,
    bulk: bool,
}

impl AppApi {
    /// Builds the app's client from its settings.
    pub fn new(app: &AppSettings) -> Result<AppApi, ClientError> {
        let profile = app.scim_profile.clone();
        let http = app.http.clone();
        let limit = app.rate_limit.unwrap_or_else(|| {
            let p = &profile.rate_limit;
            RateLimit {
                per_second: p.per_second,
                per_minute: p.per_minute,
                per_hour: p.per_hour,
                burst: p.burst,
            }
        });
        let unlimited =
            limit.per_second.is_none() && limit.per_minute.is_none() && limit.per_hour.is_none();
        let limit = if unlimited { None } else { Some(&limit) };
        // Without a configured `concurrency` the in-flight limit finds its own level.
        let throttle = if app.concurrency_adaptive {
            Throttle::adaptive(app.name.clone(), limit, app.concurrency)
        } else {
            Throttle::new(app.name.clone(), limit, app.concurrency)
        };
        let throttle = Arc::new(throttle.map_err(|source| ClientError::RateLimit {
            app: app.name.clone(),
            source,
        })?);
        let client = HttpClient::new(http, app.auth.clone())
            .map_err(|source| ClientError::Http {
                app: app.name.clone(),
                source,
            })?
            .with_gate(Arc::new(super::http_metrics::Metered::new(
                &app.name,
                throttle.clone(),
            )));
        let match_on = app
            .match_on
            .iter()
            .map(|m| match m {
                MatchAttr::ExternalId => MatchOn::ExternalId,
                MatchAttr::UserName => MatchOn::UserName,
                MatchAttr::Emails => MatchOn::Emails,
            })
            .collect();
        Ok(AppApi {
            client: ScimClient::new(&app.name, app.base_url.clone(), client, profile),
            match_on,
            throttle,
            bulk: app.bulk,
        })
    }

    /// The app's throttle (for stats).
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// The SCIM client (for callers needing more than the engine's operations).
    pub fn client(&self) -> &ScimClient {
        &self.client
    }

    /// `GET /ServiceProviderConfig`, then one authenticated read of `/Users`: reachable
    /// and authorized (many apps serve their configuration to anyone).
    pub async fn probe(&self) -> Result<ProbeResult, ScimError> {
        let caps = self.client.discover().await?;
        self.client.check_access().await?;
        Ok(ProbeResult(caps))
    }

    /// Finds an existing account for a person per `match_on`.
    pub async fn lookup(&self, key: &str, desired: &AttrMap) -> Result<Option<Value>, ScimError> {
        let user_name = desired.get("userName").and_then(Value::as_str);
        let emails: Vec<String> = desired
            .iter()
            .filter(|(p, _)| p.starts_with("emails"))
            .filter_map(|(_, v)| v.as_str().map(str::to_string))
            .collect();
        self.client
            .lookup_user(&self.match_on, Some(key), user_name, &emails)
            .await
    }

    /// Creates an account; returns the created resource.
    pub async fn create(
        &self,
        key: &str,
        desired: &AttrMap,
        active: bool,
    ) -> Result<Value, ScimError> {
        let body = user_body(key, desired.to_map(), active, &self.client)?;
        self.client.create_user(&body).await
    }

    /// Pushes attribute changes (and the active flag) to an account.
    pub async fn update(
        &self,
        id: &str,
        key: &str,
        changes: &[Change],
        desired: &AttrMap,
        active: bool,
        active_changed: bool,
    ) -> Result<Option<Value>, ScimError> {
        let ops = self.patch_ops(changes, active, active_changed)?;
        if ops.is_empty() {
            return Ok(None);
        }
        let full = user_body(key, desired.to_map(), active, &self.client)?;
        self.client.update_user(id, &ops, &full).await
    }

    /// The PATCH operations for attribute changes and the active flag.
    pub fn patch_ops(
        &self,
        changes: &[Change],
        active: bool,
        active_changed: bool,
    ) -> Result<Vec<PatchOp>, ScimError> {
        let before: BTreeMap<String, Value> = changes
            .iter()
            .filter_map(|c| c.old.clone().map(|v| (c.path.clone(), v)))
            .collect();
        let after: BTreeMap<String, Value> = changes
            .iter()
            .map(|c| (c.path.clone(), c.new.clone().unwrap_or(Value::Null)))
            .collect();
        let mut ops: Vec<PatchOp> =
            scim::ops_from_changes(&before, &after).map_err(|e| ScimError::InvalidRecord {
                app: self.client.app().to_string(),
                op: "update_user",
                detail: e.to_string(),
            })?;
        if active_changed {
            ops.push(PatchOp::replace("active", Value::Bool(active)));
        }
        let mut adapted = ops;
        for op in &mut adapted {
            self.client.profile().adapt_op(op);
        }
        Ok(adapted)
    }

    /// Whether this cycle's writes may go out as SCIM Bulk: configured, allowed by the
    /// profile, advertised by the app, and the app takes PATCH.
    pub async fn bulk_enabled(&self) -> bool {
        self.bulk
            && self.client.bulk_supported().await
            && self.client.write_mode() == scim::WriteMode::Patch
    }

    /// The body of a create as the app wants it (profile adaptations and checks applied).
    pub fn create_body(
        &self,
        key: &str,
        desired: &AttrMap,
        active: bool,
    ) -> Result<Value, ScimError> {
        let mut body = user_body(key, desired.to_map(), active, &self.client)?;
        self.client.profile().adapt_user(&mut body);
        self.client
            .profile()
            .check_create(&body)
            .map_err(|detail| ScimError::InvalidRecord {
                app: self.client.app().to_string(),
                op: "create_user",
                detail,
            })?;
        Ok(body)
    }

    /// Takes access away per the profile: `active=false`, or DELETE where that is how the
    /// app deactivates.
    pub async fn deactivate(
        &self,
        id: &str,
        key: &str,
        last: &BTreeMap<String, Value>,
    ) -> Result<(), ScimError> {
        if self.client.profile().deprovision == scim::Deprovision::Delete {
            return self.client.delete_user(id).await;
        }
        let full = user_body(key, last.clone(), false, &self.client)?;
        self.client.set_active(id, false, &full).await.map(|_| ())
    }

    /// Deletes an account (a missing one counts as deleted).
    pub async fn delete(&self, id: &str) -> Result<(), ScimError> {
        match self.client.delete_user(id).await {
            Ok(()) | Err(ScimError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every account of the app, with values at the managed paths.
    pub async fn list_remote(
        &self,
        paths: &[String],
    ) -> Result<BTreeMap<String, RemoteUser>, ScimError> {
        self.list_remote_observed(paths, &|_| {}).await
    }

    /// [`AppApi::list_remote`], telling `on_page` how many accounts each page held.
    pub async fn list_remote_observed(
        &self,
        paths: &[String],
        on_page: scim::OnPage<'_>,
    ) -> Result<BTreeMap<String, RemoteUser>, ScimError> {
        let parsed: Vec<(String, AttrPath)> = paths
            .iter()
            .filter_map(|p| AttrPath::parse(p).ok().map(|a| (p.clone(), a)))
            .collect();
        let mut out = BTreeMap::new();
        for u in self.client.list_users_observed(on_page).await? {
            let Some(id) = scim::id(&u).map(str::to_string) else {
                continue;
            };
            out.insert(id.clone(), remote_user(&id, &u, &parsed));
        }
        Ok(out)
    }

    /// Whether the app's accounts can be read with one paged list; an app that lists only
    /// with a filter is read person by person ([`AppApi::find_remote`]).
    pub fn can_list(&self) -> bool {
        !self.client.profile().filter_required
    }

    /// The accounts of the given persons, for an app that cannot list them all: each linked
    /// account read by id, each other person looked up per `match_on`. A person whose
    /// lookup is ambiguous is left out here; their create meets the same answer and fails
    /// with it.
    pub async fn find_remote(
        &self,
        paths: &[String],
        linked: &[String],
        unlinked: &[(String, std::sync::Arc<AttrMap>)],
    ) -> Result<BTreeMap<String, RemoteUser>, ScimError> {
        let parsed: Vec<(String, AttrPath)> = paths
            .iter()
            .filter_map(|p| AttrPath::parse(p).ok().map(|a| (p.clone(), a)))
            .collect();
        let mut found = Vec::new();
        for id in linked {
            found.extend(self.client.get_user(id).await?);
        }
        for (key, desired) in unlinked {
            match self.lookup(key, desired).await {
                Ok(u) => found.extend(u),
                Err(e @ ScimError::Ambiguous { .. }) => {
                    tracing::warn!(app = %self.client.app(), person = %key, error = %e, "Lookup is ambiguous; the person's account is left unread.");
                }
                Err(e) => return Err(e),
            }
        }
        let mut out = BTreeMap::new();
        for u in found {
            if let Some(id) = scim::id(&u).map(str::to_string) {
                out.insert(id.clone(), remote_user(&id, &u, &parsed));
            }
        }
        Ok(out)
    }

    /// Finds a group by display name: (id, externalId).
    pub async fn find_group(
        &self,
        name: &str,
    ) -> Result<Option<(String, Option<String>)>, ScimError> {
        Ok(self.client.find_group_by_name(name).await?.and_then(|g| {
            let id = scim::id(&g)?.to_string();
            Some((id, scim::external_id(&g).map(str::to_string)))
        }))
    }

    /// Creates a group hrsync manages; returns its id.
    pub async fn create_group(&self, name: &str, marker: &str) -> Result<String, ScimError> {
        let g = self.client.create_group(name, Some(marker)).await?;
        scim::id(&g)
            .map(str::to_string)
            .ok_or_else(|| ScimError::InvalidResponse {
                app: self.client.app().to_string(),
                op: "create_group",
                detail: "the created group has no id".into(),
            })
    }

    /// Adds members (account ids) to a group.
    pub async fn add_members(&self, group_id: &str, ids: &[String]) -> Result<(), ScimError> {
        self.client.add_members(group_id, ids).await
    }

    /// Removes members (account ids) from a group.
    pub async fn remove_members(&self, group_id: &str, ids: &[String]) -> Result<(), ScimError> {
        self.client.remove_members(group_id, ids).await
    }

    /// Deletes a group (a missing one counts as deleted).
    pub async fn delete_group(&self, group_id: &str) -> Result<(), ScimError> {
        match self.client.delete_group(group_id).await {
            Ok(()) | Err(ScimError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The full SCIM User for a person: desired attributes, the HR key as externalId, active.
pub fn user_body(
    key: &str,
    mut attrs: BTreeMap<String, Value>,
    active: bool,
    client: &ScimClient,
) -> Result<Value, ScimError> {
    attrs.insert("externalId".into(), Value::String(key.to_string()));
    attrs.insert("active".into(), Value::Bool(active));
    scim::build_user(&attrs).map_err(|e| ScimError::InvalidRecord {
        app: client.app().to_string(),
        op: "build_user",
        detail: e.to_string(),
    })
}

/// An app's account as the planner sees it.
pub fn remote_user(id: &str, u: &Value, paths: &[(String, AttrPath)]) -> RemoteUser {
    let mut attrs = BTreeMap::new();
    for (text, p) in paths {
        if let Some(v) = scim::extract(u, p) {
            attrs.insert(text.clone(), v);
        }
    }
    if let Some(e) = scim::external_id(u) {
        attrs.insert("externalId".into(), Value::String(e.to_string()));
    }
    RemoteUser {
        id: id.to_string(),
        user_name: scim::user_name(u).unwrap_or_default().to_string(),
        external_id: scim::external_id(u).map(str::to_string),
        active: u.get("active").and_then(Value::as_bool).unwrap_or(true),
        attrs,
    }
}
