//! The fake's request handling: one fallback handler that records the request, checks the
//! token and dispatches on method and path.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use hrsync_connectors::scim::RemovalForm;
use serde_json::{json, Value};

use super::query::{eval_filter, parse_query};
use super::{Paging, PatchMode, Seen, Store, TOKEN};

type Shared = Arc<Mutex<Store>>;

fn reply(status: u16, body: Option<&Value>) -> Response {
    let b = Response::builder()
        .status(StatusCode::from_u16(status).expect("status"))
        .header("content-type", "application/scim+json");
    match body {
        Some(v) => b.body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .expect("response")
}

fn error(s: &Store, status: u16, scim_type: Option<&str>, detail: &str) -> Response {
    let st = if s.knobs.status_as_int {
        json!(status)
    } else {
        json!(status.to_string())
    };
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": st, "detail": detail
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    reply(status, Some(&body))
}

/// Handles every request.
pub async fn handle(
    State(store): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/scim/v2")
        .unwrap_or(uri.path())
        .to_string();
    let query = parse_query(uri.query());
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();
    let delay = {
        let mut s = store.lock().expect("store");
        let mut hs = BTreeMap::new();
        for k in ["content-type", "accept", "user-agent"] {
            if let Some(v) = headers.get(k).and_then(|v| v.to_str().ok()) {
                hs.insert(k.to_string(), v.to_string());
            }
        }
        s.seen.push(Seen {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            body: json_body.clone(),
            headers: hs,
        });
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if auth != format!("Bearer {TOKEN}") {
            // An empty 401, as some apps send.
            return reply(401, None);
        }
        let write = matches!(method.as_str(), "PUT" | "PATCH" | "DELETE");
        let delay = s.knobs.write_delay_ms;
        if write && delay > 0 {
            let n = s.in_flight.entry(path.clone()).or_default();
            *n += 1;
            let now = *n;
            s.max_in_flight = s.max_in_flight.max(now);
            Some(Duration::from_millis(delay))
        } else {
            None
        }
    };
    if let Some(d) = delay {
        // Hold the write "in progress" for a while so overlapping writes can be seen.
        tokio::time::sleep(d).await;
        if let Some(n) = store.lock().expect("store").in_flight.get_mut(&path) {
            *n -= 1;
        }
    }
    let mut s = store.lock().expect("store");
    let segs: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
    let b = json_body.unwrap_or(Value::Null);
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["ServiceProviderConfig"]) if s.knobs.plural_discovery_only => {
            reply(404, Some(&json!({"message": "no such endpoint"})))
        }
        ("GET", ["ServiceProviderConfig" | "ServiceProviderConfigs"]) => {
            let bulk = match s.knobs.bulk {
                Some((max, _)) => {
                    json!({"supported": true, "maxOperations": max, "maxPayloadSize": 1048576})
                }
                None => json!({"supported": false}),
            };
            let doc = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": s.knobs.advertise_patch},
                "bulk": bulk,
                "filter": {"supported": true, "maxResults": 1000},
                "etag": {"supported": false}, "sort": {"supported": false},
                "changePassword": {"supported": false}
            });
            reply(200, Some(&doc))
        }
        ("POST", ["Users"]) => create(&mut s, "Users", b).0,
        ("GET", ["Users" | "Groups"]) => list(&s, segs[0], &query),
        ("GET", [kind @ ("Users" | "Groups"), id]) => match coll(&mut s, kind).get(*id) {
            Some(r) => reply(200, Some(r)),
            None => error(&s, 404, None, &format!("{kind}/{id} not found")),
        },
        ("PUT", ["Users", id]) => put(&mut s, "Users", id, b),
        ("PATCH", ["Users", id]) => patch_user(&mut s, id, &b),
        ("DELETE", [kind @ ("Users" | "Groups"), id]) => match coll(&mut s, kind).remove(*id) {
            Some(_) => reply(204, None),
            None => error(&s, 404, None, "not found"),
        },
        ("POST", ["Groups"]) => create(&mut s, "Groups", b).0,
        ("PUT", ["Groups", id]) => {
            if !s.knobs.removal_ok.contains(&RemovalForm::PutGroup) {
                return error(&s, 400, Some("invalidSyntax"), "PUT of groups not accepted");
            }
            if s.knobs.removal_silent.contains(&RemovalForm::PutGroup) {
                let g = s.groups.get(*id).cloned();
                return reply(200, g.as_ref());
            }
            put(&mut s, "Groups", id, b)
        }
        ("PATCH", ["Groups", id]) => patch_group(&mut s, id, &b),
        ("POST", ["Bulk"]) => bulk(&mut s, &b),
        _ => error(&s, 404, None, "no such endpoint"),
    }
}

