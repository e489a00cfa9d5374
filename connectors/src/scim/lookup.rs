//! Finding users: filtered searches verified client-side (a server that ignores a filter
//! must never cause a wrong link), lookups by the app's `match_on` order that refuse
//! ambiguity, and full listings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{lock, ScimClient};
use super::error::ScimError;
use super::filter::Filter;
use super::resource::id;

/// How an existing account is recognised before a create (`match_on` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MatchOn {
    /// The account's `externalId` is the HR key.
    #[serde(rename = "externalId")]
    ExternalId,
    /// The account's `userName` is the desired userName.
    #[serde(rename = "userName")]
    UserName,
    /// One of the account's emails is one of the person's emails.
    #[serde(rename = "emails")]
    Emails,
}

/// The searches one criterion stands for, with a label for messages.
fn searches(
    m: MatchOn,
    external_id: Option<&str>,
    user_name: Option<&str>,
    emails: &[String],
) -> Vec<(Filter, String)> {
    match m {
        MatchOn::ExternalId => external_id
            .map(|x| (Filter::external_id(x), format!("externalId {x:?}")))
            .into_iter()
            .collect(),
        MatchOn::UserName => user_name
            .map(|u| (Filter::user_name(u), format!("userName {u:?}")))
            .into_iter()
            .collect(),
        MatchOn::Emails => emails
            .iter()
            .map(|e| (Filter::email(e), format!("email {e:?}")))
            .collect(),
    }
}

/// Matches found so far: id → (resource, the criteria that found it).
type Found = BTreeMap<String, (Value, Vec<String>)>;

impl ScimClient {
    /// The terms of `filter` the app can evaluate (only the first when it cannot join terms
    /// with `and`), or `None`. Sending fewer terms only widens the answer, and every answer
    /// is checked against the whole filter.
    fn sendable(&self, filter: &Filter) -> Option<Filter> {
        let profile = &self.inner.profile;
        let refused = lock(&self.inner.unfilterable).clone();
        let mut terms: Vec<_> = filter
            .terms()
            .iter()
            .filter(|(p, _)| {
                profile.can_filter(p) && !refused.contains(&p.attr().to_ascii_lowercase())
            })
            .cloned()
            .collect();
        if !profile.filter_and {
            terms.truncate(1);
        }
        (!terms.is_empty()).then(|| Filter::from_terms(terms))
    }

    /// Runs a search; the resources returned are those that truly match `filter`.
    pub(crate) async fn search(
        &self,
        op: &'static str,
        endpoint: &str,
        filter: &Filter,
        full: &mut Option<Vec<Value>>,
    ) -> Result<Vec<Value>, ScimError> {
        let sent = self.sendable(filter);
        let raw = match &sent {
            Some(f) => match self.list(op, endpoint, Some(f)).await {
                Ok(r) => r,
                Err(ScimError::Rejected { status, .. }) if matches!(status, 400 | 501) => {
                    let attrs: Vec<String> = f
                        .terms()
                        .iter()
                        .map(|(p, _)| p.attr().to_ascii_lowercase())
                        .collect();
                    tracing::warn!(app = %self.inner.app, ?attrs, status, "App refused the filter; matching client-side from now on.");
                    lock(&self.inner.unfilterable).extend(attrs);
                    self.full_list(op, endpoint, full).await?
                }
                Err(e) => return Err(e),
            },
            None => self.full_list(op, endpoint, full).await?,
        };
        let returned = raw.len();
        let kept: Vec<Value> = raw.into_iter().filter(|r| filter.matches(r)).collect();
        if sent.is_some() && kept.len() < returned {
            tracing::warn!(app = %self.inner.app, returned, matching = kept.len(), "App returned resources outside the filter; they were ignored.");
        }
        Ok(kept)
    }

    async fn full_list(
        &self,
        op: &'static str,
        endpoint: &str,
        cache: &mut Option<Vec<Value>>,
    ) -> Result<Vec<Value>, ScimError> {
        if let Some(all) = cache {
            return Ok(all.clone());
        }
        let all = self.list(op, endpoint, None).await?;
        *cache = Some(all.clone());
        Ok(all)
    }

