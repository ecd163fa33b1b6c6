//! Textbird's SMPP client (the carrier connector) against an SMSC built with someone else's
//! SMPP software (npm `smpp`, `tests/peers/smsc.js`): addresses and data codings on the wire,
//! the three ways of sending a long message, binds that fail and are retried with backoff,
//! temporary and final error statuses, a link dropped with submissions in flight, delivery
//! receipts in their common shapes, and concatenated inbound messages (RELIABILITY.md, SMPP).

mod carrier;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use textbird_test_support::{Peer, Server};

use carrier::*;

#[tokio::test]
async fn gsm_and_ucs2_messages_carry_their_codings_and_addresses_and_end_delivered() {
    let smsc = Peer::smsc(&["--dlr", "tlv"]);
    let (server, key) = Carrier::new(&smsc).start();
    own_number(&server, &key).await;
    let gsm = send(&server, &key, "+31611111111", "Acme", "Hello from Textbird").await;
    let ucs2 = send(&server, &key, "+31622222222", OURS, "Привет").await;

    for id in [&gsm, &ucs2] {
        let m = wait_status(&server, &key, id, &["delivered"], 30).await;
        let dest = m["to"].as_str().unwrap().trim_start_matches('+').to_owned();
        let submits = submits_to(&smsc, &dest);
        assert_eq!(submits.len(), 1, "one submit_sm for {id}: {submits:?}");
        assert_eq!(m["carrier_id"], submits[0]["message_id"], "carrier id is the submit_sm_resp id: {m}");
    }

    let s = &submits_to(&smsc, "31611111111")[0];
    assert_eq!(u64_of(s, "data_coding"), 0, "GSM text goes out as data_coding 0: {s}");
    assert_eq!(s["short_message"], hex(b"Hello from Textbird"), "unpacked GSM 03.38 septets: {s}");
    assert_eq!(
        (s["source_addr"].as_str(), u64_of(s, "source_addr_ton"), u64_of(s, "source_addr_npi")),
        (Some("Acme"), 5, 0)
    );
    assert_eq!((u64_of(s, "dest_addr_ton"), u64_of(s, "dest_addr_npi")), (1, 1), "{s}");
    assert_eq!(u64_of(s, "registered_delivery"), 1, "{s}");
    assert_eq!(u64_of(s, "esm_class"), 0, "no UDHI on a single part: {s}");
    assert!(s["message_payload"].is_null(), "{s}");

    let s = &submits_to(&smsc, "31622222222")[0];
    assert_eq!(u64_of(s, "data_coding"), 8, "non-GSM text goes out as UCS-2: {s}");
    assert_eq!(s["short_message"], "041f04400438043204350442", "UTF-16 big-endian: {s}");
    assert_eq!(
        (s["source_addr"].as_str(), u64_of(s, "source_addr_ton"), u64_of(s, "source_addr_npi")),
        (Some("31687654321"), 1, 1),
        "a number sender is international, without '+': {s}"
    );
    assert_eq!(u64_of(s, "esm_class"), 0, "{s}");
}

/// Sends a 400-character GSM body with `split`; returns the message id and the SMSC.
async fn send_long(split: &'static str) -> (Peer, Server, String, String, String) {
    let smsc = Peer::smsc(&["--dlr", "tlv"]);
    let mut carrier = Carrier::new(&smsc);
    carrier.split = split;
    let (server, key) = carrier.start();
    let body = long_gsm_body(400);
    let id = send(&server, &key, "+31611111111", "Acme", &body).await;
    wait_status(&server, &key, &id, &["delivered"], 30).await;
    (smsc, server, key, id, body)
}

