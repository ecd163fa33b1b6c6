//! Contacts, groups, senders and sender lists: scoped to their account, one contact per
//! phone, memberships only between rows of one account, cascades on delete.

use std::collections::BTreeMap;

use textbird_store::{
    Contact, ContactFilter, ContactGroup, Counted, FieldDef, FieldType, Page, SenderList, SenderRecord, Store,
    StoreError,
};
use textbird_types::new_id;

use crate::fixtures::T0;

fn contact(account_id: &str, phone: &str, first_name: &str) -> Contact {
    Contact {
        id: new_id(),
        account_id: account_id.to_owned(),
        phone: phone.to_owned(),
        first_name: Some(first_name.to_owned()),
        last_name: None,
        email: None,
        reference: None,
        fields: BTreeMap::from([("plan".to_owned(), "pro".to_owned())]),
        created_at: T0,
        updated_at: T0,
    }
}

fn group(account_id: &str, name: &str) -> ContactGroup {
    ContactGroup {
        id: new_id(),
        account_id: account_id.to_owned(),
        name: name.to_owned(),
        fields: vec![FieldDef { name: "plan".into(), kind: FieldType::String, required: true }],
        created_at: T0,
        updated_at: T0,
    }
}

fn sender(account_id: &str, value: &str, enabled: bool) -> SenderRecord {
    SenderRecord {
        id: new_id(),
        account_id: account_id.to_owned(),
        value: value.to_owned(),
        enabled,
        created_at: T0,
        updated_at: T0,
    }
}

const ALL: Page = Page { after: None, limit: 100 };

async fn members(store: &Store, account_id: &str, group_id: &str) -> Vec<String> {
    let contacts = store.list_group_contacts(account_id, &[group_id.to_owned()], &ALL).await.unwrap();
    contacts.into_iter().map(|c| c.id).collect()
}

pub async fn contacts_are_unique_by_phone_within_their_account_only(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let other = crate::fixtures::account(store, 0).await;
    let ann = contact(&acme, "+31612345678", "Ann");
    store.create_contact(&ann, &[]).await.unwrap();
    assert_eq!(store.find_contact(&acme, &ann.id).await.unwrap(), Some(ann.clone()), "read back as written");

    let twin = contact(&acme, "+31612345678", "Twin");
    let err = store.create_contact(&twin, &[]).await.expect_err("one contact per phone");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.find_contact(&acme, &twin.id).await.unwrap().is_none());
    store.create_contact(&contact(&other, "+31612345678", "Elsewhere"), &[]).await.expect("another account may");

    assert!(store.find_contact(&other, &ann.id).await.unwrap().is_none(), "invisible to another account");
    let mut stolen = ann.clone();
    stolen.account_id.clone_from(&other);
    stolen.first_name = Some("Mallory".into());
    assert!(!store.update_contact(&stolen).await.unwrap(), "nor can it change it");
    assert!(!store.delete_contact(&other, &ann.id).await.unwrap(), "nor delete it");
    assert_eq!(store.find_contact(&acme, &ann.id).await.unwrap(), Some(ann.clone()));

    let by_phone = ContactFilter { phone: Some("+31612345678".into()), ..ContactFilter::default() };
    let found = store.list_contacts(&acme, &by_phone, &ALL).await.unwrap();
    assert_eq!(found, [ann]);
}

pub async fn memberships_join_only_rows_of_one_account(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let other = crate::fixtures::account(store, 0).await;
    let gold = group(&acme, "Gold");
    let foreign_group = group(&other, "Theirs");
    store.create_group(&gold).await.unwrap();
    store.create_group(&foreign_group).await.unwrap();
    let ann = contact(&acme, "+31612345678", "Ann");
    let bob = contact(&acme, "+31612345679", "Bob");
    let foreign = contact(&other, "+31612345670", "Eve");
    store.create_contact(&ann, &[gold.id.clone(), foreign_group.id.clone()]).await.unwrap();
    store.create_contact(&bob, &[]).await.unwrap();
    store.create_contact(&foreign, &[]).await.unwrap();

    assert_eq!(members(store, &acme, &gold.id).await, [ann.id.as_str()]);
    assert!(members(store, &other, &foreign_group.id).await.is_empty(), "not joined to another account's group");

    let ids = [bob.id.clone(), foreign.id.clone(), ann.id.clone()];
    assert_eq!(store.add_to_group(&acme, &gold.id, &ids, T0).await.unwrap(), 1, "only Bob was new and the account's");
    assert_eq!(members(store, &acme, &gold.id).await, [ann.id.clone(), bob.id.clone()]);
    assert_eq!(store.add_to_group(&other, &gold.id, std::slice::from_ref(&foreign.id), T0).await.unwrap(), 0);
    assert_eq!(store.add_to_group(&acme, &foreign_group.id, std::slice::from_ref(&ann.id), T0).await.unwrap(), 0);
    let pairs = store.contact_group_ids(&acme, &[ann.id.clone(), bob.id.clone()]).await.unwrap();
    assert_eq!(pairs, [(ann.id.clone(), gold.id.clone()), (bob.id.clone(), gold.id.clone())]);

    assert!(!store.remove_from_group(&other, &gold.id, &bob.id).await.unwrap());
    assert!(store.remove_from_group(&acme, &gold.id, &bob.id).await.unwrap());
    assert!(store.delete_contact(&acme, &ann.id).await.unwrap());
    assert!(members(store, &acme, &gold.id).await.is_empty(), "a deleted contact leaves its groups");
    assert!(store.delete_group(&acme, &gold.id).await.unwrap());
    assert_eq!(
        store.find_contacts(&acme, std::slice::from_ref(&bob.id)).await.unwrap().len(),
        1,
        "a deleted group keeps its contacts"
    );
}

