//! `/Bulk` (RFC 7644 §3.7): operations run in order, `bulkId:` references resolved (an
//! operation that refers to a later POST waits for it), `failOnErrors`, and 413 over the
//! profile's `maxOperations` / `maxPayloadSize`.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::imitation::BulkLimits;
use super::ops::{App, Reply};
use super::schema::Kind;

/// The URN of a bulk request.
pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The URN of a bulk response.
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

#[derive(Debug, Clone)]
struct BulkOp {
    method: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

/// `bulkId:` references in a path such as `/Users/bulkId:qwerty`.
fn path_refs(path: &str, out: &mut BTreeSet<String>) {
    for seg in path.split('/') {
        if let Some(id) = seg.strip_prefix("bulkId:") {
            out.insert(id.to_string());
        }
    }
}

fn substitute_path(path: &str, ids: &BTreeMap<String, String>) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                Some(id) => id.as_str(),
                None => seg,
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn refs_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                out.insert(id.to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| refs_in(x, out)),
        _ => {}
    }
}

fn substitute(v: &mut Value, ids: &BTreeMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

fn parse_op(i: usize, v: &Value) -> Result<BulkOp, ScimError> {
    let method = v["method"]
        .as_str()
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| ScimError::invalid_syntax(format!("operation {i}: method is required")))?;
    let path = v["path"]
        .as_str()
        .ok_or_else(|| ScimError::invalid_syntax(format!("operation {i}: path is required")))?
        .to_string();
    Ok(BulkOp {
        method,
        bulk_id: v["bulkId"].as_str().map(str::to_string),
        version: v["version"].as_str().map(str::to_string),
        path,
        data: v.get("data").cloned(),
    })
}

async fn execute(
    app: &App,
    op: &BulkOp,
    ids: &BTreeMap<String, String>,
    base: &str,
) -> Result<Reply, ScimError> {
    let path = substitute_path(&op.path, ids);
    let mut data = op.data.clone().unwrap_or(Value::Null);
    substitute(&mut data, ids);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let kind = match segs.first() {
        Some(&"Users") => Kind::User,
        Some(&"Groups") => Kind::Group,
        _ => {
            return Err(ScimError::invalid_path(format!(
                "{path} is not a resource path"
            )))
        }
    };
    let im = op.version.as_deref();
    let none = BTreeMap::new();
    match (op.method.as_str(), segs.get(1)) {
        ("POST", None) => {
            if op.bulk_id.is_none() {
                return Err(ScimError::invalid_syntax("bulkId is required for POST"));
            }
            app.create(kind, &data, base).await
        }
        ("PUT", Some(id)) => app.replace(kind, id, &data, im, base).await,
        ("PATCH", Some(id)) => app.patch(kind, id, &data, im, &none, base).await,
        ("DELETE", Some(id)) => app.delete(kind, id, im, base).await,
        (m, _) => Err(ScimError::invalid_syntax(format!(
            "{m} {path} is not a bulk operation"
        ))),
    }
}

fn op_result(op: &BulkOp, out: &Result<Reply, ScimError>) -> Value {
    let mut m = Map::new();
    m.insert("method".into(), json!(op.method));
    if let Some(b) = &op.bulk_id {
        m.insert("bulkId".into(), json!(b));
    }
    match out {
        Ok(r) => {
            let loc = r.location.clone().or_else(|| {
                r.body
                    .as_ref()
                    .and_then(|b| b["meta"]["location"].as_str().map(str::to_string))
            });
            if let Some(l) = loc {
                m.insert("location".into(), json!(l));
            }
            if let Some(v) = &r.etag {
                m.insert("version".into(), json!(v));
            }
            m.insert("status".into(), json!(r.status.to_string()));
            // The resource as stored, so a client learns the form the app keeps values in.
            if let Some(body) = &r.body {
                m.insert("response".into(), body.clone());
            }
        }
        Err(e) => {
            m.insert("status".into(), json!(e.status.to_string()));
            m.insert("response".into(), e.body(false));
        }
    }
    Value::Object(m)
}

/// Runs a bulk request.
pub async fn run(app: &App, body: &Bytes, base: &str) -> Result<Reply, ScimError> {
    let Some(limits) = app.profile.bulk_limits else {
        return Err(ScimError::new(
            501,
            None,
            "Bulk is not supported by this app",
        ));
    };
    let (ops, fail_on_errors) = read_request(body, limits)?;
    let mut progress = Progress::new(&ops);
    progress.run_all(app, &ops, fail_on_errors, base).await;
    let operations: Vec<Value> = progress.results.into_iter().flatten().collect();
    Ok(Reply::json(
        200,
        json!({"schemas": [BULK_RESPONSE_URN], "Operations": operations}),
    ))
}