    /// Users matching `filter`: the server filters when the profile says it can (paged),
    /// and every result is checked here, so a server that ignores filters or answers 400
    /// to them still gives exactly the matching users.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "find_users"))]
    pub async fn find_users(&self, filter: &Filter) -> Result<Vec<Value>, ScimError> {
        self.search("find_users", "Users", filter, &mut None).await
    }

    /// Looks for an existing account of a person by each `match_on` criterion in order
    /// (filtering where the app can, else listing once and matching here). Every criterion
    /// is checked: if they lead to two different accounts, the answer is
    /// [`ScimError::Ambiguous`], never a guess. `Ok(None)`: no account matches.
    /// [`ScimError::Unsupported`] when no criterion can be searched in this app.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "lookup_user"))]
    pub async fn lookup_user(
        &self,
        match_on: &[MatchOn],
        external_id: Option<&str>,
        user_name: Option<&str>,
        emails: &[String],
    ) -> Result<Option<Value>, ScimError> {
        const OP: &str = "lookup_user";
        let mut full = None;
        let mut found = Found::new();
        let mut searched = 0usize;
        for &m in match_on {
            for (filter, label) in searches(m, external_id, user_name, emails) {
                let hits = match self.search(OP, "Users", &filter, &mut full).await {
                    Ok(h) => h,
                    Err(ScimError::Unsupported { detail, .. }) => {
                        tracing::debug!(app = %self.inner.app, criterion = %label, detail, "Criterion cannot be searched here.");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                searched += 1;
                self.collect(OP, &mut found, hits, &label)?;
            }
        }
        if searched == 0 {
            return Err(ScimError::Unsupported {
                app: self.inner.app.clone(),
                op: OP,
                detail: "none of the match_on criteria can be searched in this app".into(),
            });
        }
        self.single(OP, found)
    }

    /// The same decision as [`ScimClient::lookup_user`] over users already listed.
    pub fn lookup_in(
        &self,
        users: &[Value],
        match_on: &[MatchOn],
        external_id: Option<&str>,
        user_name: Option<&str>,
        emails: &[String],
    ) -> Result<Option<Value>, ScimError> {
        const OP: &str = "lookup_user";
        let mut found = Found::new();
        for &m in match_on {
            for (filter, label) in searches(m, external_id, user_name, emails) {
                let hits = users
                    .iter()
                    .filter(|u| filter.matches(u))
                    .cloned()
                    .collect();
                self.collect(OP, &mut found, hits, &label)?;
            }
        }
        self.single(OP, found)
    }

    fn collect(
        &self,
        op: &'static str,
        found: &mut Found,
        hits: Vec<Value>,
        label: &str,
    ) -> Result<(), ScimError> {
        for h in hits {
            let Some(rid) = id(&h).map(str::to_string) else {
                return Err(self.invalid(op, "a listed user has no id"));
            };
            found
                .entry(rid)
                .or_insert_with(|| (h, Vec::new()))
                .1
                .push(label.to_string());
        }
        Ok(())
    }

    fn single(&self, op: &'static str, found: Found) -> Result<Option<Value>, ScimError> {
        if found.len() > 1 {
            let mut criteria: Vec<String> = found
                .values()
                .flat_map(|(_, c)| c.iter().cloned())
                .collect();
            criteria.sort();
            criteria.dedup();
            return Err(ScimError::Ambiguous {
                app: self.inner.app.clone(),
                op,
                criteria: criteria.join(", "),
                ids: found.keys().cloned().collect(),
            });
        }
        Ok(found.into_values().next().map(|(v, _)| v))
    }

    /// Every user of the app, all pages.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "list_users"))]
    pub async fn list_users(&self) -> Result<Vec<Value>, ScimError> {
        self.list("list_users", "Users", None).await
    }

    /// [`ScimClient::list_users`], telling `on_page` how many users each page held as it
    /// arrives.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "list_users"))]
    pub async fn list_users_observed(
        &self,
        on_page: super::paging::OnPage<'_>,
    ) -> Result<Vec<Value>, ScimError> {
        self.list_observed("list_users", "Users", None, Some(on_page))
            .await
    }
}
