//! SCIM Bulk (RFC 7644 §3.7) for apps that advertise it: operations batched within
//! `maxOperations` and `maxPayloadSize`, a batch answered 413 split in halves and retried,
//! `bulkId` references resolved across batches, and one result per operation so the caller
//! can fall back to single requests for the ones that failed.

use std::collections::{BTreeMap, VecDeque};

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::bulk_batch::{batches, resolve_refs, status_of};
use super::client::ScimClient;
use super::error::{parse_error_body, ErrorBody, ScimError};
use super::patch::{patch_body, PatchOp};
use super::value::get_ci;
use super::BULK_REQUEST_SCHEMA;
use crate::http::Replay;

/// Batch size when the app advertises Bulk without `maxOperations`.
const DEFAULT_MAX_OPERATIONS: usize = 50;
/// Payload bound when the app advertises Bulk without `maxPayloadSize` (1 MiB).
const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;

/// Method of one bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Modify.
    Patch,
    /// Delete.
    Delete,
}

impl BulkMethod {
    fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation of a bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOp {
    /// Method.
    pub method: BulkMethod,
    /// Resource path relative to the base, e.g. `/Users` or `/Users/2819c223`.
    pub path: String,
    /// `bulkId`; one is generated when absent. Other operations may refer to a created
    /// resource as `"bulkId:<id>"` in their path or data.
    pub bulk_id: Option<String>,
    /// Body (the resource, or a PatchOp message).
    pub data: Option<Value>,
}

impl BulkOp {
    /// POST `/Users`.
    pub fn create_user(bulk_id: &str, user: Value) -> Self {
        BulkOp {
            method: BulkMethod::Post,
            path: "/Users".into(),
            bulk_id: Some(bulk_id.into()),
            data: Some(user),
        }
    }

    /// PATCH `/Users/{id}`.
    pub fn patch_user(user_id: &str, ops: &[PatchOp]) -> Self {
        BulkOp {
            method: BulkMethod::Patch,
            path: format!("/Users/{user_id}"),
            bulk_id: None,
            data: Some(patch_body(ops)),
        }
    }

    /// DELETE `/Users/{id}`.
    pub fn delete_user(user_id: &str) -> Self {
        BulkOp {
            method: BulkMethod::Delete,
            path: format!("/Users/{user_id}"),
            bulk_id: None,
            data: None,
        }
    }

    fn to_json(&self, bulk_id: &str) -> Value {
        let mut o = Map::new();
        o.insert("method".into(), Value::String(self.method.as_str().into()));
        o.insert("path".into(), Value::String(self.path.clone()));
        o.insert("bulkId".into(), Value::String(bulk_id.into()));
        if let Some(d) = &self.data {
            o.insert("data".into(), d.clone());
        }
        Value::Object(o)
    }
}

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResult {
    /// The operation's `bulkId` (given or generated).
    pub bulk_id: String,
    /// Its method.
    pub method: BulkMethod,
    /// HTTP status of the operation; 0 when the app gave none (its request failed in
    /// transport, or the response left the operation out).
    pub status: u16,
    /// `location` of the resource.
    pub location: Option<String>,
    /// The resource id (the last segment of `location`).
    pub id: Option<String>,
    /// The error the app reported for this operation.
    pub error: Option<ErrorBody>,
    /// The resource the app returned for a successful operation, when it did.
    pub response: Option<Value>,
}

impl BulkResult {
    /// True for a 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn failed(bulk_id: &str, method: BulkMethod, status: u16, detail: String) -> Self {
        BulkResult {
            bulk_id: bulk_id.to_string(),
            method,
            status,
            location: None,
            id: None,
            response: None,
            error: Some(ErrorBody {
                status: (status != 0).then_some(status),
                scim_type: None,
                detail: Some(detail),
            }),
        }
    }
}

impl ScimClient {
    /// Whether Bulk may be used: the profile allows it and the app advertises it.
    pub async fn bulk_supported(&self) -> bool {
        self.inner.profile.bulk
            && self
                .ensure_capabilities()
                .await
                .is_ok_and(|c| c.bulk.supported)
    }

