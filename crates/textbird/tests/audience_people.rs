//! Contacts, contact groups with custom fields, senders and sender lists over `/v1`, and
//! what the send path reads of them (`recipients_from_contacts`, `sender_list_senders`,
//! `check_sender_enabled`), against a real server and its database.

use serde_json::{Value, json};
use textbird_app::{App, AppError, Principal};
use textbird_store::{OpenOptions, Store};
use textbird_test_support::{Account, Server, assert_problem, problem_fields};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

fn start() -> (Server, Account, Account) {
    let server = Server::start(BIN, "");
    let a = server.create_account("Alpha", "10", "NL");
    let b = server.create_account("Beta", "10", "NL");
    (server, a, b)
}

/// POSTs `body`, asserts 201 and returns the new object's id.
async fn create(server: &Server, key: &str, path: &str, body: &Value) -> String {
    let (status, created) = server.post(key, path, body).await;
    assert_eq!(status, 201, "POST {path}: {created}");
    created["id"].as_str().expect("an id").to_owned()
}

/// Creates a group whose one field, `field` of type `kind`, is required; returns its id.
async fn group_requiring(server: &Server, key: &str, name: &str, field: &str, kind: &str) -> String {
    let fields = json!([{"name": field, "type": kind, "required": true}]);
    create(server, key, "/v1/groups", &json!({"name": name, "fields": fields})).await
}

/// The `field`s of the 422 problem `(status, body)` is.
fn invalid_fields(status: u16, body: &Value) -> Vec<String> {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["type"], "/problems/validation", "{body}");
    problem_fields(body)
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().expect("data").iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
}

/// Every id of a list, page by page with `limit`; asserts each page but the last is full.
async fn walk(server: &Server, key: &str, path: &str, limit: usize) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (status, page) = server.get(key, &url).await;
        assert_eq!(status, 200, "{url}: {page}");
        let got = ids(&page);
        assert!(got.len() <= limit);
        all.extend(got.clone());
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(got.len(), limit, "only a full page has a next cursor");
                cursor = Some(c.to_owned());
            }
            None => return all,
        }
    }
}

/// The use cases over the server's own database, as the send path calls them.
async fn app_for(server: &Server, account: &Account) -> (App, Principal) {
    let options = OpenOptions { max_connections: 2, writers: 1, ..OpenOptions::default() };
    let store = Store::open_url(&server.database_url(), &options).await.expect("open the server's database");
    let app = App::new(store, textbird_config::Settings::default(), None).await.expect("app");
    let principal = app.authenticate_bearer(&account.api_key).await.expect("principal");
    (app, principal)
}

#[tokio::test]
async fn contact_is_created_read_found_by_phone_updated_and_deleted() {
    let (s, a, _) = start();
    let key = &a.api_key;
    let body = json!({"phone": "06 12345678", "first_name": "Ann", "last_name": "Smith", "email": "ann@example.com",
        "reference": "crm-1"});
    let (status, created) = s.post(key, "/v1/contacts", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["phone"], "+31612345678", "a national number is read in the account's country");
    let id = created["id"].as_str().unwrap();

    let (status, got) = s.get(key, &format!("/v1/contacts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, created);

    for query in ["%2B31612345678", "0612345678", "%2B31%20612%20345%20678"] {
        let (status, page) = s.get(key, &format!("/v1/contacts?phone={query}")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), [id], "found by {query}");
    }
    let (_, none) = s.get(key, "/v1/contacts?phone=0612345679").await;
    assert_eq!(none["data"], json!([]));
    let (status, bad) = s.get(key, "/v1/contacts?phone=not-a-number").await;
    assert_eq!(invalid_fields(status, &bad), ["phone"]);

    let (status, updated) = s
        .patch(key, &format!("/v1/contacts/{id}"), &json!({"first_name": "Anne", "email": "", "phone": "+31687654321"}))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["first_name"], "Anne");
    assert_eq!(updated["last_name"], "Smith", "unchanged");
    assert_eq!(updated["email"], Value::Null, "an empty string clears");
    assert_eq!(updated["phone"], "+31687654321");
    let (_, again) = s.get(key, &format!("/v1/contacts/{id}")).await;
    assert_eq!(again, updated);

    let (status, bad) = s.patch(key, &format!("/v1/contacts/{id}"), &json!({"email": "not an email"})).await;
    assert_eq!(invalid_fields(status, &bad), ["email"]);

    assert_eq!(s.delete(key, &format!("/v1/contacts/{id}")).await.0, 204);
    assert_eq!(s.get(key, &format!("/v1/contacts/{id}")).await.0, 404);
    assert_eq!(s.delete(key, &format!("/v1/contacts/{id}")).await.0, 404);
}

