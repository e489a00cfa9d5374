//! Filter parser and evaluator tables: what parses to what, what is refused, and which
//! resources each filter selects.

use serde_json::{json, Value};

use crate::eval::{compile, Hint};
use crate::filter::{parse_filter, AttrPath, CompValue, CompareOp, Filter, ParseOptions};
use crate::schema::Kind;

fn p(name: &str) -> AttrPath {
    AttrPath {
        urn: None,
        name: name.to_string(),
        sub: None,
    }
}

fn cmp(name: &str, op: CompareOp, v: &str) -> Filter {
    Filter::Compare(p(name), op, CompValue::Str(v.to_string()))
}

#[test]
fn parser_table() {
    let strict = ParseOptions::default();
    let and = |a, b| Filter::And(Box::new(a), Box::new(b));
    let or = |a, b| Filter::Or(Box::new(a), Box::new(b));
    let cases: Vec<(&str, Filter)> = vec![
        (
            r#"userName eq "bjensen""#,
            cmp("userName", CompareOp::Eq, "bjensen"),
        ),
        (r#"USERNAME EQ "x""#, cmp("USERNAME", CompareOp::Eq, "x")),
        (r#"title pr"#, Filter::Present(p("title"))),
        (
            r#"a eq "1" or b eq "2" and c eq "3""#,
            or(
                cmp("a", CompareOp::Eq, "1"),
                and(cmp("b", CompareOp::Eq, "2"), cmp("c", CompareOp::Eq, "3")),
            ),
        ),
        (
            r#"(a eq "1" or b eq "2") and c eq "3""#,
            and(
                or(cmp("a", CompareOp::Eq, "1"), cmp("b", CompareOp::Eq, "2")),
                cmp("c", CompareOp::Eq, "3"),
            ),
        ),
        (
            r#"not (active eq true)"#,
            Filter::Not(Box::new(Filter::Compare(
                p("active"),
                CompareOp::Eq,
                CompValue::Bool(true),
            ))),
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            Filter::ValuePath(
                p("emails"),
                Box::new(and(
                    cmp("type", CompareOp::Eq, "work"),
                    cmp("value", CompareOp::Co, "@example.com"),
                )),
            ),
        ),
        (
            r#"name.givenName sw "Ba""#,
            Filter::Compare(
                AttrPath {
                    urn: None,
                    name: "name".into(),
                    sub: Some("givenName".into()),
                },
                CompareOp::Sw,
                CompValue::Str("Ba".into()),
            ),
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D""#,
            Filter::Compare(
                AttrPath {
                    urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                    name: "department".into(),
                    sub: None,
                },
                CompareOp::Eq,
                CompValue::Str("R&D".into()),
            ),
        ),
        (
            r#"userName eq "a\"b\\c\u00e9""#,
            cmp("userName", CompareOp::Eq, "a\"b\\cé"),
        ),
        (
            r#"userName eq "x]y(z""#,
            cmp("userName", CompareOp::Eq, "x]y(z"),
        ),
        (
            "meta.version ne null",
            Filter::Compare(
                AttrPath {
                    urn: None,
                    name: "meta".into(),
                    sub: Some("version".into()),
                },
                CompareOp::Ne,
                CompValue::Null,
            ),
        ),
        (
            "x ge 2.5",
            Filter::Compare(p("x"), CompareOp::Ge, CompValue::Num(2.5)),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse_filter(input, strict), Ok(want), "{input}");
    }
    for bad in [
        "",
        "userName",
        r#"userName eq"#,
        r#"userName xx "a""#,
        r#"userName eq bjensen"#,
        r#"userName eq "unterminated"#,
        r#"(userName eq "a""#,
        r#"userName eq "a")"#,
        r#"emails[type eq "work""#,
        r#"emails[types[x eq "y"] pr]"#,
        r#"userName eq 'single'"#,
        r#"a eq "1" and"#,
        r#"not userName eq "a""#,
        r#"user%Name eq "a""#,
    ] {
        assert!(
            parse_filter(bad, strict).is_err(),
            "{bad:?} should not parse"
        );
    }
    let lenient = ParseOptions {
        single_quotes: true,
        bare_values: true,
    };
    assert_eq!(
        parse_filter("userName eq 'x y'", lenient),
        Ok(cmp("userName", CompareOp::Eq, "x y"))
    );
    assert_eq!(
        parse_filter("value eq U123", lenient),
        Ok(cmp("value", CompareOp::Eq, "U123"))
    );
}

fn user() -> Value {
    json!({
        "id": "id-1",
        "externalId": "E100",
        "userName": "BJensen@Example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "title": "Tour Guide",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Tours", "manager": {"value": "id-9"}
        },
        "meta": {"lastModified": "2026-05-13T04:42:34Z", "resourceType": "User"}
    })
}

fn selects(filter: &str) -> bool {
    let f =
        parse_filter(filter, ParseOptions::default()).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let node = compile(Kind::User, &f).unwrap_or_else(|e| panic!("{filter}: {e}"));
    node.matches(&user())
}

#[test]
fn evaluation_table() {
    let yes = [
        r#"userName eq "bjensen@example.com""#,
        r#"username EQ "BJENSEN@EXAMPLE.COM""#,
        r#"externalId eq "E100""#,
        r#"userName sw "bjen""#,
        r#"userName ew ".COM""#,
        r#"title co "our""#,
        r#"emails.value eq "babs@jensen.org""#,
        r#"emails eq "babs@jensen.org""#,
        r#"emails[type eq "work" and value co "example"]"#,
        r#"emails[primary eq true]"#,
        r#"name.givenName eq "barbara""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tours""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "id-9""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName pr"#,
        r#"active eq true"#,
        r#"nickName ne "x""#,
        r#"not (title eq "Boss")"#,
        r#"title eq "Boss" or active eq true"#,
        r#"meta.lastModified gt "2026-05-13T00:00:00Z""#,
        r#"meta.lastModified lt "2026-05-13T06:42:35+02:00""#,
        r#"id eq "id-1""#,
        r#"nickName eq null"#,
    ];
    for f in yes {
        assert!(selects(f), "{f} should match");
    }
    let no = [
        r#"externalId eq "e100""#,
        r#"emails[type eq "home" and primary eq true]"#,
        r#"active eq false"#,
        r#"title eq "Boss" and active eq true"#,
        r#"nickName pr"#,
        r#"meta.lastModified ge "2026-05-13T04:42:35Z""#,
        r#"userName ne "BJENSEN@example.com""#,
        r#"id eq "ID-1""#,
    ];
    for f in no {
        assert!(!selects(f), "{f} should not match");
    }
}

#[test]
fn unknown_attributes_and_nonsense_comparisons_are_invalid_filters() {
    for bad in [
        r#"shoeSize eq "42""#,
        r#"name.nickname eq "x""#,
        r#"urn:example:unknown:User:x eq "1""#,
        r#"active gt true"#,
        r#"title eq true"#,
        r#"active co "t""#,
        r#"name eq "x""#,
        r#"emails[nope eq "x"]"#,
    ] {
        let parsed = parse_filter(bad, ParseOptions::default());
        let r = parsed
            .map_err(|e| e.to_string())
            .and_then(|f| compile(Kind::User, &f).map_err(|e| e.to_string()));
        assert!(r.is_err(), "{bad} should be refused");
    }
}

#[test]
fn index_hints_come_from_eq_conjuncts_only() {
    let hint = |f: &str| {
        let f = parse_filter(f, ParseOptions::default()).ok()?;
        compile(Kind::User, &f).ok()?.hint(Kind::User)
    };
    assert_eq!(hint(r#"userName eq "A@B""#), Some(Hint::Name("a@b".into())));
    assert_eq!(
        hint(r#"active eq true and externalId eq "E1""#),
        Some(Hint::ExternalId("E1".into()))
    );
    assert_eq!(
        hint(r#"emails.value eq "A@X""#),
        Some(Hint::Email("a@x".into()))
    );
    assert_eq!(
        hint(r#"emails[value eq "A@X"]"#),
        Some(Hint::Email("a@x".into()))
    );
    assert_eq!(hint(r#"emails[type eq "work"]"#), None);
    assert_eq!(hint(r#"userName eq "a" or externalId eq "E1""#), None);
    assert_eq!(hint(r#"userName co "a""#), None);
}

proptest::proptest! {
    /// Whatever a client sends as a filter or a PATCH path, the answer is an error, never a crash.
    #[test]
    fn arbitrary_input_never_panics(input in "[ -~üé\\[\\]()\"']{0,40}") {
        for opts in [ParseOptions::default(), ParseOptions { single_quotes: true, bare_values: true }] {
            if let Ok(f) = parse_filter(&input, opts) {
                let _ = compile(Kind::User, &f).map(|n| n.matches(&user()));
            }
            let mut u = user().as_object().cloned().unwrap_or_default();
            let ops = vec![crate::patch::PatchOp {
                op: crate::patch::OpKind::Replace,
                path: Some(input.clone()),
                value: Some(json!("v")),
            }];
            let _ = crate::patch::apply(Kind::User, &mut u, &ops, opts);
        }
    }
}
