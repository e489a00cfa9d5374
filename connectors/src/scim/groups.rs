//! Group operations of [`ScimClient`]: create, find by name, list, read, delete, and
//! membership changes in batches of the profile's maximum, with the chain of member-removal
//! forms apps accept (RFC valuePath → value array → replace the list → PUT the group),
//! remembering the first that demonstrably works.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{lock, ScimClient, WriteMode};
use super::error::ScimError;
use super::filter::Filter;
use super::patch::{
    member_add_batches, member_remove_batches, members_value, patch_body, PatchOp, RemovalForm,
};
use super::resource::{id, member_entry_id, member_ids};
use super::value::{get_ci, key_ci};
use super::GROUP_SCHEMA;
use crate::http::Replay;

impl ScimClient {
    /// Creates a group with no members and returns it. 409 is [`ScimError::Conflict`].
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "create_group"))]
    pub async fn create_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
    ) -> Result<Value, ScimError> {
        const OP: &str = "create_group";
        let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name});
        if let (Some(x), Some(o)) = (external_id, body.as_object_mut()) {
            o.insert("externalId".into(), Value::String(x.to_string()));
        }
        let url = self.endpoint(&["Groups"])?;
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
            return Err(self.error_from(OP, "Groups", &resp));
        }
        let group = self.json(OP, &resp)?;
        if id(&group).is_none() {
            return Err(self.invalid(OP, "the created group has no id"));
        }
        Ok(group)
    }

    /// The group with this `displayName` (compared case-insensitively, verified here);
    /// [`ScimError::Ambiguous`] when several have it.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "find_group_by_name"))]
    pub async fn find_group_by_name(&self, name: &str) -> Result<Option<Value>, ScimError> {
        const OP: &str = "find_group_by_name";
        let mut hits = self
            .search(OP, "Groups", &Filter::display_name(name), &mut None)
            .await?;
        if hits.len() > 1 {
            return Err(ScimError::Ambiguous {
                app: self.inner.app.clone(),
                op: OP,
                criteria: format!("displayName {name:?}"),
                ids: hits.iter().filter_map(id).map(str::to_string).collect(),
            });
        }
        Ok(hits.pop())
    }

    /// Every group of the app, all pages.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "list_groups"))]
    pub async fn list_groups(&self) -> Result<Vec<Value>, ScimError> {
        self.list("list_groups", "Groups", None).await
    }

    /// Reads a group; `None` on 404. Some apps (AWS) return it without members.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "get_group"))]
    pub async fn get_group(&self, group_id: &str) -> Result<Option<Value>, ScimError> {
        self.get_resource("get_group", "Groups", group_id).await
    }

    /// Deletes a group; 404 means already gone.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "delete_group"))]
    pub async fn delete_group(&self, group_id: &str) -> Result<(), ScimError> {
        self.delete_resource("delete_group", "Groups", group_id)
            .await
    }

    /// Adds members, at most the profile's maximum per request (PUT of the group with the
    /// members added when the app does not take PATCH).
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "add_members", count = ids.len()))]
    pub async fn add_members(&self, group_id: &str, ids: &[String]) -> Result<(), ScimError> {
        const OP: &str = "add_members";
        if ids.is_empty() {
            return Ok(());
        }
        let _guard = self.write_guard(&format!("Groups/{group_id}")).await;
        if self.write_mode() == WriteMode::Put {
            return self.put_members(OP, group_id, ids, &[]).await;
        }
        let max = self.inner.profile.max_members_per_patch;
        for (i, batch) in member_add_batches(ids, max).iter().enumerate() {
            let status = self.patch_group(OP, group_id, batch).await?;
            if matches!(status, 405 | 501) {
                self.use_put_from_now_on();
                let rest = &ids[(i * max.max(1)).min(ids.len())..];
                return self.put_members(OP, group_id, rest, &[]).await;
            }
        }
        Ok(())
    }

    /// Removes members. Tries the profile's removal forms in order (the one remembered
    /// first), moving on when the app answers 400/405/501, or answers success but the
    /// members are still there when the group is read back; the form that works is kept
    /// for this app.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "remove_members", count = ids.len()))]
    pub async fn remove_members(&self, group_id: &str, ids: &[String]) -> Result<(), ScimError> {
        const OP: &str = "remove_members";
        if ids.is_empty() {
            return Ok(());
        }
        let _guard = self.write_guard(&format!("Groups/{group_id}")).await;
        let readable = self.inner.profile.group_members_readable;
        let remembered = self.removal_form();
        let mut last = None;
        for form in self.removal_chain(remembered, readable) {
            match self.remove_with(OP, form, group_id, ids).await {
                Ok(()) if remembered == Some(form) || !readable => {
                    *lock(&self.inner.removal_form) = Some(form);
                    return Ok(());
                }
                Ok(()) => {
                    let left = self.members_left(OP, group_id, ids).await?;
                    if left == 0 {
                        tracing::info!(app = %self.inner.app, ?form, "Member removal form works; keeping it.");
                        *lock(&self.inner.removal_form) = Some(form);
                        return Ok(());
                    }
                    tracing::warn!(app = %self.inner.app, ?form, left, "App accepted the member removal but did not apply it.");
                    last = Some(self.invalid(
                        OP,
                        format!("{form:?} removal answered success but {left} member(s) remain"),
                    ));
                }
                Err(
                    e @ ScimError::Rejected {
                        status: 400 | 405 | 501,
                        ..
                    },
                ) => {
                    tracing::debug!(app = %self.inner.app, ?form, error = %e, "Member removal form refused.");
                    if remembered == Some(form) {
                        *lock(&self.inner.removal_form) = None;
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ScimError::Unsupported {
            app: self.inner.app.clone(),
            op: OP,
            detail: "no member removal form is available".into(),
        }))
    }

    /// The removal forms to try, in order, each once: the remembered one first, then the
    /// profile's; only PUT once the app has refused PATCH. Forms that rewrite the member
    /// list need it readable.
    fn removal_chain(&self, remembered: Option<RemovalForm>, readable: bool) -> Vec<RemovalForm> {
        let mut chain: Vec<RemovalForm> = if self.write_mode() == WriteMode::Put {
            vec![RemovalForm::PutGroup]
        } else {
            remembered
                .into_iter()
                .chain(self.inner.profile.member_removal.iter().copied())
                .collect()
        };
        let mut seen = BTreeSet::new();
        chain.retain(|f| seen.insert(*f));
        chain.retain(|f| {
            readable || !matches!(f, RemovalForm::ReplaceMembers | RemovalForm::PutGroup)
        });
        chain
    }

    /// How many of `ids` the group, read back, still holds.
    async fn members_left(
        &self,
        op: &'static str,
        group_id: &str,
        ids: &[String],
    ) -> Result<usize, ScimError> {
        let group = self.get_resource(op, "Groups", group_id).await?;
        Ok(group
            .as_ref()
            .map(member_ids)
            .unwrap_or_default()
            .into_iter()
            .filter(|m| ids.contains(m))
            .count())
    }

    async fn remove_with(
        &self,
        op: &'static str,
        form: RemovalForm,
        group_id: &str,
        ids: &[String],
    ) -> Result<(), ScimError> {
        let profile = &self.inner.profile;
        match form {
            RemovalForm::ValuePath | RemovalForm::ValueArray => {
                let batches = member_remove_batches(
                    ids,
                    profile.max_members_per_patch,
                    form,
                    profile.member_value_quoted,
                );
                for batch in batches {
                    let status = self.patch_group(op, group_id, &batch).await?;
                    if matches!(status, 405 | 501) {
                        return Err(self.not_supported(op, status));
                    }
                }
                Ok(())
            }
            RemovalForm::ReplaceMembers => {
                let group = self.must_get_group(op, group_id).await?;
                let remaining = remaining_members(&group, &[], ids);
                let ops = [PatchOp::replace("members", remaining)];
                let status = self.patch_group(op, group_id, &ops).await?;
                if matches!(status, 405 | 501) {
                    return Err(self.not_supported(op, status));
                }
                Ok(())
            }
            RemovalForm::PutGroup => self.put_members(op, group_id, &[], ids).await,
        }
    }

    fn not_supported(&self, op: &'static str, status: u16) -> ScimError {
        ScimError::Rejected {
            app: self.inner.app.clone(),
            op,
            status,
            scim_type: None,
            detail: "PATCH not supported".into(),
        }
    }

    /// PATCHes a group: `Ok(status)` for 2xx and for 405/501 (the caller falls back),
    /// the mapped error otherwise.
    async fn patch_group(
        &self,
        op: &'static str,
        group_id: &str,
        ops: &[PatchOp],
    ) -> Result<u16, ScimError> {
        let url = self.endpoint(&["Groups", group_id])?;
        let resp = self
            .send(op, Method::PATCH, url, Some(&patch_body(ops)), Replay::Safe)
            .await?;
        let status = resp.status.as_u16();
        if resp.status.is_success() || matches!(status, 405 | 501) {
            Ok(status)
        } else {
            Err(self.error_from(op, &format!("Groups/{group_id}"), &resp))
        }
    }

    async fn must_get_group(&self, op: &'static str, group_id: &str) -> Result<Value, ScimError> {
        self.get_resource(op, "Groups", group_id)
            .await?
            .ok_or_else(|| ScimError::NotFound {
                app: self.inner.app.clone(),
                op,
                what: format!("Groups/{group_id}"),
            })
    }

    /// PUT of the group as read, with members added and removed.
    async fn put_members(
        &self,
        op: &'static str,
        group_id: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), ScimError> {
        if !self.inner.profile.group_members_readable {
            return Err(ScimError::Unsupported {
                app: self.inner.app.clone(),
                op,
                detail: "the app does not show group members, so the group cannot be rewritten"
                    .into(),
            });
        }
        let mut group = self.must_get_group(op, group_id).await?;
        let members = remaining_members(&group, add, remove);
        if let Some(o) = group.as_object_mut() {
            o.retain(|k, _| !k.eq_ignore_ascii_case("meta"));
            let key = key_ci(o, "members");
            o.insert(key, members);
            if !o.contains_key("schemas") {
                o.insert("schemas".into(), json!([GROUP_SCHEMA]));
            }
        }
        let url = self.endpoint(&["Groups", group_id])?;
        let resp = self
            .send(op, Method::PUT, url, Some(&group), Replay::Safe)
            .await?;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(self.error_from(op, &format!("Groups/{group_id}"), &resp))
        }
    }
}

/// The group's member entries without `remove`, plus `add` not already there.
fn remaining_members(group: &Value, add: &[String], remove: &[String]) -> Value {
    let current: Vec<Value> = group
        .as_object()
        .and_then(|o| get_ci(o, "members"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut kept: Vec<Value> = current
        .into_iter()
        .filter(|m| member_entry_id(m).is_none_or(|i| !remove.contains(&i)))
        .collect();
    let present: BTreeSet<String> = kept.iter().filter_map(member_entry_id).collect();
    let new: Vec<String> = add
        .iter()
        .filter(|a| !present.contains(*a))
        .cloned()
        .collect();
    if let Value::Array(extra) = members_value(&new) {
        kept.extend(extra);
    }
    Value::Array(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_members_keeps_entries_and_adds_new_ids() {
        let g = json!({"members": [{"value": "u1", "display": "One"}, {"value": "u2"}, {"value": "u3"}]});
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            remaining_members(&g, &s(&["u3", "u4"]), &s(&["u2"])),
            json!([{"value": "u1", "display": "One"}, {"value": "u3"}, {"value": "u4"}])
        );
        assert_eq!(remaining_members(&json!({}), &[], &s(&["u1"])), json!([]));
    }
}