#[tokio::test]
async fn one_contact_per_phone_per_account() {
    let (s, a, b) = start();
    create(&s, &a.api_key, "/v1/contacts", &json!({"phone": "+31612345678", "first_name": "First"})).await;
    let r = s
        .request("POST", &a.api_key, "/v1/contacts", Some(&json!({"phone": "0612345678", "first_name": "Second"})), &[])
        .await;
    assert_problem(&r, 409);
    let (_, page) = s.get(&a.api_key, "/v1/contacts").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["first_name"], "First", "the duplicate changed nothing");

    let other = create(&s, &a.api_key, "/v1/contacts", &json!({"phone": "+31612345679"})).await;
    let r = s
        .request("PATCH", &a.api_key, &format!("/v1/contacts/{other}"), Some(&json!({"phone": "+31612345678"})), &[])
        .await;
    assert_problem(&r, 409);

    create(&s, &b.api_key, "/v1/contacts", &json!({"phone": "+31612345678"})).await;
}

#[tokio::test]
async fn group_fields_check_a_contacts_values() {
    let (s, a, _) = start();
    let key = &a.api_key;
    let fields = json!([{"name": "plan", "type": "string", "required": true}, {"name": "seats", "type": "number"},
        {"name": "renews", "type": "date"}, {"name": "vip", "type": "boolean", "required": false}]);
    let (status, group) = s.post(key, "/v1/groups", &json!({"name": "Customers", "fields": fields})).await;
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["fields"][1], json!({"name": "seats", "type": "number", "required": false}));
    let gid = group["id"].as_str().unwrap();

    let contact = |fields: Value| json!({"phone": "+31612345678", "fields": fields, "group_ids": [gid]});
    let cases = [
        (json!({"plan": "pro", "seats": "many"}), vec!["fields.seats"]),
        (json!({"plan": "pro", "renews": "2026-02-30"}), vec!["fields.renews"]),
        (json!({"plan": "pro", "vip": "yes"}), vec!["fields.vip"]),
        (json!({"plan": "pro", "colour": "red"}), vec!["fields.colour"]),
        (json!({"seats": "3"}), vec!["fields.plan"]),
        (json!({"plan": " "}), vec!["fields.plan"]),
    ];
    for (values, expected) in cases {
        let (status, problem) = s.post(key, "/v1/contacts", &contact(values.clone())).await;
        assert_eq!(invalid_fields(status, &problem), expected, "{values}");
    }
    let (status, problem) =
        s.post(key, "/v1/contacts", &json!({"phone": "+31612345678", "fields": {"plan": "pro"}})).await;
    assert_eq!(invalid_fields(status, &problem), ["fields.plan"], "a contact in no group has no fields");
    let (_, page) = s.get(key, "/v1/contacts").await;
    assert_eq!(page["data"], json!([]), "no refused contact was stored");

    let ok = json!({"plan": "pro", "seats": "12.5", "renews": "2027-01-31", "vip": "true"});
    let (status, created) = s.post(key, "/v1/contacts", &contact(ok.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["fields"], ok);
    assert_eq!(created["group_ids"], json!([gid]));
    // JSON numbers and booleans are taken as their text.
    let typed = json!({"plan": "pro", "seats": 3, "vip": false});
    let (status, other) =
        s.post(key, "/v1/contacts", &json!({"phone": "+31612349998", "group_ids": [gid], "fields": typed})).await;
    assert_eq!(status, 201, "{other}");
    assert_eq!(other["fields"], json!({"plan": "pro", "seats": "3", "vip": "false"}));
    let (status, _) = s.delete(key, &format!("/v1/contacts/{}", other["id"].as_str().unwrap())).await;
    assert_eq!(status, 204);
    let (status, problem) = s
        .post(
            key,
            "/v1/contacts",
            &json!({"phone": "+31612349997", "group_ids": [gid], "fields": {"plan": "pro", "vip": 1}}),
        )
        .await;
    assert_eq!(invalid_fields(status, &problem), ["fields.vip"]);
    let id = created["id"].as_str().unwrap();

    let (status, problem) = s.patch(key, &format!("/v1/contacts/{id}"), &json!({"fields": {"seats": "2"}})).await;
    assert_eq!(invalid_fields(status, &problem), ["fields.plan"], "fields replaces all values, and plan is required");
    let (_, kept) = s.get(key, &format!("/v1/contacts/{id}")).await;
    assert_eq!(kept["fields"], ok, "the refused change stored nothing");

    // A new required field the member lacks cannot be added to the group.
    let mut more = fields.as_array().unwrap().clone();
    more.push(json!({"name": "tier", "type": "string", "required": true}));
    let (status, problem) = s.patch(key, &format!("/v1/groups/{gid}"), &json!({"fields": more})).await;
    assert_eq!(invalid_fields(status, &problem), ["fields"]);
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(id) && message.contains("fields.tier"), "{problem}");
    assert_eq!(
        s.get(key, &format!("/v1/groups/{gid}")).await.1["fields"],
        group["fields"],
        "the refused change stored nothing"
    );
    more.pop();
    more.push(json!({"name": "tier", "type": "string"}));
    let (status, changed) =
        s.patch(key, &format!("/v1/groups/{gid}"), &json!({"name": "Clients", "fields": more})).await;
    assert_eq!(status, 200, "an optional field fits every member: {changed}");
    assert_eq!((changed["name"].as_str(), changed["fields"].as_array().map(Vec::len)), (Some("Clients"), Some(5)));
}