/// Reads a BulkRequest within the app's limits: its operations and `failOnErrors`.
fn read_request(body: &Bytes, limits: BulkLimits) -> Result<(Vec<BulkOp>, Option<u64>), ScimError> {
    if body.len() > limits.max_payload_size {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "the request has {} bytes; maxPayloadSize is {}",
                body.len(),
                limits.max_payload_size
            ),
        ));
    }
    let req: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))?;
    let urn_ok = req["schemas"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s.as_str() == Some(BULK_REQUEST_URN)));
    if !urn_ok {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must list {BULK_REQUEST_URN}"
        )));
    }
    let raw_ops = req["Operations"]
        .as_array()
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be an array"))?;
    if raw_ops.len() > limits.max_operations {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "{} operations; maxOperations is {}",
                raw_ops.len(),
                limits.max_operations
            ),
        ));
    }
    let fail_on_errors =
        match &req["failOnErrors"] {
            Value::Null => None,
            v => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                ScimError::invalid_value("failOnErrors must be a positive integer")
            })?),
        };
    let ops = raw_ops
        .iter()
        .enumerate()
        .map(|(i, v)| parse_op(i, v))
        .collect::<Result<_, _>>()?;
    Ok((ops, fail_on_errors))
}

/// The bulkIds an operation refers to, in its path and its data.
fn refs_of(op: &BulkOp) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    path_refs(&op.path, &mut refs);
    if let Some(d) = &op.data {
        refs_in(d, &mut refs);
    }
    refs
}

/// Where a bulk request stands: the ids its creates got, the creates that failed, and
/// each operation's result once it ran.
struct Progress {
    posts: BTreeSet<String>,
    ids: BTreeMap<String, String>,
    failed_ids: BTreeSet<String>,
    results: Vec<Option<Value>>,
    errors: u64,
}

impl Progress {
    fn new(ops: &[BulkOp]) -> Self {
        Progress {
            posts: ops
                .iter()
                .filter(|o| o.method == "POST")
                .filter_map(|o| o.bulk_id.clone())
                .collect(),
            ids: BTreeMap::new(),
            failed_ids: BTreeSet::new(),
            results: vec![None; ops.len()],
            errors: 0,
        }
    }

    /// Runs operations in passes: one that refers to a create not yet run waits for a
    /// later pass; a pass where nothing can run ends the request.
    async fn run_all(&mut self, app: &App, ops: &[BulkOp], fail_on: Option<u64>, base: &str) {
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        while !pending.is_empty() {
            let mut deferred = Vec::new();
            for &i in &pending {
                if self.waits(&ops[i]) {
                    deferred.push(i);
                    continue;
                }
                self.run_one(app, i, &ops[i], base).await;
                if fail_on.is_some_and(|f| self.errors >= f) {
                    return;
                }
            }
            if deferred.len() == pending.len() {
                // Nothing could run: the references form a cycle or point at failed creates.
                self.unresolvable(ops, &deferred);
                return;
            }
            pending = deferred;
        }
    }

    /// Whether the operation refers to a create of this request that has not run yet.
    fn waits(&self, op: &BulkOp) -> bool {
        let refs = refs_of(op);
        let waiting = refs.iter().any(|r| {
            !self.ids.contains_key(r) && self.posts.contains(r) && !self.failed_ids.contains(r)
        });
        waiting && op.bulk_id.as_ref().is_none_or(|b| !refs.contains(b))
    }

    async fn run_one(&mut self, app: &App, i: usize, op: &BulkOp, base: &str) {
        let refs = refs_of(op);
        let out = match refs.iter().find(|r| !self.ids.contains_key(*r)) {
            Some(r) => Err(ScimError::new(
                409,
                Some("invalidValue"),
                format!("bulkId {r} could not be resolved"),
            )),
            None => execute(app, op, &self.ids, base).await,
        };
        match (&out, &op.bulk_id) {
            (Ok(r), Some(b)) if op.method == "POST" => {
                if let Some(id) = r.body.as_ref().and_then(|v| v["id"].as_str()) {
                    self.ids.insert(b.clone(), id.to_string());
                }
            }
            (Err(_), Some(b)) => {
                self.failed_ids.insert(b.clone());
            }
            _ => {}
        }
        if out.is_err() {
            self.errors += 1;
        }
        self.results[i] = Some(op_result(op, &out));
    }

    fn unresolvable(&mut self, ops: &[BulkOp], deferred: &[usize]) {
        for &i in deferred {
            let e = ScimError::new(
                409,
                Some("invalidValue"),
                "bulkId references could not be resolved",
            );
            self.results[i] = Some(op_result(&ops[i], &Err(e)));
        }
    }
}
