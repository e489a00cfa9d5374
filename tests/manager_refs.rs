//! Manager references without a second pass: on an initial sync, a manager's account is
//! created before their reports' and each report's create carries the manager's account id
//! (one by one) or a `bulkId` reference (in one Bulk request), so no PATCH is sent for a
//! manager reference; a reference cycle (A manages B manages A) still converges through
//! the second pass.

use axum::http::Method;
use serde_json::Value;

use crate::util::push::{apply, csv, people, proxy, Action, Person, Proxy};
use crate::util::*;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Nine persons in a three-level tree: E0001 manages E0002 and E0003, who manage the rest.
fn tree() -> Vec<Person> {
    let mut persons = people(9);
    for (i, p) in persons.iter_mut().enumerate().skip(1) {
        p.manager = if i < 3 {
            "E0001"
        } else if i % 2 == 0 {
            "E0002"
        } else {
            "E0003"
        }
        .into();
    }
    persons
}

/// Every account's manager is its manager's account id (none for the top).
fn managers_are_ids(users: &[Value], persons: &[Person]) {
    for p in persons {
        let u = by_external_id(users, &p.key)[0];
        let got = &u[ENT]["manager"]["value"];
        if p.manager.is_empty() {
            assert!(got.is_null(), "{}: {u:#}", p.key);
        } else {
            let boss = &by_external_id(users, &p.manager)[0]["id"];
            assert_eq!(got, boss, "{}'s manager: {u:#}", p.key);
        }
    }
}

/// The PATCH requests the app saw, with their bodies.
fn patches(px: &Proxy) -> Vec<String> {
    px.seen()
        .iter()
        .filter(|s| {
            s.method == Method::PATCH || (s.method == Method::POST && s.body.contains("\"PATCH\""))
        })
        .map(|s| format!("{} {}", s.path, s.body))
        .collect()
}

async fn initial_sync(bulk: bool) {
    let sb = sandbox().await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let persons = tree();
    let env = Env::new(&csv(&persons));
    let extra = if bulk { "" } else { "bulk = false" };
    env.write_config(&env.app("app", &px.base_url(), extra));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        patches(&px),
        Vec::<String>::new(),
        "no second pass for managers"
    );
    let bulks = px
        .seen()
        .iter()
        .filter(|s| s.path.contains("/Bulk"))
        .count();
    let posts = px
        .seen()
        .iter()
        .filter(|s| s.method == Method::POST && s.path.ends_with("/Users"))
        .count();
    if bulk {
        assert_eq!(
            (bulks, posts),
            (1, 0),
            "one Bulk request carries every create"
        );
    } else {
        assert_eq!((bulks, posts), (0, persons.len()), "one POST per person");
    }
    let users = sb.users().await;
    managers_are_ids(&users, &persons);

    // Nothing is left to do: the links recorded the managers the creates carried.
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let writes: Vec<_> = px
        .seen()
        .into_iter()
        .filter(|s| s.method != Method::GET)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_go_with_the_creates_in_one_bulk_request() {
    initial_sync(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_go_with_the_creates_one_by_one() {
    initial_sync(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_cycle_still_converges() {
    for extra in ["", "bulk = false"] {
        let sb = sandbox().await;
        let mut persons = people(3);
        persons[0].manager = "E0002".into();
        persons[1].manager = "E0001".into();
        persons[2].manager = "E0001".into();
        let env = Env::new(&csv(&persons));
        env.write_config(&env.app("app", &sb.base_url(), extra));
        let out = apply(&env).await;
        assert_eq!(out.status.code(), Some(0), "{extra}: {}", text(&out));
        managers_are_ids(&sb.users().await, &persons);
        sb.reset_stats();
        let out = apply(&env).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(sb.stats().writes, 0, "{extra}: {:?}", sb.stats());
    }
}
