//! Tests of the profiles' data and hooks.

use serde_json::json;

use super::*;
use crate::scim::patch::PatchOp;
use crate::scim::ENTERPRISE_SCHEMA;

const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

#[test]
fn every_name_resolves_to_its_profile() {
    for name in Profile::NAMES {
        let p = Profile::by_name(name).expect(name);
        assert_eq!(&p.name, name);
        assert!(p.max_members_per_patch > 0, "{name}");
        assert!(!p.discovery_paths.is_empty(), "{name}");
        assert!(!p.member_removal.is_empty(), "{name}");
        for req in p.required_on_create {
            AttrPath::parse(req)
                .map_err(|e| format!("{name}: {e}"))
                .expect("valid required path");
        }
        match p.pagination {
            Pagination::Index { max_count } | Pagination::Cursor { max_count } => {
                assert!(max_count > 0)
            }
            Pagination::None => {}
        }
    }
    assert!(Profile::by_name("nope").is_none());
}

#[test]
fn documented_facts() {
    let slack = Profile::by_name("slack").expect("slack");
    assert_eq!(slack.user_name_max_len, Some(21));
    assert!(slack.serialize_object_writes);
    assert_eq!(slack.delete_semantics, DeleteSemantics::Deactivate);
    assert_eq!(slack.rate_limit.per_minute, Some(180));
    let gh = Profile::by_name("github").expect("github");
    assert_eq!(gh.delete_semantics, DeleteSemantics::HardIrreversible);
    assert!(gh.headers.iter().any(|(k, _)| *k == "User-Agent"));
    assert!(!gh.filter_and);
    let aws = Profile::by_name("aws_identity_center").expect("aws");
    assert_eq!(aws.pagination, Pagination::Cursor { max_count: 100 });
    assert_eq!(aws.max_members_per_patch, 100);
    assert!(!aws.bulk && aws.single_valued_multi && !aws.group_members_readable);
    assert!(!aws.member_removal.contains(&RemovalForm::ReplaceMembers));
    let sf = Profile::by_name("salesforce").expect("salesforce");
    assert_eq!(sf.discovery_paths[0], "ServiceProviderConfigs");
    assert_eq!(sf.delete_semantics, DeleteSemantics::NotSupported);
    let google = Profile::by_name("google").expect("google");
    assert!(google.filter_required);
    assert_eq!(google.pagination, Pagination::None);
    assert!(!google.can_filter(&AttrPath::simple("externalId", None)));
    assert!(google.can_filter(&AttrPath::simple("userName", None)));
}

#[test]
fn check_create_reports_missing_attributes_and_long_user_names() {
    let aws = Profile::by_name("aws_identity_center").expect("aws");
    let err = aws
        .check_create(&json!({"userName": "a", "name": {"givenName": "A"}}))
        .expect_err("missing");
    assert!(
        err.contains("displayName") && err.contains("name.familyName"),
        "{err}"
    );
    aws.check_create(&json!({"userName": "a", "displayName": "A B",
        "name": {"givenName": "A", "familyName": "B"}}))
        .expect("complete");
    let slack = Profile::by_name("slack").expect("slack");
    let err = slack
        .check_create(&json!({"userName": "nia.okafor@corp.example",
            "emails": [{"value": "nia.okafor@corp.example"}]}))
        .expect_err("too long");
    assert!(err.contains("21"), "{err}");
    assert!(slack
        .check_create(&json!({"userName": "nia.okafor"}))
        .expect_err("no email")
        .contains("emails.value"));
    slack
        .check_create(&json!({"userName": "nia.okafor", "emails": [{"value": "n@x"}]}))
        .expect("ok");
}

#[test]
fn slack_writes_manager_id() {
    let slack = Profile::by_name("slack").expect("slack");
    let mut u = json!({"userName": "a", ENTERPRISE_SCHEMA: {"manager": {"value": "U1"}}});
    slack.adapt_user(&mut u);
    assert_eq!(u[ENTERPRISE_SCHEMA]["manager"], json!({"managerId": "U1"}));
    let mut op = PatchOp::replace(MANAGER, json!({"value": "U2"}));
    slack.adapt_op(&mut op);
    assert_eq!(op.value, Some(json!({"managerId": "U2"})));
    let generic = Profile::generic();
    let mut op = PatchOp::replace(MANAGER, json!({"value": "U2"}));
    generic.adapt_op(&mut op);
    assert_eq!(op.value, Some(json!({"value": "U2"})));
}

#[test]
fn aws_keeps_one_value_per_multi_valued_attribute() {
    let aws = Profile::by_name("aws_identity_center").expect("aws");
    let mut u = json!({
        "userName": "a",
        "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x", "primary": true}],
        "phoneNumbers": [{"type": "mobile", "value": "1"}, {"type": "work", "value": "2"}]
    });
    aws.adapt_user(&mut u);
    assert_eq!(
        u["emails"],
        json!([{"type": "work", "value": "w@x", "primary": true}])
    );
    assert_eq!(u["phoneNumbers"], json!([{"type": "mobile", "value": "1"}]));
    let mut op = PatchOp::add(Some("emails"), json!([{"type": "work", "value": "w@x"}]));
    aws.adapt_op(&mut op);
    assert_eq!(
        op.to_json(),
        json!({"op": "replace", "path": "emails", "value": [{"type": "work", "value": "w@x", "primary": true}]})
    );
}

#[test]
fn only_profiles_that_need_it_mark_a_primary_email() {
    let user = || json!({"userName": "a", "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x"}]});
    let mut u = user();
    Profile::generic().adapt_user(&mut u);
    assert_eq!(u, user(), "generic adds nothing of its own");
    let atl = Profile::by_name("atlassian").expect("atlassian");
    let mut u = user();
    atl.adapt_user(&mut u);
    assert_eq!(u["emails"][1]["primary"], json!(true));
    assert!(u["emails"][0].get("primary").is_none());
    let aws = Profile::by_name("aws_identity_center").expect("aws");
    let mut u = user();
    aws.adapt_user(&mut u);
    assert_eq!(
        u["emails"],
        json!([{"type": "work", "value": "w@x", "primary": true}])
    );
}

#[test]
fn atlassian_email_patch_carries_primary() {
    let atl = Profile::by_name("atlassian").expect("atlassian");
    let mut op = PatchOp::replace("emails[type eq \"work\"].value", json!("n@x"));
    atl.adapt_op(&mut op);
    assert_eq!(
        op.to_json(),
        json!({"op": "replace", "path": "emails", "value": [{"type": "work", "value": "n@x", "primary": true}]})
    );
    // Other paths are left alone.
    let mut title = PatchOp::replace("title", json!("x"));
    atl.adapt_op(&mut title);
    assert_eq!(title, PatchOp::replace("title", json!("x")));
}
