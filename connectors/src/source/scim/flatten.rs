//! A SCIM User resource flattened into hrsync fields: core attributes, the preferred
//! e-mail and phone, `name.*`, and the enterprise extension (department, employee number,
//! manager), ready for templates.

use serde_json::{Map, Value};

/// The enterprise User extension's schema URN.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Flattens one User; `active` becomes `status` (`true`/`false`).
pub fn flatten_user(user: &Value) -> Value {
    let mut out = Map::new();
    let mut put = |name: &str, v: Option<&Value>| {
        if let Some(v) =
            v.filter(|v| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
        {
            out.insert(name.to_string(), v.clone());
        }
    };
    put("id", user.get("id"));
    put("external_id", user.get("externalId"));
    put("user_name", user.get("userName"));
    put("display_name", user.get("displayName"));
    put("nick_name", user.get("nickName"));
    put("job_title", user.get("title"));
    put("user_type", user.get("userType"));
    put("preferred_language", user.get("preferredLanguage"));
    put("locale", user.get("locale"));
    put("timezone", user.get("timezone"));
    put("first_name", user.pointer("/name/givenName"));
    put("last_name", user.pointer("/name/familyName"));
    put("middle_name", user.pointer("/name/middleName"));
    put("full_name", user.pointer("/name/formatted"));
    put("email", preferred(user.get("emails")));
    put("phone", preferred(user.get("phoneNumbers")));
    if let Some(ext) = user.get(ENTERPRISE) {
        put("employee_number", ext.get("employeeNumber"));
        put("department", ext.get("department"));
        put("division", ext.get("division"));
        put("organization", ext.get("organization"));
        put("cost_center", ext.get("costCenter"));
        put("manager_id", ext.pointer("/manager/value"));
        put("manager_name", ext.pointer("/manager/displayName"));
    }
    match user.get("active") {
        Some(Value::Bool(b)) => {
            out.insert("status".into(), Value::String(b.to_string()));
        }
        // Some providers send the boolean as a string ("True"/"False").
        Some(Value::String(s)) => {
            out.insert("status".into(), Value::String(s.trim().to_lowercase()));
        }
        _ => {}
    }
    Value::Object(out)
}

/// The value of a multi-valued attribute: the primary work one, else the primary one,
/// else the work one, else the first.
fn preferred(list: Option<&Value>) -> Option<&Value> {
    let items = list?.as_array()?;
    let is = |v: &&Value, k: &str, want: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case(want))
    };
    let primary = |v: &&Value| v.get("primary") == Some(&Value::Bool(true));
    items
        .iter()
        .find(|v| primary(v) && is(v, "type", "work"))
        .or_else(|| items.iter().find(primary))
        .or_else(|| items.iter().find(|v| is(v, "type", "work")))
        .or_else(|| items.first())
        .and_then(|v| v.get("value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_core_name_emails_and_enterprise() {
        let u = json!({
            "id": "u1", "userName": "ana@corp.example", "active": false,
            "name": {"givenName": "Ana", "familyName": "Lima"},
            "emails": [
                {"value": "ana@home.example", "type": "home"},
                {"value": "ana@corp.example", "type": "work", "primary": true}
            ],
            "title": "Engineer",
            ENTERPRISE: {"department": "R&D", "employeeNumber": "E7",
                         "manager": {"value": "u0", "displayName": "Bo"}}
        });
        let f = flatten_user(&u);
        assert_eq!(f["email"], json!("ana@corp.example"));
        assert_eq!(f["status"], json!("false"));
        assert_eq!(f["first_name"], json!("Ana"));
        assert_eq!(f["department"], json!("R&D"));
        assert_eq!(f["manager_id"], json!("u0"));
        assert_eq!(f["employee_number"], json!("E7"));
        assert_eq!(f["job_title"], json!("Engineer"));
        let only_home = json!({"emails": [{"value": "h@x.example", "type": "home"}]});
        assert_eq!(flatten_user(&only_home)["email"], json!("h@x.example"));
    }
}
