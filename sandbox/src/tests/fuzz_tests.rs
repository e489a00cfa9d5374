//! Property tests of everything the sandbox parses from a client: filters, PATCH bodies,
//! list and search parameters, and whole requests over HTTP. Any input gets an answer (an
//! error for nonsense), never a panic; and a filter hrsync's client writes for any value
//! parses to exactly that one comparison, so no value can change a filter's meaning.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use hrsync_connectors::scim::Filter as ClientFilter;

use crate::eval::compile;
use crate::filter::{parse_filter, CompValue, CompareOp, Filter, ParseOptions};
use crate::imitation;
use crate::list;
use crate::patch::{self, PatchOp};
use crate::schema::Kind;

/// Words of the filter and path grammar, so generated inputs reach deep into the parsers.
const WORDS: &[&str] = &[
    "userName",
    "emails",
    "members",
    "value",
    "type",
    "name.givenName",
    "meta.lastModified",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "eq",
    "ne",
    "co",
    "sw",
    "ew",
    "gt",
    "ge",
    "lt",
    "le",
    "pr",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    ".",
    "\"",
    "'",
    "\\",
    "\"a\\\"b\"",
    "\"\\u00e9\"",
    "\"\\ud800\"",
    "true",
    "false",
    "null",
    "1e308",
    "-0",
    "1e-999",
    "99999999999999999999",
    "\"work\"",
    "x",
    "",
    " ",
    "é",
    "\u{0}",
    "\u{1b}[2J",
    "\u{202e}",
];

/// Filter-like text: grammar words and arbitrary strings, joined by spaces or nothing.
fn filter_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(WORDS).prop_map(str::to_string),
        1 => "\\PC{0,6}",
        1 => ".{0,4}",
    ];
    (proptest::collection::vec(piece, 0..16), proptest::bool::ANY)
        .prop_map(|(parts, spaced)| parts.join(if spaced { " " } else { "" }))
}

/// Any JSON, with SCIM's keys favoured.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        filter_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            proptest::sample::select(
                &[
                    "op",
                    "path",
                    "value",
                    "Operations",
                    "schemas",
                    "userName",
                    "emails",
                    "members",
                    "active",
                    "name",
                    "type",
                    "primary",
                    "id",
                    "externalId",
                    "displayName",
                    "method",
                    "bulkId",
                    "data",
                    "filter",
                    "startIndex",
                    "count",
                    "sortBy",
                    "sortOrder",
                    "attributes",
                    "excludedAttributes",
                    "cursor",
                    "failOnErrors",
                ][..]
            )
            .prop_map(str::to_string),
            "\\PC{0,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn user() -> Value {
    json!({
        "id": "id-1", "externalId": "E100", "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"}, "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "id-2"}},
    })
}

const BOTH: [ParseOptions; 2] = [
    ParseOptions {
        single_quotes: false,
        bare_values: false,
    },
    ParseOptions {
        single_quotes: true,
        bare_values: true,
    },
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// A filter of any text is parsed or refused, and a parsed one compiles and evaluates.
    #[test]
    fn any_filter_text_is_answered(input in prop_oneof![filter_text(), ".{0,64}"]) {
        for opts in BOTH {
            if let Ok(f) = parse_filter(&input, opts) {
                for kind in [Kind::User, Kind::Group] {
                    let _ = compile(kind, &f).map(|n| n.matches(&user()));
                }
            }
        }
    }

    /// A PATCH body of any shape is read or refused, and what is read applies or fails.
    #[test]
    fn any_patch_body_is_answered(
        ops in proptest::collection::vec(
            (prop_oneof![
                Just("add".to_string()), Just("replace".to_string()),
                Just("remove".to_string()), Just("Replace".to_string()), "\\PC{0,6}",
            ], proptest::option::of(filter_text()), proptest::option::of(json_value())),
            0..4,
        ),
        junk in json_value(),
    ) {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, value)| {
                let mut o = json!({"op": op});
                if let Some(p) = path { o["path"] = json!(p); }
                if let Some(v) = value { o["value"] = v; }
                o
            })
            .collect();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops,
        });
        for b in [&body, &junk] {
            if let Ok(parsed) = patch::parse_body(b) {
                apply_everywhere(&parsed);
            }
        }
    }

    /// List and search parameters of any value are read or refused, for every profile.
    #[test]
    fn any_list_parameters_are_answered(
        params in proptest::collection::btree_map(
            proptest::sample::select(&[
                "filter", "sortBy", "sortOrder", "startIndex", "count", "cursor",
                "attributes", "excludedAttributes",
            ][..]).prop_map(str::to_string),
            prop_oneof![
                filter_text(),
                any::<i64>().prop_map(|n| n.to_string()),
                Just("18446744073709551616".to_string()),
            ],
            0..6,
        ),
        search in json_value(),
    ) {
        let from_search = list::params_from_search(&search).unwrap_or_default();
        for name in imitation::NAMES {
            let Some(profile) = imitation::by_name(name) else { continue };
            for kind in [Kind::User, Kind::Group] {
                let _ = list::parse(&profile, kind, &params);
                let _ = list::parse(&profile, kind, &from_search);
            }
        }
    }
}

