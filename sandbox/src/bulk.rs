//! `/Bulk` (RFC 7644 §3.7): operations run in order, `bulkId:` references resolved (an
//! operation that refers to a later POST waits for it), `failOnErrors`, and 413 over the
//! profile's `maxOperations` / `maxPayloadSize`.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use serde_json::{json, Map, Value};

use super::error::ScimError;
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
    let ops: Vec<BulkOp> = raw_ops
        .iter()
        .enumerate()
        .map(|(i, v)| parse_op(i, v))
        .collect::<Result<_, _>>()?;
    let posts: BTreeSet<String> = ops
        .iter()
        .filter(|o| o.method == "POST")
        .filter_map(|o| o.bulk_id.clone())
        .collect();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut failed_ids: BTreeSet<String> = BTreeSet::new();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    let mut errors = 0u64;
    'passes: while !pending.is_empty() {
        let mut deferred = Vec::new();
        for &i in &pending {
            let op = &ops[i];
            let mut refs = BTreeSet::new();
            path_refs(&op.path, &mut refs);
            if let Some(d) = &op.data {
                refs_in(d, &mut refs);
            }
            let waiting = refs
                .iter()
                .any(|r| !ids.contains_key(r) && posts.contains(r) && !failed_ids.contains(r));
            if waiting && op.bulk_id.as_ref().is_none_or(|b| !refs.contains(b)) {
                deferred.push(i);
                continue;
            }
            let out = match refs.iter().find(|r| !ids.contains_key(*r)) {
                Some(r) => Err(ScimError::new(
                    409,
                    Some("invalidValue"),
                    format!("bulkId {r} could not be resolved"),
                )),
                None => execute(app, op, &ids, base).await,
            };
            match (&out, &op.bulk_id) {
                (Ok(r), Some(b)) if op.method == "POST" => {
                    if let Some(id) = r.body.as_ref().and_then(|v| v["id"].as_str()) {
                        ids.insert(b.clone(), id.to_string());
                    }
                }
                (Err(_), Some(b)) => {
                    failed_ids.insert(b.clone());
                }
                _ => {}
            }
            if out.is_err() {
                errors += 1;
            }
            results[i] = Some(op_result(op, &out));
            if fail_on_errors.is_some_and(|f| errors >= f) {
                break 'passes;
            }
        }
        if deferred.len() == pending.len() {
            // Nothing could run: the references form a cycle or point at failed creates.
            for &i in &deferred {
                let e = ScimError::new(
                    409,
                    Some("invalidValue"),
                    "bulkId references could not be resolved",
                );
                results[i] = Some(op_result(&ops[i], &Err(e)));
            }
            break;
        }
        pending = deferred;
    }
    let operations: Vec<Value> = results.into_iter().flatten().collect();
    Ok(Reply::json(
        200,
        json!({"schemas": [BULK_RESPONSE_URN], "Operations": operations}),
    ))
}