fn coll<'a>(s: &'a mut Store, kind: &str) -> &'a mut BTreeMap<String, Value> {
    if kind == "Users" {
        &mut s.users
    } else {
        &mut s.groups
    }
}

fn unique_key(kind: &str) -> &'static str {
    if kind == "Users" {
        "userName"
    } else {
        "displayName"
    }
}

fn taken(s: &mut Store, kind: &str, r: &Value, except: Option<&str>) -> bool {
    let key = unique_key(kind);
    let Some(name) = r[key].as_str().map(str::to_lowercase) else {
        return false;
    };
    coll(s, kind).iter().any(|(id, other)| {
        Some(id.as_str()) != except
            && other[key].as_str().map(str::to_lowercase).as_deref() == Some(name.as_str())
    })
}

/// Creates a resource; returns the response and the new id.
pub fn create(s: &mut Store, kind: &str, mut r: Value) -> (Response, Option<String>) {
    if !r.is_object() || r[unique_key(kind)].as_str().is_none() {
        return (
            error(s, 400, Some("invalidValue"), "missing required attribute"),
            None,
        );
    }
    if taken(s, kind, &r, None) {
        return (error(s, 409, Some("uniqueness"), "already exists"), None);
    }
    let id = s.new_id(if kind == "Users" { "u" } else { "g" });
    r["id"] = json!(id);
    r["meta"] =
        json!({"resourceType": kind.trim_end_matches('s'), "location": format!("/{kind}/{id}")});
    if kind == "Groups" && r.get("members").is_none() {
        r["members"] = json!([]);
    }
    coll(s, kind).insert(id.clone(), r.clone());
    (reply(201, Some(&r)), Some(id))
}

fn put(s: &mut Store, kind: &str, id: &str, mut r: Value) -> Response {
    if !coll(s, kind).contains_key(id) {
        return error(s, 404, None, "not found");
    }
    if taken(s, kind, &r, Some(id)) {
        return error(s, 409, Some("uniqueness"), "already exists");
    }
    r["id"] = json!(id);
    coll(s, kind).insert(id.to_string(), r.clone());
    reply(200, Some(&r))
}

fn list(s: &Store, kind: &str, q: &BTreeMap<String, String>) -> Response {
    let all: Vec<&Value> = if kind == "Users" {
        s.users.values().collect()
    } else {
        s.groups.values().collect()
    };
    let mut hits = Vec::new();
    match q.get("filter") {
        Some(_) if s.knobs.reject_filters => {
            return error(s, 400, Some("invalidFilter"), "filtering is not supported")
        }
        Some(f) if !s.knobs.ignore_filter => {
            for r in all {
                match eval_filter(f, r) {
                    Ok(true) => hits.push(r.clone()),
                    Ok(false) => {}
                    Err(e) => return error(s, 400, Some("invalidFilter"), &e),
                }
            }
        }
        _ => hits = all.into_iter().cloned().collect(),
    }
    let total = hits.len();
    let count = q
        .get("count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(100)
        .min(s.knobs.page_cap);
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
    });
    let (from, next) = match s.knobs.paging {
        Paging::Cursor => {
            if q.contains_key("startIndex") {
                return error(s, 400, Some("invalidValue"), "startIndex is not supported");
            }
            let from = q
                .get("cursor")
                .and_then(|c| c.strip_prefix('c'))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let next = (from + count < total).then(|| format!("c{}", from + count));
            (from, next)
        }
        Paging::Index | Paging::IgnoreStartIndex => {
            let mut start = q
                .get("startIndex")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1);
            if s.knobs.paging == Paging::IgnoreStartIndex {
                start = 1;
            }
            body["startIndex"] = json!(start);
            (start - 1, None)
        }
    };
    let page: Vec<Value> = hits.into_iter().skip(from).take(count).collect();
    body["itemsPerPage"] = json!(page.len());
    body["Resources"] = Value::Array(page);
    if let Some(n) = next {
        body["nextCursor"] = json!(n);
    }
    reply(200, Some(&body))
}

