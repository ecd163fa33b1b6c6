//! The simulated carrier's handsets: what each recipient's phone shows of the messages the
//! simulator delivered (the real text, verification codes included), so flows such as OTP
//! can be tested end to end without real sends. In memory, bounded, and lost at restart.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use textbird_types::now_millis;

/// Messages kept per number; older ones are dropped.
const PER_NUMBER: usize = 50;
/// Numbers kept; the view starts over when more have received messages.
const NUMBERS: usize = 100_000;

/// One message as the recipient's phone shows it.
#[derive(Debug, Clone)]
pub struct HandsetMessage {
    pub message_id: String,
    pub account_id: String,
    pub from: String,
    pub to: String,
    pub body: String,
    /// When the phone received it (the simulated delivery), epoch ms.
    pub received_at: i64,
}

/// Shared by the simulator connectors and the API of one node.
#[derive(Clone, Default)]
pub struct Handsets {
    inner: Arc<Mutex<HashMap<String, VecDeque<HandsetMessage>>>>,
}

impl Handsets {
    pub(crate) fn deliver(&self, message: HandsetMessage) {
        let mut phones = self.inner.lock().expect("handsets lock");
        if phones.len() >= NUMBERS && !phones.contains_key(&message.to) {
            phones.clear();
        }
        let inbox = phones.entry(message.to.clone()).or_default();
        if inbox.len() >= PER_NUMBER {
            inbox.pop_front();
        }
        inbox.push_back(message);
    }

    /// What `to`'s phone shows of `account_id`'s messages, newest first: those delivered by now.
    pub fn messages(&self, account_id: &str, to: &str) -> Vec<HandsetMessage> {
        let now = now_millis();
        let phones = self.inner.lock().expect("handsets lock");
        phones
            .get(to)
            .map(|inbox| {
                inbox.iter().rev().filter(|m| m.account_id == account_id && m.received_at <= now).cloned().collect()
            })
            .unwrap_or_default()
    }
}
