//! Dashboard sessions (found by lookup while recently used, touched, ended, pruned) and
//! named API keys (listed and revoked per account).

use textbird_store::{DashboardSession, NewCredential, Store};

use crate::fixtures::{T0, account};

fn session(lookup: &str, account_id: &str, at: i64) -> DashboardSession {
    DashboardSession { lookup: lookup.into(), account_id: account_id.into(), created_at: at, last_seen_at: at }
}

pub async fn dashboard_sessions_are_found_while_used_and_end_when_deleted(store: &Store) {
    let acme = account(store, 1_000_000).await;
    store.insert_dashboard_session(&session("s1", &acme, T0)).await.unwrap();
    store.insert_dashboard_session(&session("s2", &acme, T0)).await.unwrap();
    let (found, account) = store.dashboard_session("s1", T0).await.unwrap().expect("the session");
    assert_eq!((found.account_id.as_str(), account.id.as_str()), (acme.as_str(), acme.as_str()));
    assert!(store.dashboard_session("s1", T0 + 1).await.unwrap().is_none(), "idle past the cut");
    assert!(store.dashboard_session("nope", 0).await.unwrap().is_none());

    store.touch_dashboard_session("s1", T0 + 100).await.unwrap();
    store.touch_dashboard_session("s1", T0 + 50).await.unwrap();
    let (touched, _) = store.dashboard_session("s1", T0 + 1).await.unwrap().expect("touched");
    assert_eq!(touched.last_seen_at, T0 + 100, "a touch never moves the time back");

    assert!(store.delete_dashboard_session("s1").await.unwrap());
    assert!(!store.delete_dashboard_session("s1").await.unwrap(), "once");
    assert!(store.dashboard_session("s1", 0).await.unwrap().is_none());
    assert_eq!(store.prune_dashboard_sessions(T0 + 1).await.unwrap(), 1, "s2 was last seen before the cut");
    assert!(store.dashboard_session("s2", 0).await.unwrap().is_none());
}

fn key(id: &str, account_id: &str, at: i64) -> NewCredential {
    NewCredential {
        id: id.into(),
        account_id: account_id.into(),
        kind: "issued_api_key".into(),
        lookup: format!("lookup-{id}"),
        secret_hash: None,
        expires_at: Some(at + 1000),
        created_at: at,
    }
}

pub async fn named_keys_are_listed_and_revoked_per_account(store: &Store) {
    let acme = account(store, 1_000_000).await;
    let other = account(store, 1_000_000).await;
    store.insert_named_credential(&key("k1", &acme, T0), "billing").await.unwrap();
    store.insert_named_credential(&key("k2", &acme, T0 + 1), "crm").await.unwrap();
    store.insert_named_credential(&key("k3", &other, T0), "theirs").await.unwrap();
    let keys = store.named_keys(&acme, "issued_api_key").await.unwrap();
    let names: Vec<(&str, &str)> = keys.iter().map(|k| (k.id.as_str(), k.name.as_str())).collect();
    assert_eq!(names, [("k2", "crm"), ("k1", "billing")], "newest first, own keys only");
    assert_eq!(keys[0].expires_at, Some(T0 + 1001));

    assert!(!store.revoke_credential(&acme, "issued_api_key", "k3", T0 + 5).await.unwrap(), "another account's key");
    assert!(store.find_credential("lookup-k3", T0 + 5).await.unwrap().is_some(), "still live");
    assert!(store.revoke_credential(&acme, "issued_api_key", "k1", T0 + 5).await.unwrap());
    assert!(!store.revoke_credential(&acme, "issued_api_key", "k1", T0 + 6).await.unwrap(), "once");
    assert!(store.find_credential("lookup-k1", T0 + 6).await.unwrap().is_none(), "revoked");
    let keys = store.named_keys(&acme, "issued_api_key").await.unwrap();
    assert_eq!(keys[1].revoked_at, Some(T0 + 5));
}