fn patch_refused(s: &Store) -> Option<Response> {
    match s.knobs.patch {
        PatchMode::NotImplemented => Some(error(s, 501, None, "PATCH is not implemented")),
        PatchMode::BadRequest => Some(error(s, 400, Some("invalidSyntax"), "PATCH not understood")),
        _ => None,
    }
}

fn patched(s: &Store, r: &Value) -> Response {
    match s.knobs.patch {
        PatchMode::NoContent => reply(204, None),
        _ => reply(200, Some(r)),
    }
}

fn ops_of(b: &Value) -> Vec<Value> {
    b["Operations"].as_array().cloned().unwrap_or_default()
}

/// Applies a user PATCH (simple, dotted and `attr[type eq "x"].sub` paths, no-path objects).
pub fn apply_user_ops(user: &mut Value, ops: &[Value]) -> Result<(), String> {
    for op in ops {
        let kind = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let Some(path) = op["path"].as_str() else {
            for (k, v) in value.as_object().ok_or("no-path op needs an object")? {
                user[k] = v.clone();
            }
            continue;
        };
        if let Some((attr, rest)) = path.split_once('[') {
            let (sel, sub) = rest.split_once("].").ok_or("bad value path")?;
            let want: Value = serde_json::from_str(sel.split_once(" eq ").ok_or("bad filter")?.1)
                .map_err(|e| e.to_string())?;
            let entries = user[attr].as_array_mut().ok_or("noTarget")?;
            let e = entries
                .iter_mut()
                .find(|e| e["type"] == want)
                .ok_or("noTarget")?;
            if kind == "remove" {
                e.as_object_mut().map(|o| o.remove(sub));
            } else {
                e[sub] = value;
            }
        } else if let Some((a, b)) = path.rsplit_once('.').filter(|_| !path.starts_with("urn:")) {
            if kind == "remove" {
                user[a].as_object_mut().map(|o| o.remove(b));
            } else {
                user[a][b] = value;
            }
        } else if kind == "remove" {
            user.as_object_mut().map(|o| o.remove(path));
        } else if kind == "add" && value.is_array() && user[path].is_array() {
            let arr = user[path].as_array_mut().ok_or("not an array")?;
            arr.extend(value.as_array().cloned().unwrap_or_default());
        } else {
            user[path] = value;
        }
    }
    Ok(())
}

fn patch_user(s: &mut Store, id: &str, b: &Value) -> Response {
    if let Some(r) = patch_refused(s) {
        return r;
    }
    let Some(mut user) = s.users.get(id).cloned() else {
        return error(s, 404, None, "not found");
    };
    if let Err(e) = apply_user_ops(&mut user, &ops_of(b)) {
        return error(s, 400, Some("noTarget"), &e);
    }
    s.users.insert(id.to_string(), user.clone());
    patched(s, &user)
}

fn member_id(v: &Value) -> String {
    v["value"].as_str().unwrap_or_default().to_string()
}

