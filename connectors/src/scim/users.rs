//! User operations of [`ScimClient`]: create, read, update (PATCH, or PUT of the merged
//! resource, falling back and remembering when the app refuses PATCH), (de)activate, delete.

use reqwest::header::LOCATION;
use reqwest::Method;
use serde_json::Value;

use super::client::{ScimClient, WriteMode};
use super::error::ScimError;
use super::local::merge_for_put;
use super::patch::{patch_body, PatchOp};
use super::resource::id;
use crate::http::Replay;

impl ScimClient {
    /// Creates a user (POST `/Users`, never repeated when the outcome is unknown) and
    /// returns the resource the app created. The body is adapted to the profile and checked
    /// against its documented requirements first. A 409 is [`ScimError::Conflict`]: look up.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "create_user"))]
    pub async fn create_user(&self, user: &Value) -> Result<Value, ScimError> {
        const OP: &str = "create_user";
        let mut body = user.clone();
        self.inner.profile.adapt_user(&mut body);
        self.inner
            .profile
            .check_create(&body)
            .map_err(|detail| ScimError::InvalidRecord {
                app: self.inner.app.clone(),
                op: OP,
                detail,
            })?;
        let url = self.endpoint(&["Users"])?;
        let resp = self
            .send(
                OP,
                Method::POST,
                url,
                Some(&body),
                Replay::OnlyIfUnprocessed,
            )
            .await?;
        if !resp.status.is_success() {
            return Err(self.error_from(OP, "Users", &resp));
        }
        let created = match self.json_if_any(OP, &resp)? {
            Some(v) => v,
            None => {
                // Created without a body: read it where the app says it is.
                let loc = resp
                    .headers
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| self.inner_url(l))
                    .ok_or_else(|| self.invalid(OP, "created without a body or Location"))?;
                let got = self.send(OP, Method::GET, loc, None, Replay::Safe).await?;
                if !got.status.is_success() {
                    return Err(self.error_from(OP, "created user", &got));
                }
                self.json(OP, &got)?
            }
        };
        if id(&created).is_none() {
            return Err(self.invalid(OP, "the created user has no id"));
        }
        tracing::info!(app = %self.inner.app, id = id(&created), "Created user.");
        Ok(created)
    }

    fn inner_url(&self, location: &str) -> Option<url::Url> {
        self.base_url().join(location).ok()
    }

    /// Reads a user; `None` when the app says 404.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "get_user"))]
    pub async fn get_user(&self, user_id: &str) -> Result<Option<Value>, ScimError> {
        self.get_resource("get_user", "Users", user_id).await
    }

    pub(crate) async fn get_resource(
        &self,
        op: &'static str,
        endpoint: &str,
        rid: &str,
    ) -> Result<Option<Value>, ScimError> {
        let url = self.endpoint(&[endpoint, rid])?;
        let resp = self.send(op, Method::GET, url, None, Replay::Safe).await?;
        match resp.status.as_u16() {
            404 => Ok(None),
            s if (200..300).contains(&s) => self.json(op, &resp).map(Some),
            _ => Err(self.error_from(op, &format!("{endpoint}/{rid}"), &resp)),
        }
    }

    /// Applies changes to a user: PATCH with `ops` when the app takes PATCH, else PUT of
    /// `full` (the desired User) merged onto the current resource, so attributes hrsync
    /// does not manage survive. A 501/405 to PATCH switches this app to PUT for good; a 400
    /// is retried as PUT once, and PUT is kept only if that works (a 400 may be bad data).
    /// Returns the resource when the app sent it back (PATCH may answer 204 without one).
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "update_user"))]
    pub async fn update_user(
        &self,
        user_id: &str,
        ops: &[PatchOp],
        full: &Value,
    ) -> Result<Option<Value>, ScimError> {
        const OP: &str = "update_user";
        if ops.is_empty() {
            return Ok(None);
        }
        self.learn_patch_support().await;
        let _guard = self.write_guard(&format!("Users/{user_id}")).await;
        if self.write_mode() == WriteMode::Put {
            return self.put_user(user_id, ops, full).await;
        }
        let mut adapted = ops.to_vec();
        for op in &mut adapted {
            self.inner.profile.adapt_op(op);
        }
        let url = self.endpoint(&["Users", user_id])?;
        let resp = self
            .send(
                OP,
                Method::PATCH,
                url,
                Some(&patch_body(&adapted)),
                Replay::Safe,
            )
            .await?;
        match resp.status.as_u16() {
            s if (200..300).contains(&s) => self.json_if_any(OP, &resp),
            405 | 501 => {
                self.use_put_from_now_on();
                self.put_user(user_id, ops, full).await
            }
            400 => {
                let patch_err = self.error_from(OP, user_id, &resp);
                tracing::debug!(app = %self.inner.app, error = %patch_err, "PATCH refused; trying PUT.");
                let out = self.put_user(user_id, ops, full).await?;
                self.use_put_from_now_on();
                Ok(out)
            }
            _ => Err(self.error_from(OP, &format!("Users/{user_id}"), &resp)),
        }
    }

    async fn put_user(
        &self,
        user_id: &str,
        ops: &[PatchOp],
        full: &Value,
    ) -> Result<Option<Value>, ScimError> {
        const OP: &str = "update_user";
        let current = self
            .get_resource(OP, "Users", user_id)
            .await?
            .ok_or_else(|| ScimError::NotFound {
                app: self.inner.app.clone(),
                op: OP,
                what: format!("Users/{user_id}"),
            })?;
        let mut body = merge_for_put(&current, full, ops);
        self.inner.profile.adapt_user(&mut body);
        let url = self.endpoint(&["Users", user_id])?;
        let resp = self
            .send(OP, Method::PUT, url, Some(&body), Replay::Safe)
            .await?;
        if resp.status.is_success() {
            self.json_if_any(OP, &resp)
        } else {
            Err(self.error_from(OP, &format!("Users/{user_id}"), &resp))
        }
    }

    /// Sets `active` (deactivation and reactivation) through [`ScimClient::update_user`].
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "set_active", active))]
    pub async fn set_active(
        &self,
        user_id: &str,
        active: bool,
        full: &Value,
    ) -> Result<Option<Value>, ScimError> {
        let mut full = full.clone();
        if let Some(o) = full.as_object_mut() {
            o.insert("active".into(), Value::Bool(active));
        }
        self.update_user(
            user_id,
            &[PatchOp::replace("active", Value::Bool(active))],
            &full,
        )
        .await
    }

    /// Deletes a user; a 404 means it is already gone, which is success. What DELETE does
    /// in this app is [`crate::scim::Profile::delete_semantics`].
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "delete_user"))]
    pub async fn delete_user(&self, user_id: &str) -> Result<(), ScimError> {
        self.delete_resource("delete_user", "Users", user_id).await
    }

    pub(crate) async fn delete_resource(
        &self,
        op: &'static str,
        endpoint: &str,
        rid: &str,
    ) -> Result<(), ScimError> {
        let _guard = self.write_guard(&format!("{endpoint}/{rid}")).await;
        let url = self.endpoint(&[endpoint, rid])?;
        let resp = self
            .send(op, Method::DELETE, url, None, Replay::Safe)
            .await?;
        match resp.status.as_u16() {
            404 => Ok(()),
            s if (200..300).contains(&s) => Ok(()),
            _ => Err(self.error_from(op, &format!("{endpoint}/{rid}"), &resp)),
        }
    }
}
