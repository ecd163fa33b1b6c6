//! The web dashboard in a real browser: each test starts a server and runs one scenario of
//! `tests/browser/dashboard.js`, which drives Debian's Chromium with playwright-core, then
//! checks what the script saw and what the server stored. `scripts/test` installs Chromium
//! and the npm package. Plus the parts of the sign-in contract a browser cannot show: the
//! cookie's attributes on the wire, idle expiry and sign-out ending the stored session.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use textbird_test_support::{Account, Server};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");
const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL_HINT: &str = "run scripts/test (it installs chromium and the browser tests' npm packages)";

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn login(account: &Account) -> (String, String) {
    let user = account.json["username"].as_str().expect("username").to_owned();
    let password = account.json["password"].as_str().expect("password").to_owned();
    (user, password)
}

/// Runs `scenario` against `server` signed in as `a` (and `b`); the JSON lines it printed.
fn run(server: &Server, scenario: &str, a: &Account, b: Option<&Account>, extra: &[(&str, &str)]) -> Vec<Value> {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core/package.json").is_file(),
        "playwright-core is missing: {INSTALL_HINT}"
    );
    assert!(std::path::Path::new(CHROMIUM).is_file(), "{CHROMIUM} is missing: {INSTALL_HINT}");
    let (user_a, pass_a) = login(a);
    let (user_b, pass_b) = b.map(login).unwrap_or_default();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("dashboard.js"))
        .arg(scenario)
        .current_dir(&dir)
        .env("TB_BASE", &server.base)
        .env("TB_USER_A", user_a)
        .env("TB_PASS_A", pass_a)
        .env("TB_USER_B", user_b)
        .env("TB_PASS_B", pass_b)
        .env("TB_CHROMIUM", CHROMIUM);
    if let Ok(shots) = std::env::var("TEXTBIRD_DASHBOARD_SHOTS") {
        cmd.env("TB_SHOTS", shots);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(
        out.status.success(),
        "scenario {scenario} failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    lines
}

fn step<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines.iter().find(|l| l["step"] == name).unwrap_or_else(|| panic!("no step {name} in {lines:?}"))
}

#[tokio::test]
#[ignore = "the browser scenarios have not run yet on this branch: cargo nextest run -p textbird --test dashboard_browser --run-ignored all"]
async fn sign_in_send_and_watch_it_turn_delivered() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let lines = run(&server, "send_and_watch_delivered", &acme, None, &[]);
    assert_eq!(step(&lines, "signed_in")["cookie"], json!({"httpOnly": true, "sameSite": "Strict"}));
    let counter = step(&lines, "counter");
    assert_eq!(
        (&counter["chars"], &counter["encoding"], &counter["parts"]),
        (&json!("24"), &json!("gsm7"), &json!("1"))
    );
    let unicode = step(&lines, "counter_unicode");
    assert_eq!((&unicode["encoding"], &unicode["parts"]), (&json!("ucs2"), &json!("2")));
    let id = step(&lines, "sent")["id"].as_str().expect("id").to_owned();
    step(&lines, "delivered");
    let timeline = step(&lines, "timeline")["events"].clone();
    assert!(timeline.as_array().unwrap().iter().any(|e| e == "delivered"), "{timeline}");
    step(&lines, "signed_out");
    // What the browser sent is what the API shows.
    let (status, m) = server.get(&acme.api_key, &format!("/v1/messages/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (m["to"].as_str(), m["body"].as_str(), m["status"].as_str()),
        (Some("+31612345678"), Some("Hello from the dashboard"), Some("delivered"))
    );
}

#[tokio::test]
#[ignore = "the browser scenarios have not run yet on this branch: cargo nextest run -p textbird --test dashboard_browser --run-ignored all"]
async fn an_api_key_is_created_shown_once_and_revoked() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let lines = run(&server, "api_key", &acme, None, &[]);
    assert_eq!(step(&lines, "created")["status"], 200, "the new key works");
    let listed = step(&lines, "listed");
    assert_eq!(listed["shown_again"], false, "the key is shown only once");
    assert_eq!(listed["name"], "billing server");
    let revoked = step(&lines, "revoked");
    assert_eq!((&revoked["state"], &revoked["status"]), (&json!("revoked"), &json!(401)));
}

#[tokio::test]
#[ignore = "the browser scenarios have not run yet on this branch: cargo nextest run -p textbird --test dashboard_browser --run-ignored all"]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let lines = run(&server, "csrf", &acme, None, &[]);
    for name in ["form_without_token", "wrong_token", "keys_without_token", "login_without_token"] {
        assert_eq!(step(&lines, name)["status"], 403, "{name}");
    }
    assert!(server.all_messages(&acme.api_key, "").await.is_empty(), "nothing was sent");
    assert_eq!(server.balance(&acme.api_key).await, "10.0000");
    let keys = server.sql("SELECT count(*) FROM credentials WHERE name = 'forged'").expect("sql");
    assert_eq!(keys.trim(), "0", "no key was made");
}

