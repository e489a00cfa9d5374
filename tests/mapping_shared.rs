//! Several apps with the same attribute templates, which hrsync maps once per cycle and
//! shares, and a third with a scope of its own: each app gets exactly the accounts and
//! attributes its own config asks for, and a second cycle finds nothing to do.

use serde_json::Value;

use crate::util::push::*;
use crate::util::*;

/// The account's attributes hrsync maps, the manager reference as the manager's key.
fn mapped(users: &[Value], u: &Value) -> Vec<String> {
    let ent = &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    let manager_id = ent["manager"]["value"].as_str().unwrap_or("");
    let manager = users
        .iter()
        .find(|m| m["id"].as_str() == Some(manager_id))
        .and_then(|m| m["externalId"].as_str())
        .unwrap_or("");
    [
        &u["externalId"],
        &u["userName"],
        &u["displayName"],
        &u["title"],
        &ent["department"],
    ]
    .iter()
    .map(|v| v.as_str().unwrap_or("").to_string())
    .chain([manager.to_string()])
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_with_the_same_templates_each_get_their_accounts() {
    let (wiki, chat, crm) = (sandbox().await, sandbox().await, sandbox().await);
    let mut persons = people(6);
    persons[1].email = "P0002@Corp.Example".into();
    persons[2].title = "Ingeniera de Señales".into();
    persons[3].dept = "Legal".into();
    persons[4].manager = "E0001".into();
    persons[5].status = "terminated".into();
    let env = Env::new(&csv(&persons));
    let apps = [
        env.app("wiki", &wiki.base_url(), ""),
        env.app("chat", &chat.base_url(), ""),
        env.app("crm", &crm.base_url(), "scope = \"department == 'Sales'\""),
    ];
    env.write_config(&apps.join("\n"));

    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (w, c, r) = (wiki.users().await, chat.users().await, crm.users().await);
    assert_eq!(differences(&w, &persons), Vec::<String>::new(), "wiki");
    assert_eq!(differences(&c, &persons), Vec::<String>::new(), "chat");
    let sales: Vec<_> = persons
        .iter()
        .filter(|p| p.dept == "Sales")
        .cloned()
        .collect();
    assert_eq!(differences(&r, &sales), Vec::<String>::new(), "crm");

    let mut in_wiki: Vec<_> = w.iter().map(|u| mapped(&w, u)).collect();
    let mut in_chat: Vec<_> = c.iter().map(|u| mapped(&c, u)).collect();
    in_wiki.sort();
    in_chat.sort();
    assert_eq!(
        in_wiki, in_chat,
        "the same templates give the same attributes"
    );
    let e2 = in_wiki.iter().find(|a| a[0] == "E0002").expect("E0002");
    assert_eq!(e2[1], "p0002@corp.example", "userName is the lowered email");
    let e5 = in_wiki.iter().find(|a| a[0] == "E0005").expect("E0005");
    assert_eq!(e5[5], "E0001", "the manager reference resolves in each app");
    let e3 = in_wiki.iter().find(|a| a[0] == "E0003").expect("E0003");
    assert_eq!(e3[3], "Ingeniera de Señales");

    let out = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "in sync: {}", text(&out));
}
