//! What the client does with a profile's facts before it sends: checks a create against the
//! app's requirements and adapts users and PATCH operations to the app's quirks.

use serde_json::{Map, Value};

use super::Profile;
use crate::scim::patch::{PatchKind, PatchOp};
use crate::scim::path::AttrPath;
use crate::scim::resource::{get_ci, mark_primary_email, user_name, values_at};
use crate::scim::ENTERPRISE_SCHEMA;

/// Multi-valued attributes a single-valued app keeps one entry of.
const SINGLE_VALUED: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];

impl Profile {
    /// Checks a User about to be created against the app's documented requirements.
    pub fn check_create(&self, user: &Value) -> Result<(), String> {
        let mut missing = Vec::new();
        let required = self.required_on_create.iter().chain(self.checked_on_create);
        for req in required {
            let Ok(path) = AttrPath::parse(req) else {
                continue;
            };
            let present = values_at(user, &path).iter().any(|v| match v {
                Value::String(s) => !s.trim().is_empty(),
                Value::Null => false,
                Value::Object(o) => get_ci(o, "value").is_some(),
                _ => true,
            });
            if !present {
                missing.push(*req);
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "{} requires {} on create",
                self.name,
                missing.join(", ")
            ));
        }
        if let (Some(max), Some(name)) = (self.user_name_max_len, user_name(user)) {
            let n = name.chars().count();
            if n > max {
                return Err(format!(
                    "userName {name:?} has {n} characters; {} accepts at most {max}",
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// Adapts a full User (create or PUT) to the app: manager key, single-valued
    /// multi-valued attributes, and a primary email for the apps that need one marked.
    pub fn adapt_user(&self, user: &mut Value) {
        let Some(root) = user.as_object_mut() else {
            return;
        };
        self.adapt_manager(root);
        // Marked before one value is kept, so the work email is the one kept.
        if self.single_valued_multi || self.primary_email_in_patch {
            mark_primary_email(root);
        }
        if self.single_valued_multi {
            for (key, v) in root.iter_mut() {
                let multi = SINGLE_VALUED.iter().any(|m| m.eq_ignore_ascii_case(key));
                if let (true, Value::Array(entries)) = (multi, v) {
                    keep_one(entries);
                }
            }
        }
    }

    /// Adapts one PATCH operation to the app (see the profile fields for why).
    pub fn adapt_op(&self, op: &mut PatchOp) {
        let path = op
            .path
            .as_deref()
            .and_then(|p| AttrPath::parse_target(p).ok());
        match (&path, op.value.as_mut()) {
            (Some(p), Some(Value::Object(o))) if p.is_manager() => self.rename_manager_key(o),
            (None, Some(Value::Object(o))) => self.adapt_manager(o),
            _ => {}
        }
        let Some(path) = path else {
            return;
        };
        let is_emails = path.schema().is_none() && path.attr().eq_ignore_ascii_case("emails");
        if is_emails && self.email_value_as_primary_entry(op, &path) {
            return;
        }
        let whole_multi = path.filter().is_none()
            && path.sub().is_none()
            && SINGLE_VALUED
                .iter()
                .any(|m| m.eq_ignore_ascii_case(path.attr()));
        if whole_multi && op.op != PatchKind::Remove {
            self.adapt_whole_multi(op, is_emails);
        }
    }

    /// Rewrites a `replace` of `emails[filter].value` into a whole primary entry, for an
    /// app that wants every email PATCH to mark one primary; true when it did.
    fn email_value_as_primary_entry(&self, op: &mut PatchOp, path: &AttrPath) -> bool {
        let applies = self.primary_email_in_patch
            && op.op == PatchKind::Replace
            && path.sub().is_some_and(|s| s.eq_ignore_ascii_case("value"));
        if !applies {
            return false;
        }
        let (Some(f), Some(v)) = (path.filter(), op.value.take()) else {
            return false;
        };
        let mut entry = Map::new();
        entry.insert(f.attr.clone(), f.value.clone());
        entry.insert("value".into(), v);
        entry.insert("primary".into(), Value::Bool(true));
        op.path = Some("emails".into());
        op.value = Some(Value::Array(vec![Value::Object(entry)]));
        true
    }

    /// Adapts an add or replace of a whole multi-valued attribute: one value for a
    /// single-valued app, and a primary email where the app wants one.
    fn adapt_whole_multi(&self, op: &mut PatchOp, is_emails: bool) {
        let Some(Value::Array(entries)) = op.value.as_mut() else {
            return;
        };
        if self.single_valued_multi {
            // Adding would make a second value, which the app refuses.
            op.op = PatchKind::Replace;
            keep_one(entries);
        }
        if is_emails && (self.single_valued_multi || self.primary_email_in_patch) {
            if let Some(Value::Object(first)) = entries.first_mut() {
                if !entries_have_primary(first) {
                    first.insert("primary".into(), Value::Bool(true));
                }
            }
        }
    }

    fn adapt_manager(&self, root: &mut Map<String, Value>) {
        let ext_key = root
            .keys()
            .find(|k| k.eq_ignore_ascii_case(ENTERPRISE_SCHEMA))
            .cloned();
        let Some(Value::Object(ext)) = ext_key.and_then(|k| root.get_mut(&k)) else {
            return;
        };
        let mk = ext
            .keys()
            .find(|k| k.eq_ignore_ascii_case("manager"))
            .cloned();
        if let Some(Value::Object(m)) = mk.and_then(|k| ext.get_mut(&k)) {
            self.rename_manager_key(m);
        }
    }

    fn rename_manager_key(&self, manager: &mut Map<String, Value>) {
        if self.manager_key == "value" || manager.contains_key(self.manager_key) {
            return;
        }
        if let Some(v) = manager.remove("value") {
            manager.insert(self.manager_key.to_string(), v);
        }
    }
}

fn entries_have_primary(first: &Map<String, Value>) -> bool {
    get_ci(first, "primary").is_some_and(|p| p == &Value::Bool(true))
}

/// Keeps the primary entry (or the first) of a multi-valued attribute.
fn keep_one(entries: &mut Vec<Value>) {
    if entries.len() <= 1 {
        return;
    }
    let idx = entries
        .iter()
        .position(|e| {
            e.as_object()
                .and_then(|o| get_ci(o, "primary"))
                .is_some_and(|p| p == &Value::Bool(true))
        })
        .unwrap_or(0);
    let keep = entries.swap_remove(idx);
    entries.clear();
    entries.push(keep);
}