#[tokio::test]
#[ignore = "the browser scenarios have not run yet on this branch: cargo nextest run -p textbird --test dashboard_browser --run-ignored all"]
async fn sign_in_is_throttled_and_then_refuses_the_right_password() {
    let server = Server::start(BIN, "[logins]\nmax_failures_per_hour = 3\nfailures_before_delay = 1000\n");
    let acme = server.create_account("Acme", "10", "NL");
    let lines = run(&server, "throttling", &acme, None, &[]);
    let wrong = step(&lines, "wrong");
    assert_eq!(wrong["statuses"], json!([401, 401, 401]));
    assert!(wrong["alert"].as_str().unwrap().contains("wrong"), "{wrong}");
    let refused = step(&lines, "right_password_refused");
    assert_eq!((&refused["status"], &refused["path"]), (&json!(429), &json!("/login")));
    assert!(refused["alert"].as_str().unwrap().contains("Too many"), "{refused}");
    let sessions = server.sql("SELECT count(*) FROM dashboard_sessions").expect("sql");
    assert_eq!(sessions.trim(), "0", "no session was made");
}

#[tokio::test]
#[ignore = "the browser scenarios have not run yet on this branch: cargo nextest run -p textbird --test dashboard_browser --run-ignored all"]
async fn one_account_never_sees_another_accounts_data() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let globex = server.create_account("Globex", "10", "NL");
    let (status, sent) =
        server.post(&acme.api_key, "/v1/messages", &json!({"to": ["+31612345678"], "body": "Acme only"})).await;
    assert!(status == 200 || status == 201 || status == 202, "{status} {sent}");
    let id = sent["messages"][0]["id"].as_str().or_else(|| sent["id"].as_str()).expect("message id").to_owned();
    let lines = run(&server, "isolation", &acme, Some(&globex), &[("TB_FOREIGN_ID", &id)]);
    assert_eq!(step(&lines, "foreign_message")["status"], 404);
    assert_eq!(step(&lines, "log")["lists_foreign"], false);
    assert_eq!(step(&lines, "log")["rows"], 0);
    assert_eq!(step(&lines, "keys")["lists_foreign"], false);
    let revoke = step(&lines, "foreign_revoke");
    assert_eq!((&revoke["status"], &revoke["key_still_works"]), (&json!(404), &json!(true)));
    assert_eq!(step(&lines, "own_log")["lists_own"], true, "the owner sees it");
}

// ----- the sign-in contract on the wire (no browser) -----

/// Signs in with plain HTTP: the session cookie's `Set-Cookie` value.
async fn sign_in_http(server: &Server, account: &Account) -> String {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(server.url("/login")).send().await.unwrap();
    let login_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tb_login="))
        .expect("a sign-in form cookie")
        .to_owned();
    let token = login_cookie.trim_start_matches("tb_login=").split(';').next().unwrap().to_owned();
    let html = form.text().await.unwrap();
    assert!(html.contains(r#"name="username""#) && html.contains(r#"name="password""#), "{html}");
    assert!(html.contains(&token), "the form carries its token");
    let (user, pass) = login(account);
    let res = client
        .post(server.url("/login"))
        .header("cookie", format!("tb_login={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={token}&username={user}&password={pass}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "{}", res.text().await.unwrap());
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tb_session="))
        .expect("a session cookie")
        .to_owned()
}

async fn get_with(server: &Server, cookie: &str, path: &str) -> (u16, Option<String>) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(server.url(path)).header("cookie", cookie).send().await.unwrap();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (res.status().as_u16(), location)
}

#[tokio::test]
#[ignore = "the browser scenarios have not run yet on this branch: cargo nextest run -p textbird --test dashboard_browser --run-ignored all"]
async fn sessions_are_stored_hashed_end_when_idle_and_on_sign_out() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "10", "NL");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(server.url("/")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/login"));

    let set_cookie = sign_in_http(&server, &acme).await;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: no Secure attribute: {set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let token = cookie.trim_start_matches("tb_session=");
    let stored = server.sql("SELECT lookup FROM dashboard_sessions").expect("sql");
    assert_eq!(stored.trim().len(), 64, "one hashed session: {stored}");
    assert!(!stored.contains(token), "the token itself is not stored");
    assert_eq!(get_with(&server, &cookie, "/messages").await.0, 200);

    // Unused past the idle limit: signed out.
    let _ = server.sql("UPDATE dashboard_sessions SET last_seen_at = last_seen_at - 31 * 60000");
    assert_eq!(get_with(&server, &cookie, "/messages").await, (303, Some("/login".into())));

    // Sign-out deletes the stored session.
    let set_cookie = sign_in_http(&server, &acme).await;
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let csrf = {
        let html =
            client.get(server.url("/send")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        let at = html.find(r#"name="_csrf" value=""#).expect("a CSRF field") + r#"name="_csrf" value=""#.len();
        html[at..at + 64].to_owned()
    };
    let res = client
        .post(server.url("/logout"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(get_with(&server, &cookie, "/").await, (303, Some("/login".into())));
    let left = server.sql("SELECT count(*) FROM dashboard_sessions").expect("sql");
    assert_eq!(left.trim(), "1", "only the idle session is left (until the maintenance loop deletes it)");
}

#[tokio::test]
#[ignore = "the browser scenarios have not run yet on this branch: cargo nextest run -p textbird --test dashboard_browser --run-ignored all"]
async fn behind_tls_the_cookie_is_secure() {
    let server = Server::start(BIN, "[http]\npublic_base_url = \"https://sms.example.com\"\n");
    let acme = server.create_account("Acme", "10", "NL");
    let set_cookie = sign_in_http(&server, &acme).await;
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
}
