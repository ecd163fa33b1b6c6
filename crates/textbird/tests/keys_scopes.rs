//! `/v1/keys`: keys made with a name, scopes and an expiry, shown once, listed by prefix;
//! scopes enforced (403 for a route a key's scopes do not cover; older keys keep every
//! scope); revocation effective at once, and within a second on another node on PostgreSQL;
//! rotation with an overlap.

use std::time::{Duration, Instant};

use serde_json::json;
use textbird_test_support::{Server, eventually, postgres};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

fn message() -> serde_json::Value {
    json!({"to": "+31612345678", "from": "Acme", "body": "Hi"})
}

#[tokio::test]
async fn scoped_keys_are_shown_once_listed_by_prefix_and_limited_to_their_scopes() {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "5", "NL");
    let (status, made) =
        server.post(&acme.api_key, "/v1/keys", &json!({"name": "reader", "scopes": ["messages:read"]})).await;
    assert_eq!(status, 201, "{made}");
    let reader = made["key"].as_str().unwrap().to_owned();
    let prefix = made["prefix"].as_str().unwrap().to_owned();
    assert!(reader.starts_with(&prefix) && prefix.starts_with("tbk_") && prefix.len() < reader.len(), "{made}");
    assert_eq!(made["scopes"], json!(["messages:read"]));

    let (status, _) = server.get(&reader, "/v1/messages").await;
    assert_eq!(status, 200, "a messages:read key reads");
    let (status, refused) = server.post(&reader, "/v1/messages", &message()).await;
    assert_eq!(status, 403, "a messages:read key cannot send: {refused}");
    assert_eq!(server.balance(&acme.api_key).await, "5.0000", "nothing was sent");
    let (status, _) = server
        .post(&reader, "/v1/webhooks", &json!({"url": "http://127.0.0.1:9/x", "events": ["message.delivered"]}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = server.post(&reader, "/v1/keys", &json!({"name": "escalate", "scopes": ["messages:send"]})).await;
    assert_eq!(status, 403, "a key without the keys scope makes no keys");
    let (status, sent) = server.post(&acme.api_key, "/v1/messages", &message()).await;
    assert_eq!(status, 201, "the account's first key keeps every scope: {sent}");

    let (status, bad) = server.post(&acme.api_key, "/v1/keys", &json!({"name": "x", "scopes": ["everything"]})).await;
    assert_eq!(status, 422, "{bad}");
    let (status, _) =
        server.post(&acme.api_key, "/v1/keys", &json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"})).await;
    assert_eq!(status, 422, "an expiry in the past");

    let (status, list) = server.get(&acme.api_key, "/v1/keys").await;
    assert_eq!(status, 200, "{list}");
    let text = list.to_string();
    assert!(!text.contains(&reader) && !text.contains(&acme.api_key), "no key in the list: {text}");
    let listed = list["data"].as_array().unwrap().iter().find(|k| k["id"] == made["id"]).expect("listed").clone();
    assert_eq!((listed["prefix"].as_str(), listed["name"].as_str()), (Some(prefix.as_str()), Some("reader")));

    // Another account cannot see or revoke it.
    let other = server.create_account("Other", "1", "NL");
    let (status, _) = server.delete(&other.api_key, &format!("/v1/keys/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(status, 404);
    let (status, _) = server.get(&reader, "/v1/messages").await;
    assert_eq!(status, 200);

    let (status, _) = server.delete(&acme.api_key, &format!("/v1/keys/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(status, 204);
    let (status, _) = server.get(&reader, "/v1/messages").await;
    assert_eq!(status, 401, "revoked at once on this node");

    // Rotation: the old key works through the overlap, then stops; the new one goes on.
    let (_, full) = server.post(&acme.api_key, "/v1/keys", &json!({"name": "sender"})).await;
    let old = full["key"].as_str().unwrap().to_owned();
    let (status, rotated) = server
        .post(&acme.api_key, &format!("/v1/keys/{}/rotate?overlap_seconds=2", full["id"].as_str().unwrap()), &json!({}))
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["name"], "sender");
    assert_eq!(server.get(&old, "/v1/account").await.0, 200, "the old key works during the overlap");
    assert_eq!(server.get(&new, "/v1/account").await.0, 200);
    eventually(6, "the old key stops after the overlap", || async {
        (server.get(&old, "/v1/account").await.0 == 401).then_some(())
    })
    .await;
    assert_eq!(server.get(&new, "/v1/account").await.0, 200);
}

#[tokio::test]
async fn a_key_revoked_on_one_node_is_refused_on_the_other_within_a_second() {
    let Some(db) = postgres::scratch("key_revoked_on_one_node") else { return };
    let a = Server::start_node(BIN, "", &db.url);
    let b = Server::start_node(BIN, "", &db.url);
    let acme = a.create_account("Acme", "5", "NL");
    let (status, made) = a.post(&acme.api_key, "/v1/keys", &json!({"name": "ci"})).await;
    assert_eq!(status, 201, "{made}");
    let key = made["key"].as_str().unwrap().to_owned();
    assert_eq!(b.get(&key, "/v1/account").await.0, 200, "the other node knows the key (and caches it)");
    let (status, _) = a.delete(&acme.api_key, &format!("/v1/keys/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(status, 204);
    let revoked = Instant::now();
    loop {
        let status = b.get(&key, "/v1/account").await.0;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked.elapsed() < Duration::from_millis(1100),
            "still accepted {:?} after the revocation",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(revoked.elapsed() <= Duration::from_millis(1100), "{:?}", revoked.elapsed());
}