pub async fn sender_lists_hold_the_accounts_senders_only(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let other = crate::fixtures::account(store, 0).await;
    let on = sender(&acme, "Acme", true);
    let off = sender(&acme, "AcmeOld", false);
    let foreign = sender(&other, "Other", true);
    for s in [&on, &off, &foreign] {
        store.create_sender(s).await.unwrap();
    }
    let err = store.create_sender(&sender(&acme, "Acme", true)).await.expect_err("one sender per value");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_sender_by_value(&acme, "AcmeOld").await.unwrap(), Some(off.clone()));
    assert!(store.find_sender_by_value(&other, "Acme").await.unwrap().is_none());

    let list = SenderList {
        id: new_id(),
        account_id: acme.clone(),
        name: "Brands".into(),
        sender_ids: vec![on.id.clone(), foreign.id.clone()],
        created_at: T0,
        updated_at: T0,
    };
    store.create_sender_list(&list).await.unwrap();
    let stored = store.find_sender_lists(&acme, std::slice::from_ref(&list.id)).await.unwrap();
    assert_eq!(stored[0].sender_ids, [on.id.as_str()], "another account's sender is not taken in");
    assert_eq!(store.add_to_sender_list(&acme, &list.id, &[off.id.clone(), on.id.clone()], T0 + 1).await.unwrap(), 1);
    let values: Vec<String> =
        store.sender_list_senders(&acme, &list.id).await.unwrap().into_iter().map(|s| s.value).collect();
    assert_eq!(values, ["Acme", "AcmeOld"]);
    assert!(store.sender_list_senders(&other, &list.id).await.unwrap().is_empty());

    assert!(store.delete_sender(&acme, &off.id).await.unwrap());
    assert_eq!(
        store.find_sender_lists(&acme, std::slice::from_ref(&list.id)).await.unwrap()[0].sender_ids,
        [on.id.as_str()]
    );
    assert!(!store.delete_sender_list(&other, &list.id).await.unwrap());
    assert!(store.delete_sender_list(&acme, &list.id).await.unwrap());
    assert_eq!(store.find_senders(&acme, std::slice::from_ref(&on.id)).await.unwrap(), [on]);
}

pub async fn name_filters_match_substrings_ignoring_case_and_wildcards(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let names = ["Alpha", "the ALPHAbet", "50% off", "a_b", "Beta"];
    let mut ids = Vec::new();
    for name in names {
        let g = group(&acme, name);
        store.create_group(&g).await.unwrap();
        ids.push(g.id);
    }
    let account = acme.as_str();
    let found = |name: &'static str| async move {
        let groups = store.list_groups(account, Some(name), &ALL).await.unwrap();
        groups.into_iter().map(|g| g.name).collect::<Vec<_>>()
    };
    assert_eq!(found("alpha").await, ["Alpha", "the ALPHAbet"]);
    assert_eq!(found("%").await, ["50% off"]);
    assert_eq!(found("_").await, ["a_b"]);
    assert_eq!(found("zeta").await, Vec::<String>::new());
    let first_two = store.list_groups(&acme, None, &Page { after: None, limit: 2 }).await.unwrap();
    let rest = store.list_groups(&acme, None, &Page { after: Some(first_two[1].id.clone()), limit: 10 }).await.unwrap();
    let walked: Vec<String> = first_two.into_iter().chain(rest).map(|g| g.id).collect();
    assert_eq!(walked, ids, "a cursor continues where the page ended");
}

pub async fn counts_are_of_one_accounts_rows(store: &Store) {
    let acme = crate::fixtures::account(store, 0).await;
    let other = crate::fixtures::account(store, 0).await;
    for (i, phone) in ["+31612345678", "+31612345679", "+31612345670"].iter().enumerate() {
        store.create_contact(&contact(&acme, phone, &format!("C{i}")), &[]).await.unwrap();
    }
    store.create_contact(&contact(&other, "+31612345678", "Elsewhere"), &[]).await.unwrap();
    store.create_group(&group(&acme, "Gold")).await.unwrap();
    let count = async |account: &str, what| store.count_owned(account, what).await.unwrap();
    assert_eq!(count(&acme, Counted::Contacts).await, 3);
    assert_eq!(count(&acme, Counted::Groups).await, 1);
    assert_eq!(count(&other, Counted::Contacts).await, 1);
    assert_eq!(count(&other, Counted::Groups).await, 0);
    assert_eq!(count(&acme, Counted::Messages).await, 0);
    assert_eq!(count(&acme, Counted::Inbound).await, 0);
}