fn apply_everywhere(ops: &[PatchOp]) {
    for opts in BOTH {
        let mut u = user().as_object().cloned().unwrap_or_default();
        let _ = patch::apply(Kind::User, &mut u, ops, opts);
        let mut g = json!({"displayName": "g", "members": [{"value": "id-1"}]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let _ = patch::apply(Kind::Group, &mut g, ops, opts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Whatever the value (quotes, backslashes, `" or userName pr`, controls, any
    /// Unicode), the filter hrsync sends parses to that one `eq` comparison.
    #[test]
    fn client_filters_keep_their_meaning_for_any_value(value in prop_oneof![".*", filter_text()]) {
        for (made, attr) in [
            (ClientFilter::external_id(&value), "externalId"),
            (ClientFilter::user_name(&value), "userName"),
        ] {
            let text = made.to_string();
            let parsed = parse_filter(&text, ParseOptions::default());
            match parsed {
                Ok(Filter::Compare(path, CompareOp::Eq, CompValue::Str(v))) => {
                    prop_assert_eq!(&path.name, attr);
                    prop_assert_eq!(&v, &value);
                }
                other => prop_assert!(false, "{text} parsed as {other:?}"),
            }
        }
    }
}

/// One request of the HTTP fuzz: method, path, query and body.
fn request() -> impl Strategy<Value = (String, String, BTreeMap<String, String>, Value)> {
    let segment = prop_oneof![
        proptest::sample::select(
            &[
                "Users",
                "Groups",
                "Bulk",
                ".search",
                "ServiceProviderConfig",
                "Schemas",
                "ResourceTypes",
                "Me",
                "id-1",
                "..",
                "%00",
                "%2e%2e",
                "User",
            ][..]
        )
        .prop_map(str::to_string),
        "[a-zA-Z0-9%._~-]{0,12}",
    ];
    (
        proptest::sample::select(&["GET", "POST", "PUT", "PATCH", "DELETE"][..])
            .prop_map(str::to_string),
        proptest::collection::vec(segment, 0..4).prop_map(|s| s.join("/")),
        proptest::collection::btree_map(
            proptest::sample::select(
                &[
                    "filter",
                    "startIndex",
                    "count",
                    "attributes",
                    "sortBy",
                    "cursor",
                ][..],
            )
            .prop_map(str::to_string),
            filter_text(),
            0..3,
        ),
        json_value(),
    )
}

/// Whole requests over HTTP, against one sandbox: every request gets an answer, none is
/// a 500, and the sandbox still answers a plain request afterwards.
#[test]
fn any_request_over_http_is_answered() {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let sb = rt.block_on(super::sandbox());
    let base = sb.base_url();
    let client = super::client();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(768));
    let outcome = runner.run(&request(), |(method, path, query, body)| {
        let url = format!("{base}/{path}");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let (status, answer) = rt.block_on(super::send(
            client
                .request(method.clone(), &url)
                .query(&query)
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
        ));
        prop_assert!(
            status != 500,
            "{method} {url} {query:?} {body} answered {status}: {answer}"
        );
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    let (status, _) = rt.block_on(super::send(client.get(format!("{base}/Users"))));
    assert_eq!(status, 200);
}