#[tokio::test]
async fn field_definitions_are_validated() {
    let (s, a, _) = start();
    let key = &a.api_key;
    let cases = [
        (json!([{"name": "Plan", "type": "string"}]), "fields[0].name"),
        (json!([{"name": "first_name", "type": "string"}]), "fields[0].name"),
        (json!([{"name": "custom2", "type": "string"}]), "fields[0].name"),
        (json!([{"name": "a", "type": "string"}, {"name": "a", "type": "number"}]), "fields[1].name"),
        (json!([{"name": "plan", "type": "text"}]), "fields[0].type"),
        (json!([{"name": "plan", "type": "string", "extra": 1}]), "fields[0].extra"),
    ];
    for (fields, expected) in cases {
        let (status, problem) = s.post(key, "/v1/groups", &json!({"name": "G", "fields": fields})).await;
        assert_eq!(invalid_fields(status, &problem), [expected], "{fields}");
    }
    let (_, page) = s.get(key, "/v1/groups").await;
    assert_eq!(page["data"], json!([]), "no refused group was stored");
}

#[tokio::test]
async fn a_contact_in_two_groups_is_checked_against_both_and_listed_in_both() {
    let (s, a, _) = start();
    let key = &a.api_key;
    let gold = group_requiring(&s, key, "Gold", "plan", "string").await;
    let news = group_requiring(&s, key, "News", "since", "date").await;
    let both = json!({"phone": "+31612345678", "first_name": "Ann", "group_ids": [gold, news],
        "fields": {"plan": "pro", "since": "2024-05-01"}});
    let (status, problem) = s
        .post(
            key,
            "/v1/contacts",
            &json!({"phone": "+31612345678", "group_ids": [gold, news], "fields": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(invalid_fields(status, &problem), ["fields.since"]);
    let (status, contact) = s.post(key, "/v1/contacts", &both).await;
    assert_eq!(status, 201, "{contact}");
    let ann = contact["id"].as_str().unwrap().to_owned();
    let mut expected_groups = vec![gold.clone(), news.clone()];
    expected_groups.sort();
    assert_eq!(contact["group_ids"], json!(expected_groups));

    let bob = create(&s, key, "/v1/contacts", &json!({"phone": "+31612345679", "first_name": "Bob"})).await;
    for g in [&gold, &news] {
        assert_eq!(walk(&s, key, &format!("/v1/groups/{g}/contacts"), 1).await, [ann.as_str()]);
    }
    // Bob lacks the required plan, so he cannot join Gold; the problem names him by index.
    let (status, problem) =
        s.post(key, &format!("/v1/groups/{gold}/contacts"), &json!({"contact_ids": [ann, bob]})).await;
    assert_eq!(invalid_fields(status, &problem), ["contact_ids[1].fields.plan"]);
    assert_eq!(walk(&s, key, &format!("/v1/groups/{gold}/contacts"), 10).await, [ann.as_str()], "nobody was added");

    let (status, _) = s.patch(key, &format!("/v1/contacts/{bob}"), &json!({"fields": {"plan": "basic"}})).await;
    assert_eq!(status, 422, "Bob is in no group yet, so plan is not his field");
    let plain = create(&s, key, "/v1/groups", &json!({"name": "Plain"})).await;
    let (status, added) =
        s.post(key, &format!("/v1/groups/{plain}/contacts"), &json!({"contact_ids": [bob, ann, bob]})).await;
    assert_eq!((status, added), (200, json!({"added": 2})));
    let (_, added) = s.post(key, &format!("/v1/groups/{plain}/contacts"), &json!({"contact_ids": [bob]})).await;
    assert_eq!(added, json!({"added": 0}), "already a member");

    assert_eq!(s.delete(key, &format!("/v1/groups/{news}/contacts/{ann}")).await.0, 204);
    assert_eq!(s.delete(key, &format!("/v1/groups/{news}/contacts/{ann}")).await.0, 404);
    assert!(walk(&s, key, &format!("/v1/groups/{news}/contacts"), 10).await.is_empty());
    let (_, got) = s.get(key, &format!("/v1/contacts/{ann}")).await;
    let mut expected_groups = vec![gold.clone(), plain.clone()];
    expected_groups.sort();
    assert_eq!(got["group_ids"], json!(expected_groups));

    // Deleting a group keeps its contacts; deleting a contact takes it out of its groups.
    assert_eq!(s.delete(key, &format!("/v1/groups/{gold}")).await.0, 204);
    assert_eq!(s.get(key, &format!("/v1/contacts/{ann}")).await.1["group_ids"], json!([plain]));
    assert_eq!(s.delete(key, &format!("/v1/contacts/{bob}")).await.0, 204);
    assert_eq!(walk(&s, key, &format!("/v1/groups/{plain}/contacts"), 10).await, [ann]);
}

#[tokio::test]
async fn lists_page_by_cursor_and_filter_by_name() {
    let (s, a, b) = start();
    let key = &a.api_key;
    let mut groups = Vec::new();
    for name in ["Alpha one", "ALPHA two", "Beta", "alpha three", "Gamma 100%", "Gamma_x"] {
        groups.push(create(&s, key, "/v1/groups", &json!({"name": name})).await);
    }
    create(&s, &b.api_key, "/v1/groups", &json!({"name": "Alpha of B"})).await;
    assert_eq!(walk(&s, key, "/v1/groups", 2).await, groups, "every group once, oldest first");
    assert_eq!(
        walk(&s, key, "/v1/groups?name=alpha", 2).await,
        [groups[0].as_str(), groups[1].as_str(), groups[3].as_str()]
    );
    assert_eq!(walk(&s, key, "/v1/groups?name=100%25", 10).await, [groups[4].as_str()], "% is literal");
    assert_eq!(walk(&s, key, "/v1/groups?name=a_", 10).await, [groups[5].as_str()], "_ is literal");

    let mut contacts = Vec::new();
    for (i, (first, last)) in [("Ann", "Smith"), ("Bob", "Annan"), ("Carl", "Jones")].iter().enumerate() {
        let body = json!({"phone": format!("+3161234567{i}"), "first_name": first, "last_name": last});
        contacts.push(create(&s, key, "/v1/contacts", &body).await);
    }
    assert_eq!(walk(&s, key, "/v1/contacts", 1).await, contacts);
    assert_eq!(walk(&s, key, "/v1/contacts?name=ann", 1).await, [contacts[0].as_str(), contacts[1].as_str()]);
    assert_eq!(walk(&s, key, "/v1/contacts?name=ann%20smith", 1).await, [contacts[0].as_str()]);

    let mut senders = Vec::new();
    for value in ["Acme", "AcmeShop", "Other", "3197010"] {
        senders.push(create(&s, key, "/v1/senders", &json!({"value": value})).await);
    }
    assert_eq!(walk(&s, key, "/v1/senders", 3).await, senders);
    assert_eq!(walk(&s, key, "/v1/senders?name=ACME", 3).await, [senders[0].as_str(), senders[1].as_str()]);
    let mut lists = Vec::new();
    for name in ["Marketing", "Alerts", "Marketing EU"] {
        lists.push(create(&s, key, "/v1/sender-lists", &json!({"name": name})).await);
    }
    assert_eq!(walk(&s, key, "/v1/sender-lists?name=market", 1).await, [lists[0].as_str(), lists[2].as_str()]);

    let (status, bad) = s.get(key, "/v1/groups?limit=0").await;
    assert_eq!(invalid_fields(status, &bad), ["limit"]);
    let (status, bad) = s.get(key, "/v1/groups?colour=red").await;
    assert_eq!(status, 422, "{bad}");
}

#[tokio::test]
async fn malformed_or_mistyped_bodies_are_clear_problems_and_store_nothing() {
    let (s, a, _) = start();
    let key = &a.api_key;
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    for path in ["/v1/contacts", "/v1/groups", "/v1/senders", "/v1/sender-lists"] {
        let r = textbird_test_support::Reply::read(s.raw("POST", path, &headers, b"{".to_vec()).await).await;
        assert_eq!(assert_problem(&r, 400)["type"], "/problems/malformed-json", "{path}");
    }
    let cases = [
        ("/v1/contacts", json!({"phone": 31_612_345_678_u64}), "phone"),
        ("/v1/contacts", json!({"phone": "+31612345678", "fields": {"plan": 5}}), "fields.plan"),
        ("/v1/contacts", json!({"phone": "+31612345678", "fields": ["plan"]}), "fields"),
        ("/v1/contacts", json!({"phone": "+31612345678", "nickname": "x"}), "nickname"),
        ("/v1/contacts", json!({"first_name": "No phone"}), "phone"),
        ("/v1/contacts", json!({"phone": "12"}), "phone"),
        ("/v1/groups", json!({"name": ""}), "name"),
        ("/v1/groups", json!({"name": "G", "fields": {"plan": "string"}}), "fields"),
        ("/v1/senders", json!({"value": "Acme!"}), "value"),
        ("/v1/senders", json!({"value": "WayTooLongSender"}), "value"),
        ("/v1/senders", json!({"value": "Acme", "enabled": "no"}), "enabled"),
        ("/v1/sender-lists", json!({"name": "L", "sender_ids": "x"}), "sender_ids"),
    ];
    for (path, body, field) in cases {
        let (status, problem) = s.post(key, path, &body).await;
        assert_eq!(invalid_fields(status, &problem), [field], "{path} {body}");
        assert!(!problem["errors"][0]["message"].as_str().unwrap().is_empty());
    }
    for path in ["/v1/contacts", "/v1/groups", "/v1/senders", "/v1/sender-lists"] {
        let (_, page) = s.get(key, path).await;
        assert_eq!(page["data"], json!([]), "nothing stored under {path}");
    }
}

#[tokio::test]
async fn another_accounts_contacts_groups_senders_and_lists_are_404() {
    let (s, a, b) = start();
    let (ka, kb) = (&a.api_key, &b.api_key);
    let group = create(&s, ka, "/v1/groups", &json!({"name": "A's group"})).await;
    let contact = create(&s, ka, "/v1/contacts", &json!({"phone": "+31612345678", "group_ids": [group]})).await;
    let sender = create(&s, ka, "/v1/senders", &json!({"value": "AlphaCo"})).await;
    let list = create(&s, ka, "/v1/sender-lists", &json!({"name": "A's list", "sender_ids": [sender]})).await;
    let b_group = create(&s, kb, "/v1/groups", &json!({"name": "B's group"})).await;
    let b_contact = create(&s, kb, "/v1/contacts", &json!({"phone": "+31612345679"})).await;
    let b_list = create(&s, kb, "/v1/sender-lists", &json!({"name": "B's list"})).await;

    let objects = [
        (format!("/v1/contacts/{contact}"), json!({"first_name": "Mallory"})),
        (format!("/v1/groups/{group}"), json!({"name": "Mallory"})),
        (format!("/v1/senders/{sender}"), json!({"enabled": false})),
        (format!("/v1/sender-lists/{list}"), json!({"name": "Mallory"})),
    ];
    let not_found = |r: &textbird_test_support::Reply, what: &str| {
        assert_eq!(assert_problem(r, 404)["type"], "/problems/not-found", "{what}");
    };
    for (path, change) in &objects {
        for (method, body) in [("GET", None), ("PATCH", Some(change)), ("DELETE", None)] {
            not_found(&s.request(method, kb, path, body, &[]).await, &format!("{method} {path}"));
        }
    }
    let foreign_refs = [
        ("POST", format!("/v1/groups/{b_group}/contacts"), Some(json!({"contact_ids": [contact]}))),
        ("POST", format!("/v1/groups/{group}/contacts"), Some(json!({"contact_ids": [b_contact]}))),
        ("GET", format!("/v1/groups/{group}/contacts"), None),
        ("DELETE", format!("/v1/groups/{group}/contacts/{contact}"), None),
        ("POST", "/v1/contacts".to_owned(), Some(json!({"phone": "+31612345670", "group_ids": [group]}))),
        ("POST", "/v1/sender-lists".to_owned(), Some(json!({"name": "L", "sender_ids": [sender]}))),
        ("POST", format!("/v1/sender-lists/{b_list}/senders"), Some(json!({"sender_ids": [sender]}))),
        ("DELETE", format!("/v1/sender-lists/{list}/senders/{sender}"), None),
    ];
    for (method, path, body) in &foreign_refs {
        not_found(&s.request(method, kb, path, body.as_ref(), &[]).await, &format!("{method} {path}"));
    }

    // Nothing of A's changed, and B's lists show none of it.
    let (_, c) = s.get(ka, &format!("/v1/contacts/{contact}")).await;
    assert_eq!((&c["first_name"], &c["group_ids"]), (&Value::Null, &json!([group])));
    assert_eq!(s.get(ka, &format!("/v1/groups/{group}")).await.1["name"], "A's group");
    assert_eq!(s.get(ka, &format!("/v1/senders/{sender}")).await.1["enabled"], true);
    assert_eq!(s.get(ka, &format!("/v1/sender-lists/{list}")).await.1["sender_ids"], json!([sender]));
    assert!(walk(&s, kb, &format!("/v1/groups/{b_group}/contacts"), 10).await.is_empty());
    assert_eq!(s.get(kb, &format!("/v1/sender-lists/{b_list}")).await.1["sender_ids"], json!([]));
    assert_eq!(walk(&s, kb, "/v1/contacts", 10).await, [b_contact]);
    assert_eq!(walk(&s, kb, "/v1/contacts?phone=%2B31612345678", 10).await, Vec::<String>::new());
    assert_eq!(walk(&s, kb, "/v1/senders", 10).await, Vec::<String>::new());
    assert_eq!(walk(&s, kb, "/v1/groups", 10).await, [b_group]);
    assert_eq!(walk(&s, kb, "/v1/sender-lists", 10).await, [b_list]);

    // Nor do the send path's readers hand A's objects to B.
    let (app, pb) = app_for(&s, &b).await;
    let err = app.recipients_from_contacts(&pb, &[contact], &[]).await.unwrap_err();
    assert!(matches!(err, AppError::NotFound("contact")), "{err:?}");
    let err = app.recipients_from_contacts(&pb, &[], &[group]).await.unwrap_err();
    assert!(matches!(err, AppError::NotFound("group")), "{err:?}");
    let err = app.sender_list_senders(&pb, &list).await.unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn senders_and_sender_lists_and_what_the_send_path_reads_of_them() {
    let (s, a, _) = start();
    let key = &a.api_key;
    let (status, acme) = s.post(key, "/v1/senders", &json!({"value": " Acme "})).await;
    assert_eq!(status, 201, "{acme}");
    assert_eq!((&acme["value"], &acme["enabled"]), (&json!("Acme"), &json!(true)));
    let acme = acme["id"].as_str().unwrap().to_owned();
    assert_problem(&s.request("POST", key, "/v1/senders", Some(&json!({"value": "Acme"})), &[]).await, 409);
    let shop = create(&s, key, "/v1/senders", &json!({"value": "AcmeShop"})).await;
    let num = create(&s, key, "/v1/senders", &json!({"value": "+3197010000001"})).await;

    let (status, list) = s.post(key, "/v1/sender-lists", &json!({"name": "Brands", "sender_ids": [acme, shop]})).await;
    assert_eq!(status, 201, "{list}");
    let list = list["id"].as_str().unwrap().to_owned();
    let (status, got) =
        s.post(key, &format!("/v1/sender-lists/{list}/senders"), &json!({"sender_ids": [num, acme]})).await;
    assert_eq!(status, 200, "{got}");
    let members: Vec<&str> = got["sender_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(members.len(), 3, "{got}");
    assert!([&acme, &shop, &num].iter().all(|id| members.contains(&id.as_str())));
    assert_eq!(s.delete(key, &format!("/v1/sender-lists/{list}/senders/{num}")).await.0, 204);
    let (_, renamed) = s.patch(key, &format!("/v1/sender-lists/{list}"), &json!({"name": "Our brands"})).await;
    assert_eq!(renamed["name"], "Our brands");
    assert_eq!(renamed["sender_ids"].as_array().unwrap().len(), 2);

    let (app, pa) = app_for(&s, &a).await;
    let mut values = app.sender_list_senders(&pa, &list).await.unwrap();
    values.sort();
    assert_eq!(values, ["Acme", "AcmeShop"]);
    app.check_sender_enabled(&pa, "Acme").await.expect("an enabled sender passes");
    let (status, sent) =
        s.post(key, "/v1/messages", &json!({"to": ["+31612345678"], "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 201, "{sent}");
    app.check_sender_enabled(&pa, "Unregistered").await.expect("an unregistered sender passes");

    let (status, disabled) = s.patch(key, &format!("/v1/senders/{acme}"), &json!({"enabled": false})).await;
    assert_eq!((status, &disabled["enabled"]), (200, &json!(false)));
    assert_eq!(s.get(key, &format!("/v1/senders/{acme}")).await.1["enabled"], false);
    // The server refuses it at once, though it sent from it a moment ago.
    let (status, refused) =
        s.post(key, "/v1/messages", &json!({"to": ["+31612345678"], "from": "Acme", "body": "Hi"})).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("this sender is disabled"), "{refused}");
    // The server changed the sender; what this process's store cached of the account's
    // senders is trusted for at most 2 s.
    let started = std::time::Instant::now();
    while app.check_sender_enabled(&pa, "Acme").await.is_ok() && started.elapsed() < std::time::Duration::from_secs(3) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    match app.check_sender_enabled(&pa, "Acme").await {
        Err(AppError::Validation(f)) => {
            assert_eq!((f[0].field.as_str(), f[0].message.as_str()), ("from", "this sender is disabled"));
        }
        other => panic!("a disabled sender is refused: {other:?}"),
    }
    assert_eq!(app.sender_list_senders(&pa, &list).await.unwrap(), ["AcmeShop"], "only enabled senders");
    s.patch(key, &format!("/v1/senders/{shop}"), &json!({"enabled": false})).await;
    assert!(matches!(app.sender_list_senders(&pa, &list).await, Err(AppError::Validation(_))), "none enabled");
    assert!(matches!(app.sender_list_senders(&pa, "no-such-list").await, Err(AppError::NotFound(_))));

    let (status, bad) = s.patch(key, &format!("/v1/senders/{shop}"), &json!({"value": "Acme"})).await;
    assert_eq!(status, 409, "{bad}");
    assert_eq!(s.delete(key, &format!("/v1/senders/{shop}")).await.0, 204);
    assert_eq!(
        s.get(key, &format!("/v1/sender-lists/{list}")).await.1["sender_ids"],
        json!([acme]),
        "out of the list too"
    );
    assert_eq!(s.delete(key, &format!("/v1/sender-lists/{list}")).await.0, 204);
    assert_eq!(s.get(key, &format!("/v1/sender-lists/{list}")).await.0, 404);
    assert_eq!(s.get(key, &format!("/v1/senders/{acme}")).await.0, 200, "deleting a list keeps its senders");
}

#[tokio::test]
async fn recipients_from_contacts_and_groups_carry_their_fields_each_phone_once() {
    let (s, a, _) = start();
    let key = &a.api_key;
    let gold = group_requiring(&s, key, "Gold", "plan", "string").await;
    let news = create(&s, key, "/v1/groups", &json!({"name": "News"})).await;
    let ann = create(
        &s,
        key,
        "/v1/contacts",
        &json!({"phone": "+31612345678", "first_name": "Ann", "last_name": "Smith",
        "email": "ann@example.com", "group_ids": [gold, news], "fields": {"plan": "pro"}}),
    )
    .await;
    let bob =
        create(&s, key, "/v1/contacts", &json!({"phone": "+31612345679", "first_name": "Bob", "group_ids": [news]}))
            .await;
    let carl = create(&s, key, "/v1/contacts", &json!({"phone": "+31612345670"})).await;

    let (app, pa) = app_for(&s, &a).await;
    let recipients =
        app.recipients_from_contacts(&pa, &[carl.clone(), ann.clone()], &[gold.clone(), news.clone()]).await.unwrap();
    let phones: Vec<&str> = recipients.iter().map(|r| r.phone.as_str()).collect();
    assert_eq!(
        phones,
        ["+31612345670", "+31612345678", "+31612345679"],
        "named contacts first, then members, once each"
    );
    let ann_r = &recipients[1];
    assert_eq!((ann_r.first_name.as_deref(), ann_r.last_name.as_deref()), (Some("Ann"), Some("Smith")));
    assert_eq!(ann_r.email.as_deref(), Some("ann@example.com"));
    assert_eq!(ann_r.fields.get("plan").map(String::as_str), Some("pro"));
    assert_eq!((&ann_r.url, &ann_r.custom), (&None, &None));

    let only_group = app.recipients_from_contacts(&pa, &[], std::slice::from_ref(&news)).await.unwrap();
    assert_eq!(only_group.iter().map(|r| r.phone.as_str()).collect::<Vec<_>>(), ["+31612345678", "+31612345679"]);
    let err = app.recipients_from_contacts(&pa, &[bob, "no-such-contact".into()], &[]).await.unwrap_err();
    assert!(matches!(err, AppError::NotFound("contact")), "{err:?}");
    let err = app.recipients_from_contacts(&pa, &[], &[news, "no-such-group".into()]).await.unwrap_err();
    assert!(matches!(err, AppError::NotFound("group")), "{err:?}");
    assert!(app.recipients_from_contacts(&pa, &[], &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_audience_route_is_in_the_openapi_document() {
    let server = Server::start(BIN, "");
    let r = textbird_test_support::Reply::read(server.raw("GET", "/openapi.json", &[], Vec::new()).await).await;
    assert_eq!(r.status, 200);
    let paths = &r.body["paths"];
    let expected = [
        ("/v1/contacts", &["get", "post"][..]),
        ("/v1/contacts/{id}", &["get", "patch", "delete"]),
        ("/v1/groups", &["get", "post"]),
        ("/v1/groups/{id}", &["get", "patch", "delete"]),
        ("/v1/groups/{id}/contacts", &["get", "post"]),
        ("/v1/groups/{id}/contacts/{contact_id}", &["delete"]),
        ("/v1/senders", &["get", "post"]),
        ("/v1/senders/{id}", &["get", "patch", "delete"]),
        ("/v1/sender-lists", &["get", "post"]),
        ("/v1/sender-lists/{id}", &["get", "patch", "delete"]),
        ("/v1/sender-lists/{id}/senders", &["post"]),
        ("/v1/sender-lists/{id}/senders/{sender_id}", &["delete"]),
    ];
    for (path, methods) in expected {
        for method in methods {
            assert!(paths[path][method].is_object(), "{method} {path} is documented");
        }
    }
    let list_params = paths["/v1/groups"]["get"]["parameters"].as_array().expect("parameters");
    assert!(list_params.iter().any(|p| p["name"] == "name"), "the name filter is documented");
}

#[tokio::test]
async fn sends_reach_contacts_and_groups_from_the_senders_of_a_sender_list() {
    let (server, a, b) = start();
    let key = &a.api_key;
    let anna = create(&server, key, "/v1/contacts", &json!({"phone": "+31612340001", "first_name": "Anna"})).await;
    let bram = create(&server, key, "/v1/contacts", &json!({"phone": "+31612340002"})).await;
    let cees = create(&server, key, "/v1/contacts", &json!({"phone": "+31612340003"})).await;
    let group = create(&server, key, "/v1/groups", &json!({"name": "Team"})).await;
    let (status, added) =
        server.post(key, &format!("/v1/groups/{group}/contacts"), &json!({"contact_ids": [bram, cees]})).await;
    assert_eq!(status, 200, "{added}");
    let s1 = create(&server, key, "/v1/senders", &json!({"value": "Acme"})).await;
    let s2 = create(&server, key, "/v1/senders", &json!({"value": "AcmeNews"})).await;
    let list = create(&server, key, "/v1/sender-lists", &json!({"name": "Brands", "sender_ids": [s1, s2]})).await;

    // Anna directly and again through no group; Bram and Cees through the group.
    let (status, sent) = server
        .post(
            key,
            "/v1/messages",
            &json!({"contact_ids": [anna], "group_ids": [group], "sender_list_id": list, "body": "Hi"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let messages = sent["messages"].as_array().unwrap();
    let mut to: Vec<&str> = messages.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort_unstable();
    assert_eq!(to, ["+31612340001", "+31612340002", "+31612340003"]);
    for m in messages {
        assert!(["Acme", "AcmeNews"].contains(&m["from"].as_str().unwrap()), "{m}");
    }
    // Both senders get used over enough sends (each message draws at random).
    let mut used = std::collections::HashSet::new();
    for _ in 0..20 {
        let (_, sent) = server
            .post(key, "/v1/messages", &json!({"contact_ids": [anna], "sender_list_id": list, "body": "Hi"}))
            .await;
        used.insert(sent["messages"][0]["from"].as_str().unwrap().to_owned());
    }
    assert_eq!(used.len(), 2, "{used:?}");

    // A disabled sender cannot be used as `from`, and leaves the list.
    let (status, _) = server.patch(key, &format!("/v1/senders/{s2}"), &json!({"enabled": false})).await;
    assert_eq!(status, 200);
    let (status, body) =
        server.post(key, "/v1/messages", &json!({"to": "+31612340001", "from": "AcmeNews", "body": "Hi"})).await;
    assert_eq!(invalid_fields(status, &body), ["from"]);
    for _ in 0..5 {
        let (_, sent) = server
            .post(key, "/v1/messages", &json!({"contact_ids": [anna], "sender_list_id": list, "body": "Hi"}))
            .await;
        assert_eq!(sent["messages"][0]["from"], "Acme", "{sent}");
    }
    // `from` and a sender list together are refused; another account's ids are not found.
    let (status, body) = server
        .post(key, "/v1/messages", &json!({"to": "+31612340001", "from": "Acme", "sender_list_id": list, "body": "Hi"}))
        .await;
    assert_eq!(invalid_fields(status, &body), ["sender_list_id"]);
    let other = &b.api_key;
    for body in [
        json!({"contact_ids": [anna], "from": "Beta", "body": "Hi"}),
        json!({"group_ids": [group], "from": "Beta", "body": "Hi"}),
        json!({"to": "+31612340001", "sender_list_id": list, "body": "Hi"}),
    ] {
        let (status, answer) = server.post(other, "/v1/messages", &body).await;
        assert_eq!(status, 404, "{body}: {answer}");
    }
    assert_eq!(server.balance(other).await, "10.0000", "nothing charged");
}

#[tokio::test]
async fn a_template_reads_a_contacts_names_and_group_fields() {
    let (server, a, _) = start();
    let key = &a.api_key;
    let group = group_requiring(&server, key, "Plans", "plan", "string").await;
    create(
        &server,
        key,
        "/v1/contacts",
        &json!({"phone": "+31612340011", "first_name": "Femke", "fields": {"plan": "gold"}, "group_ids": [group]}),
    )
    .await;
    let template =
        create(&server, key, "/v1/templates", &json!({"name": "Plan", "body": "{{first_name}}, your plan: {{plan}}"}))
            .await;
    let (status, sent) =
        server.post(key, "/v1/messages", &json!({"group_ids": [group], "from": "Acme", "template_id": template})).await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["messages"][0]["id"].as_str().unwrap();
    let (_, message) = server.get(key, &format!("/v1/messages/{id}")).await;
    assert_eq!(message["body"], "Femke, your plan: gold", "{message}");
    assert_eq!(message["to"], "+31612340011");
}
