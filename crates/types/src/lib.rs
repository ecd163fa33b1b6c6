//! Value types shared by every Textbird crate: validated phone numbers, senders, money,
//! message statuses and identifiers. No I/O and nothing async lives here; the crate depends
//! only on the pure `textbird-sms` rules.

mod ids;
mod money;
mod msisdn;
mod sender;
mod status;
mod time;

pub use ids::new_id;
pub use money::{Money, MoneyError};
pub use msisdn::{Msisdn, NumberError, parse_country};
pub use sender::{Sender, SenderError};
pub use status::{Status, UnknownStatus};
pub use time::{format_millis, now_millis, parse_rfc3339_millis};
