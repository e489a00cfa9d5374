//! Bad configuration: exit 2, the key and its line named, and nothing sent anywhere.

use crate::util::*;

const HR: &str = "employee_id,first_name,last_name,email,department,job_title,status,start_date,end_date,manager_id\nE1,Ana,Lima,ana@corp.example,Eng,Engineer,active,,,\n";

async fn expect_config_error(mutate: impl Fn(&Env, &str) -> String, key: &str, line_hint: &str) {
    let sb = sandbox().await;
    let env = Env::new(HR);
    let text_cfg = mutate(&env, &sb.base_url());
    std::fs::write(&env.config, &text_cfg).expect("write");
    for cmd in [
        ["apply", "--yes"].as_slice(),
        ["plan"].as_slice(),
        ["check"].as_slice(),
    ] {
        let config = env.config.clone();
        let args: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        let out = blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            hrsync_cmd(&config, &a)
        })
        .await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", text(&out));
        assert!(err.contains(key), "{cmd:?} must name {key:?}: {err}");
        assert!(
            err.contains(line_hint),
            "{cmd:?} must give the line {line_hint:?}: {err}"
        );
    }
    assert_eq!(
        sb.stats().total,
        0,
        "no request may be sent on a config error"
    );
    assert!(!env.state.exists(), "no state written on a config error");
}

fn base(env: &Env, url: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "[daemon]\nstate_path = \"{}\"\n\n[[sources]]\nname = \"hris\"\nkind = \"csv\"\npath = \"{}\"\n\n",
        env.state.display(),
        env.hr.display()
    ));
    s.push_str(&env.app("app", url, ""));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_is_named_with_its_line() {
    expect_config_error(
        |env, url| base(env, url).replace("kind = \"csv\"\n", "kind = \"csv\"\npth = \"x\"\n"),
        "pth",
        ":7:",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secret_env_var_is_named() {
    expect_config_error(
        |env, url| {
            base(env, url).replace(
                &format!("{{ file = \"{}\" }}", env.token_file.display()),
                "{ env = \"HRSYNC_TEST_NO_SUCH_TOKEN_VAR\" }",
            )
        },
        "HRSYNC_TEST_NO_SUCH_TOKEN_VAR",
        "apps[0].auth",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_template_names_the_attribute() {
    expect_config_error(
        |env, url| {
            base(env, url).replace("title = \"{{ job_title }}\"", "title = \"{{ job_title \"")
        },
        "apps[0].attributes.title",
        "bad template",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_insecure_url_is_named() {
    expect_config_error(
        |env, url| base(env, url).replace(url, "not a url"),
        "apps[0].base_url",
        "invalid URL",
    )
    .await;
    expect_config_error(
        |env, url| base(env, url).replace(url, "http://scim.example.com/scim/v2"),
        "apps[0].base_url",
        "allow_insecure_http",
    )
    .await;
}
