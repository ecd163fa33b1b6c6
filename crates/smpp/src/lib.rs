//! SMPP 3.4 on the wire, shared by the carrier connector (Textbird as an ESME) and the
//! customer-facing server (Textbird as an SMSC): framing with hard size limits over
//! `rusmpp`'s PDU types, how a message is laid out in `submit_sm`s (data coding, addresses,
//! concatenation), delivery receipt text, message id matching, and reassembly of
//! concatenated inbound messages. Nothing here touches the database.

pub mod frame;
pub mod ids;
pub mod pdu;
pub mod reassembly;
pub mod receipt;
pub mod session;
pub mod time;
pub mod udh;
pub mod wire;