fn patch_group(s: &mut Store, id: &str, b: &Value) -> Response {
    if let Some(r) = patch_refused(s) {
        return r;
    }
    let Some(mut g) = s.groups.get(id).cloned() else {
        return error(s, 404, None, "not found");
    };
    for op in ops_of(b) {
        let kind = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
        let path = op["path"].as_str().unwrap_or_default();
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let form = match (kind.as_str(), path) {
            ("remove", p) if p.starts_with("members[") => Some(RemovalForm::ValuePath),
            ("remove", "members") => Some(RemovalForm::ValueArray),
            ("replace", "members") => Some(RemovalForm::ReplaceMembers),
            _ => None,
        };
        if let Some(f) = form {
            if !s.knobs.removal_ok.contains(&f) {
                return error(s, 400, Some("invalidPath"), &format!("{f:?} not supported"));
            }
            if s.knobs.removal_silent.contains(&f) {
                continue;
            }
        }
        let members = g["members"].as_array().cloned().unwrap_or_default();
        let kept: Vec<Value> = match (kind.as_str(), form) {
            ("add", _) if path == "members" => {
                let mut m = members;
                for v in value.as_array().cloned().unwrap_or_default() {
                    if !m.iter().any(|x| member_id(x) == member_id(&v)) {
                        m.push(v);
                    }
                }
                m
            }
            (_, Some(RemovalForm::ValuePath)) => {
                let raw = path
                    .trim_start_matches("members[value eq ")
                    .trim_end_matches(']');
                let target = serde_json::from_str::<String>(raw).unwrap_or(raw.to_string());
                members
                    .into_iter()
                    .filter(|m| member_id(m) != target)
                    .collect()
            }
            (_, Some(RemovalForm::ValueArray)) => {
                let gone: Vec<String> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(member_id)
                    .collect();
                members
                    .into_iter()
                    .filter(|m| !gone.contains(&member_id(m)))
                    .collect()
            }
            (_, Some(_)) => value.as_array().cloned().unwrap_or_default(),
            _ => {
                g[path] = value;
                members
            }
        };
        g["members"] = Value::Array(kept);
    }
    s.groups.insert(id.to_string(), g.clone());
    patched(s, &g)
}

fn bulk(s: &mut Store, b: &Value) -> Response {
    let Some((_, limit)) = s.knobs.bulk else {
        return error(s, 404, None, "no bulk");
    };
    let ops = ops_of(b);
    if ops.len() > limit {
        return error(s, 413, None, "too many operations");
    }
    let mut out = Vec::new();
    for op in ops {
        let method = op["method"].as_str().unwrap_or_default().to_string();
        let path = op["path"].as_str().unwrap_or_default().to_string();
        let data = op.get("data").cloned().unwrap_or(Value::Null);
        let mut res = json!({"method": method, "bulkId": op["bulkId"]});
        let id = path
            .trim_start_matches("/Users")
            .trim_start_matches('/')
            .to_string();
        let status = match method.as_str() {
            "POST" => match create(s, "Users", data) {
                (_, Some(new)) => {
                    res["location"] = json!(format!("https://fake/scim/v2/Users/{new}"));
                    201
                }
                (_, None) => {
                    res["response"] = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "status": "409", "scimType": "uniqueness", "detail": "already exists"});
                    409
                }
            },
            "PATCH" => match s.users.get(&id).cloned() {
                Some(mut u) => {
                    let applied = apply_user_ops(&mut u, &ops_of(&data));
                    s.users.insert(id.clone(), u);
                    res["location"] = json!(format!("https://fake/scim/v2/Users/{id}"));
                    if applied.is_ok() {
                        200
                    } else {
                        400
                    }
                }
                None => 404,
            },
            "DELETE" => {
                if s.users.remove(&id).is_some() {
                    204
                } else {
                    404
                }
            }
            _ => 400,
        };
        res["status"] = json!(status.to_string());
        out.push(res);
    }
    reply(
        200,
        Some(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": out}),
        ),
    )
}