    /// Sends operations with SCIM Bulk and returns one result per operation, in the order
    /// given. A failure of a whole batch (other than 413, which splits it) is reported on
    /// each of its operations and on every later one, which are not sent; only auth
    /// failures are an error of the call. [`ScimError::Unsupported`] when the app does not
    /// advertise Bulk.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "bulk", count = ops.len()))]
    pub async fn bulk(&self, ops: Vec<BulkOp>) -> Result<Vec<BulkResult>, ScimError> {
        let (max_ops, max_bytes) = self.bulk_limits().await?;
        let mut run = BulkRun::new(&ops);
        let mut queue = run.plan(max_ops, max_bytes);
        while let Some(batch) = queue.pop_front() {
            match self.send_batch(&mut run, &batch).await? {
                BatchFate::Answered => {}
                BatchFate::TooLarge => {
                    let (a, b) = batch.split_at(batch.len() / 2);
                    tracing::debug!(app = %self.inner.app, size = batch.len(), "Bulk payload too large; splitting.");
                    queue.push_front(b.to_vec());
                    queue.push_front(a.to_vec());
                }
                BatchFate::Failed(status, detail) => {
                    let rest = std::iter::once(batch).chain(queue.drain(..)).flatten();
                    for i in rest {
                        run.fail(i, status, detail.clone());
                    }
                }
            }
        }
        Ok(run.finish())
    }

    /// The app's batch limits (operations, bytes), or [`ScimError::Unsupported`] when Bulk
    /// may not be used.
    async fn bulk_limits(&self) -> Result<(usize, usize), ScimError> {
        let caps = self.ensure_capabilities().await?;
        if !self.inner.profile.bulk || !caps.bulk.supported {
            return Err(ScimError::Unsupported {
                app: self.inner.app.clone(),
                op: BULK_OP,
                detail: "the app does not advertise Bulk".into(),
            });
        }
        let max_ops = caps
            .bulk
            .max_operations
            .unwrap_or(DEFAULT_MAX_OPERATIONS)
            .max(1);
        let max_bytes = caps.bulk.max_payload_size.unwrap_or(DEFAULT_MAX_PAYLOAD);
        Ok((max_ops, max_bytes))
    }

    /// Sends one batch and records the app's answer per operation; an auth failure is an
    /// error of the whole call.
    async fn send_batch(
        &self,
        run: &mut BulkRun<'_>,
        batch: &[usize],
    ) -> Result<BatchFate, ScimError> {
        let body = run.request(batch);
        let has_post = batch.iter().any(|&i| run.ops[i].method == BulkMethod::Post);
        let replay = if has_post {
            Replay::OnlyIfUnprocessed
        } else {
            Replay::Safe
        };
        let url = self.endpoint(&["Bulk"])?;
        let sent = self
            .send(BULK_OP, Method::POST, url, Some(&body), replay)
            .await;
        Ok(match sent {
            Ok(resp) if resp.status.as_u16() == 413 && batch.len() > 1 => BatchFate::TooLarge,
            Ok(resp) if resp.status.is_success() => match self.json(BULK_OP, &resp) {
                Ok(doc) => {
                    run.record(&doc, batch);
                    BatchFate::Answered
                }
                Err(e) => BatchFate::Failed(0, e.to_string()),
            },
            Ok(resp) => match self.error_from(BULK_OP, "Bulk", &resp) {
                e @ ScimError::Unauthorized { .. } => return Err(e),
                e => BatchFate::Failed(resp.status.as_u16(), e.to_string()),
            },
            Err(e @ ScimError::Unauthorized { .. }) => return Err(e),
            Err(e) => BatchFate::Failed(0, e.to_string()),
        })
    }
}

/// The operation name bulk requests are logged and reported under.
const BULK_OP: &str = "bulk";

/// What became of one batch sent.
enum BatchFate {
    /// The app answered; each operation's result is recorded.
    Answered,
    /// The app found the batch too large: send its halves instead.
    TooLarge,
    /// The whole batch failed, with this status (0 = no HTTP answer) and detail.
    Failed(u16, String),
}

/// One bulk call in progress: the operations, their `bulkId`s, the results so far and
/// the ids created so far (for `bulkId:` references of later batches).
struct BulkRun<'a> {
    ops: &'a [BulkOp],
    bulk_ids: Vec<String>,
    results: Vec<Option<BulkResult>>,
    created: BTreeMap<String, String>,
}