#[tokio::test]
async fn a_long_message_split_with_udh_goes_out_as_three_concatenated_parts() {
    let (smsc, _server, _key, _id, body) = send_long("udh").await;
    let parts = submits_to(&smsc, "31611111111");
    assert_eq!(parts.len(), 3, "{parts:?}");
    let mut by_seq = BTreeMap::new();
    let mut refs = Vec::new();
    for p in &parts {
        assert_eq!(u64_of(p, "esm_class") & 0x40, 0x40, "UDHI set: {p}");
        assert_eq!(u64_of(p, "data_coding"), 0, "{p}");
        assert!(p["sar_msg_ref_num"].is_null(), "UDH, not SAR: {p}");
        let sm = unhex(p["short_message"].as_str().unwrap());
        assert_eq!(&sm[..3], &[5, 0, 3], "UDH with an 8-bit concatenation reference: {p}");
        assert_eq!(sm[4], 3, "three parts: {p}");
        assert!(sm.len() - 6 <= 153, "at most 153 septets per part: {p}");
        refs.push(sm[3]);
        by_seq.insert(sm[5], sm[6..].to_vec());
    }
    assert!(refs.iter().all(|r| *r == refs[0]), "one reference for all parts: {refs:?}");
    assert_eq!(by_seq.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
    let joined: Vec<u8> = by_seq.into_values().flatten().collect();
    assert_eq!(String::from_utf8(joined).unwrap(), body, "the parts give back the text");
}

#[tokio::test]
async fn a_long_message_split_with_sar_carries_sar_tlvs_and_no_udh() {
    let (smsc, _server, _key, _id, body) = send_long("sar").await;
    let parts = submits_to(&smsc, "31611111111");
    assert_eq!(parts.len(), 3, "{parts:?}");
    let mut by_seq = BTreeMap::new();
    for p in &parts {
        assert_eq!(u64_of(p, "esm_class") & 0x40, 0, "no UDHI: {p}");
        assert_eq!(u64_of(p, "sar_total_segments"), 3, "{p}");
        assert_eq!(p["sar_msg_ref_num"], parts[0]["sar_msg_ref_num"], "one reference: {p}");
        let sm = unhex(p["short_message"].as_str().unwrap());
        assert!(!sm.is_empty() && sm.len() <= 153, "{p}");
        by_seq.insert(u64_of(p, "sar_segment_seqnum"), sm);
    }
    assert_eq!(by_seq.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
    let joined: Vec<u8> = by_seq.into_values().flatten().collect();
    assert_eq!(String::from_utf8(joined).unwrap(), body, "the parts give back the text, no header inside");
}

#[tokio::test]
async fn a_long_message_split_as_payload_is_one_submit_with_message_payload() {
    let (smsc, _server, _key, _id, body) = send_long("payload").await;
    let parts = submits_to(&smsc, "31611111111");
    assert_eq!(parts.len(), 1, "{parts:?}");
    let p = &parts[0];
    assert_eq!(p["short_message"], "", "never both short_message and message_payload: {p}");
    assert_eq!(p["message_payload"], hex(body.as_bytes()), "{p}");
    assert_eq!(u64_of(p, "esm_class") & 0x40, 0, "{p}");
    assert!(p["sar_msg_ref_num"].is_null(), "{p}");
}

#[tokio::test]
async fn a_refused_bind_is_retried_with_growing_gaps_and_the_message_waits_until_it_succeeds() {
    let mut smsc = Peer::smsc(&["--password", "other"]);
    let (server, key) = Carrier::new(&smsc).start();
    let id = send(&server, &key, "+31611111111", "Acme", "Patience").await;

    tokio::time::sleep(Duration::from_secs(8)).await;
    let binds = smsc.events_named("bind");
    assert!(binds.len() >= 2, "the bind is retried: {binds:?}");
    assert!(binds.len() <= 6, "no bind storm: {} binds in 8 s", binds.len());
    assert!(binds.iter().all(|b| b["ok"] == false), "{binds:?}");
    let times: Vec<u64> = binds.iter().map(|b| u64_of(b, "t")).collect();
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= 900, "the first retry waits about a second or more: {gaps:?}");
    if gaps.len() >= 2 {
        assert!(gaps[1] > gaps[0], "backoff grows: {gaps:?}");
    }
    let (_, m) = server.get(&key, &format!("/v1/messages/{id}")).await;
    assert_eq!(m["status"], "queued", "waiting for the carrier, not failed: {m}");
    assert!(smsc.events_named("submit").is_empty());

    // The carrier fixes its side: same port, the password Textbird has.
    let port = smsc.port.to_string();
    smsc.terminate();
    let smsc = Peer::smsc(&["--port", &port]);
    wait_status(&server, &key, &id, &["delivered"], 90).await;
    assert_eq!(smsc.events_named("submit").len(), 1);
}

#[tokio::test]
async fn throttled_submissions_are_retried_and_delivered() {
    let smsc = Peer::smsc(&["--throttle", "3"]);
    let (server, key) = Carrier::new(&smsc).start();
    let id = send(&server, &key, "+31611111111", "Acme", "Slow down").await;
    let m = wait_status(&server, &key, &id, &["delivered", "failed", "rejected"], 60).await;
    assert_eq!(m["status"], "delivered", "0x58 is temporary: {m}");
    let submits = smsc.events_named("submit");
    assert!(submits.len() >= 4, "three throttled, then accepted: {submits:?}");
    let statuses: Vec<u64> = submits.iter().map(|s| u64_of(s, "command_status")).collect();
    assert_eq!(&statuses[..4], &[0x58, 0x58, 0x58, 0], "{statuses:?}");
    let times: Vec<u64> = submits.iter().map(|s| u64_of(s, "t")).collect();
    assert!(times[1] - times[0] >= 900, "a throttled bind pauses about a second or more: {times:?}");
}

#[tokio::test]
async fn a_full_carrier_queue_is_temporary() {
    let smsc = Peer::smsc(&["--queue-full", "2"]);
    let (server, key) = Carrier::new(&smsc).start();
    let id = send(&server, &key, "+31611111111", "Acme", "Queue").await;
    let m = wait_status(&server, &key, &id, &["delivered", "failed", "rejected"], 60).await;
    assert_eq!(m["status"], "delivered", "0x14 is temporary: {m}");
    assert!(smsc.events_named("submit").len() >= 3);
}

#[tokio::test]
async fn a_final_error_status_rejects_the_message_and_refunds_it() {
    let smsc = Peer::smsc(&["--reject-status", "0x0B"]);
    let (server, key) = Carrier::new(&smsc).start();
    let before = server.balance(&key).await;
    let id = send(&server, &key, "+31611111111", "Acme", "Nobody there").await;
    let m = wait_status(&server, &key, &id, &["rejected", "failed", "delivered"], 30).await;
    assert_eq!(m["status"], "rejected", "{m}");
    assert_eq!(error_code(&m), Some("0x0000000B"), "the SMPP status, 8 hex digits: {m}");
    textbird_test_support::eventually(10, "the refund", || async {
        (server.balance(&key).await == before).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smsc.events_named("submit").len(), 1, "a final status is not retried");
    assert_eq!(server.balance(&key).await, before, "refunded exactly once");
}

#[tokio::test]
async fn a_link_dropped_with_submissions_in_flight_loses_nothing_and_duplicates_at_most_a_window() {
    let smsc = Peer::smsc(&["--drop-after", "5", "--dlr", "tlv"]);
    let mut carrier = Carrier::new(&smsc);
    carrier.response_timeout_secs = 10;
    let (server, key) = carrier.start();
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(send(&server, &key, &format!("+316110000{i:02}"), "Acme", &format!("Message number {i:02}")).await);
    }
    for id in &ids {
        let m = wait_status(&server, &key, id, &["delivered", "submitted", "failed", "rejected"], 120).await;
        assert!(m["status"] == "delivered" || m["status"] == "submitted", "{m}");
    }
    let binds: Vec<Value> = smsc.events_named("bind").into_iter().filter(|b| b["ok"] == true).collect();
    assert!(binds.len() >= 2, "Textbird bound again after the drop: {binds:?}");
    assert_eq!(smsc.events_named("dropping").len(), 1);

    let mut per_text: BTreeMap<String, usize> = BTreeMap::new();
    for s in smsc.events_named("submit") {
        *per_text.entry(s["text"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    for i in 0..20 {
        let text = format!("Message number {i:02}");
        assert!(per_text.get(&text).copied().unwrap_or(0) >= 1, "{text} reached the carrier: {per_text:?}");
    }
    assert_eq!(per_text.len(), 20, "{per_text:?}");
    let duplicates: usize = per_text.values().map(|n| n - 1).sum();
    assert!(duplicates <= 10, "duplicates bounded by the window: {per_text:?}");
}

async fn delivered_with_receipts(smsc_args: &[&str]) {
    let smsc = Peer::smsc(smsc_args);
    let (server, key) = Carrier::new(&smsc).start();
    let id = send(&server, &key, "+31611111111", "Acme", "Receipt please").await;
    let m = wait_status(&server, &key, &id, &["delivered"], 30).await;
    let submit = &smsc.events_named("submit")[0];
    assert_eq!(m["carrier_id"], submit["message_id"], "{m}");
    let receipts = smsc.wait_for(10, |e| e["event"] == "deliver_sm_resp").await;
    assert_eq!(u64_of(&receipts, "command_status"), 0, "the receipt was acknowledged: {receipts}");
}

#[tokio::test]
async fn a_text_only_receipt_with_a_hex_id_for_a_decimal_id_matches() {
    delivered_with_receipts(&["--dlr", "text-only", "--ids", "decimal"]).await;
}

#[tokio::test]
async fn a_text_only_receipt_with_a_decimal_id_for_a_hex_id_matches() {
    delivered_with_receipts(&["--dlr", "text-only", "--ids", "hex"]).await;
}

#[tokio::test]
async fn a_receipt_that_arrives_before_the_submit_response_matches() {
    delivered_with_receipts(&["--dlr", "before-resp"]).await;
}

#[tokio::test]
async fn an_undelivered_receipt_ends_the_message_undelivered() {
    let smsc = Peer::smsc(&["--dlr", "tlv", "--dlr-stat", "UNDELIV"]);
    let (server, key) = Carrier::new(&smsc).start();
    let id = send(&server, &key, "+31611111111", "Acme", "Lost").await;
    wait_status(&server, &key, &id, &["undelivered"], 30).await;
}

#[tokio::test]
async fn transmitter_and_receiver_binds_carry_submissions_and_receipts() {
    let smsc = Peer::smsc(&["--dlr", "tlv"]);
    let mut carrier = Carrier::new(&smsc);
    carrier.bind = "transmitter-receiver";
    let (server, key) = carrier.start();
    let id = send(&server, &key, "+31611111111", "Acme", "Two links").await;
    wait_status(&server, &key, &id, &["delivered"], 30).await;
    let commands: Vec<String> =
        smsc.events_named("bind").iter().map(|b| b["command"].as_str().unwrap().to_owned()).collect();
    assert!(commands.contains(&"bind_transmitter".to_owned()), "{commands:?}");
    assert!(commands.contains(&"bind_receiver".to_owned()), "{commands:?}");
    assert!(!commands.contains(&"bind_transceiver".to_owned()), "{commands:?}");
}

#[tokio::test]
async fn several_binds_share_the_submissions_and_each_carries_receipts() {
    let smsc = Peer::smsc(&["--dlr", "tlv"]);
    let mut carrier = Carrier::new(&smsc);
    carrier.binds = 3;
    let (server, key) = carrier.start();
    smsc.wait_count(30, 3, |e| e["event"] == "bind" && e["ok"] == true).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(send(&server, &key, &format!("+316110000{i:02}"), "Acme", "Spread out").await);
    }
    for id in &ids {
        wait_status(&server, &key, id, &["delivered"], 30).await;
    }
    let binds = smsc.events_named("bind");
    assert_eq!(binds.len(), 3, "three sessions: {binds:?}");
    assert!(binds.iter().all(|b| b["command"] == "bind_transceiver"), "{binds:?}");
    let sessions: std::collections::BTreeSet<u64> =
        smsc.events_named("submit").iter().filter_map(|s| s["session"].as_u64()).collect();
    assert_eq!(sessions.len(), 3, "submissions taken in turns by every bind: {sessions:?}");
}

#[tokio::test]
async fn the_link_is_kept_alive_with_enquire_link() {
    let smsc = Peer::smsc(&[]);
    let mut carrier = Carrier::new(&smsc);
    carrier.enquire_link_secs = 1;
    let (_server, _key) = carrier.start();
    smsc.wait_count(15, 3, |e| e["event"] == "enquire_link").await;
}

#[tokio::test]
async fn concatenated_inbound_messages_are_reassembled_whatever_the_order() {
    let smsc = Peer::smsc(&[]);
    let (server, key) = Carrier::new(&smsc).start();
    own_number(&server, &key).await;
    smsc.wait_for(30, |e| e["event"] == "bind" && e["ok"] == true).await;

    let udh_body = long_gsm_body(400);
    let sar_body = format!("SAR {}", long_gsm_body(380));
    let ucs2_body = "Привет, это входящее сообщение";
    let mo = |from: &str, text: &str, parts: Value| json!({"cmd": "mo", "from": from, "to": OURS, "text": text, "parts": parts, "shuffle": true});
    smsc.send(&mo("+46701234561", &udh_body, json!("udh")));
    smsc.send(&mo("+46701234562", &sar_body, json!("sar")));
    smsc.send(&mo("+46701234563", ucs2_body, Value::Null));
    let acks = smsc.wait_count(20, 7, |e| e["event"] == "deliver_sm_resp").await;
    assert!(acks.iter().all(|a| a["command_status"] == 0), "every part acknowledged with 0: {acks:?}");

    textbird_test_support::eventually(20, "three inbound messages", || async {
        let (_, page) = server.get(&key, "/v1/inbound").await;
        (page["data"].as_array()?.len() >= 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, page) = server.get(&key, "/v1/inbound").await;
    let got = page["data"].as_array().unwrap();
    assert_eq!(got.len(), 3, "each message once, whole: {page}");
    for (from, body) in [("+46701234561", udh_body.as_str()), ("+46701234562", &sar_body), ("+46701234563", ucs2_body)]
    {
        let m = got.iter().find(|m| m["from"] == from).unwrap_or_else(|| panic!("nothing from {from}: {got:?}"));
        assert_eq!(m["body"], body, "{m}");
        assert_eq!(m["to"], OURS, "{m}");
    }
}

#[tokio::test]
async fn a_destination_without_a_route_fails_with_no_route() {
    let smsc = Peer::smsc(&[]);
    let mut carrier = Carrier::new(&smsc);
    carrier.route_prefix = "44";
    let (server, key) = carrier.start();
    let id = send(&server, &key, "+31611111111", "Acme", "Nowhere").await;
    let m = wait_status(&server, &key, &id, &["failed"], 30).await;
    assert_eq!(error_code(&m), Some("no_route"), "{m}");
    assert!(smsc.events_named("submit").is_empty());
}

/// Routing: the longest prefix wins, and among a prefix's routes a connector that is down
/// (here: nothing listens where it points) is skipped for the next priority.
#[tokio::test]
async fn routes_pick_the_longest_prefix_and_fall_over_to_the_next_priority_when_a_carrier_is_down() {
    let primary = Peer::smsc(&[]);
    let backup = Peer::smsc(&[]);
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("addr").port()
    };
    let connector = |name: &str, port: u16| {
        format!(
            "[[connectors]]\nname = \"{name}\"\nkind = \"smpp\"\nhost = \"127.0.0.1\"\nport = {port}\nsystem_id = \"textbird\"\npassword = \"secret\"\n"
        )
    };
    let config = format!(
        "{}{}{}\
         [[routes]]\nprefix = \"\"\nconnector = \"primary\"\n\
         [[routes]]\nprefix = \"316\"\nconnector = \"dead\"\npriority = 0\n\
         [[routes]]\nprefix = \"316\"\nconnector = \"backup\"\npriority = 1\n",
        connector("primary", primary.port),
        connector("dead", dead_port),
        connector("backup", backup.port),
    );
    let server = Server::start(BIN, &config);
    let acme = server.create_account("Acme", "10", "NL");
    let mobile = send(&server, &acme.api_key, "+31612345678", "Acme", "to a mobile").await;
    let landline = send(&server, &acme.api_key, "+31201234567", "Acme", "to a landline").await;
    let m = wait_status(&server, &acme.api_key, &mobile, &["delivered"], 30).await;
    assert_eq!(m["connector"], "backup", "{m}");
    let l = wait_status(&server, &acme.api_key, &landline, &["delivered"], 30).await;
    assert_eq!(l["connector"], "primary", "{l}");
    assert_eq!(backup.events_named("submit").len(), 1);
    assert_eq!(primary.events_named("submit").len(), 1);
}

/// Failover on a temporary refusal: a carrier that answers `ESME_RMSGQFUL` (or throttles)
/// is up, yet the message goes to the next route at once instead of waiting for the first.
#[tokio::test]
async fn a_carrier_answering_queue_full_hands_the_message_to_the_next_route_at_once() {
    let full = Peer::smsc(&["--queue-full", "1000"]);
    let backup = Peer::smsc(&[]);
    let connector = |name: &str, port: u16| {
        format!(
            "[[connectors]]\nname = \"{name}\"\nkind = \"smpp\"\nhost = \"127.0.0.1\"\nport = {port}\nsystem_id = \"textbird\"\npassword = \"secret\"\n"
        )
    };
    let config = format!(
        "{}{}\
         [[routes]]\nprefix = \"\"\nconnector = \"full\"\npriority = 1\n\
         [[routes]]\nprefix = \"\"\nconnector = \"backup\"\npriority = 0\n",
        connector("full", full.port),
        connector("backup", backup.port),
    );
    let server = Server::start(BIN, &config);
    let acme = server.create_account("Acme", "10", "NL");
    // Both links bound first, so the first choice really is the carrier that refuses.
    full.wait_event(30, "bind").await;
    backup.wait_event(30, "bind").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = send(&server, &acme.api_key, "+31612345678", "Acme", "fail over").await;
    let m = wait_status(&server, &acme.api_key, &id, &["delivered"], 30).await;
    assert_eq!(m["connector"], "backup", "{m}");
    let refused = full.events_named("submit");
    assert_eq!(refused.len(), 1, "tried once on the refusing carrier: {refused:?}");
    assert_eq!(refused[0]["command_status"], 0x14, "{refused:?}");
    assert_eq!(backup.events_named("submit").len(), 1);
    let statuses: Vec<&str> = m["events"].as_array().unwrap().iter().filter_map(|e| e["status"].as_str()).collect();
    assert_eq!(statuses, ["queued", "submitted", "delivered"], "no trip back through the queue: {m}");
    assert_eq!(m["possible_duplicate"], false, "{m}");
}

/// On SIGTERM the link unbinds (after in-flight submissions are answered) and the process
/// exits cleanly.
#[tokio::test]
async fn shutdown_unbinds_from_the_carrier() {
    let smsc = Peer::smsc(&[]);
    let (mut server, key) = Carrier::new(&smsc).start();
    let id = send(&server, &key, "+31612345678", "Acme", "before shutdown").await;
    wait_status(&server, &key, &id, &["delivered"], 30).await;
    let took = server.terminate();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    smsc.wait_for(10, |e| e["event"] == "unbind").await;
}