impl<'a> BulkRun<'a> {
    fn new(ops: &'a [BulkOp]) -> Self {
        let bulk_ids = ops
            .iter()
            .enumerate()
            .map(|(i, op)| op.bulk_id.clone().unwrap_or_else(|| format!("hrsync-{i}")))
            .collect();
        BulkRun {
            ops,
            bulk_ids,
            results: vec![None; ops.len()],
            created: BTreeMap::new(),
        }
    }

    /// Batches the operations within the limits; one too large on its own fails here.
    fn plan(&mut self, max_ops: usize, max_bytes: usize) -> VecDeque<Vec<usize>> {
        let sizes: Vec<usize> = self
            .ops
            .iter()
            .zip(&self.bulk_ids)
            .map(|(op, b)| op.to_json(b).to_string().len())
            .collect();
        let (planned, too_big) = batches(&sizes, max_ops, max_bytes);
        for i in too_big {
            self.fail(
                i,
                413,
                format!("operation is larger than the app's maxPayloadSize of {max_bytes} bytes"),
            );
        }
        planned.into()
    }

    /// The BulkRequest of a batch, with references to resources created so far resolved.
    fn request(&self, batch: &[usize]) -> Value {
        let wire: Vec<Value> = batch
            .iter()
            .map(|&i| {
                let mut v = self.ops[i].to_json(&self.bulk_ids[i]);
                resolve_refs(&mut v, &self.created);
                v
            })
            .collect();
        json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": wire})
    }

    fn fail(&mut self, i: usize, status: u16, detail: String) {
        self.results[i] = Some(BulkResult::failed(
            &self.bulk_ids[i],
            self.ops[i].method,
            status,
            detail,
        ));
    }

    /// Reads a BulkResponse, matching operations by `bulkId` (or by position when the app
    /// leaves it out).
    fn record(&mut self, doc: &Value, batch: &[usize]) {
        let answered: Vec<Value> = doc
            .as_object()
            .and_then(|o| get_ci(o, "Operations"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let no_ids = answered
            .iter()
            .all(|a| a.as_object().and_then(|o| get_ci(o, "bulkId")).is_none());
        for (pos, &i) in batch.iter().enumerate() {
            let by_id = answered.iter().find(|a| {
                a.as_object()
                    .and_then(|o| get_ci(o, "bulkId"))
                    .and_then(Value::as_str)
                    == Some(self.bulk_ids[i].as_str())
            });
            let Some(a) = by_id
                .or(if no_ids { answered.get(pos) } else { None })
                .and_then(Value::as_object)
            else {
                self.fail(
                    i,
                    0,
                    "the app's bulk response did not mention this operation".into(),
                );
                continue;
            };
            let result = answer_of(a, &self.bulk_ids[i], self.ops[i].method);
            if let (BulkMethod::Post, Some(real), true) =
                (result.method, &result.id, result.error.is_none())
            {
                self.created.insert(self.bulk_ids[i].clone(), real.clone());
            }
            self.results[i] = Some(result);
        }
    }

    /// One result per operation, in the order given.
    fn finish(self) -> Vec<BulkResult> {
        let BulkRun {
            ops,
            bulk_ids,
            results,
            ..
        } = self;
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    BulkResult::failed(&bulk_ids[i], ops[i].method, 0, "no result".into())
                })
            })
            .collect()
    }
}

/// The result of one operation as the app's BulkResponse reports it: its status, the
/// created resource's location and id, and the error when it failed.
fn answer_of(a: &Map<String, Value>, bulk_id: &str, method: BulkMethod) -> BulkResult {
    let status = status_of(get_ci(a, "status"));
    let location = get_ci(a, "location")
        .and_then(Value::as_str)
        .map(str::to_string);
    let id = location
        .as_deref()
        .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let error = if (200..300).contains(&status) {
        None
    } else {
        Some(match get_ci(a, "response") {
            Some(r) => parse_error_body(r.to_string().as_bytes()),
            None => ErrorBody {
                status: Some(status),
                ..ErrorBody::default()
            },
        })
    };
    let response = match (&error, get_ci(a, "response")) {
        (None, Some(r)) if r.is_object() => Some(r.clone()),
        _ => None,
    };
    BulkResult {
        bulk_id: bulk_id.to_string(),
        method,
        status,
        location,
        id,
        error,
        response,
    }
}
