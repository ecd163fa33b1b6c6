use std::fmt;
use std::str::FromStr;

/// Where an outbound message is in its life.
///
/// `accepted → scheduled → queued → submitted → delivered | undelivered | expired | rejected |
/// failed | deleted | unknown`; `canceled` ends a scheduled message its owner withdrew. Terminal states never
/// change again, whatever a carrier repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Accepted,
    Scheduled,
    Queued,
    Submitted,
    Delivered,
    Undelivered,
    Expired,
    Rejected,
    Failed,
    Canceled,
    /// The carrier reports the message deleted before delivery (SMPP `DELETED`).
    Deleted,
    /// The carrier's final word is that it does not know (SMPP `UNKNOWN`).
    Unknown,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown message status {0:?}")]
pub struct UnknownStatus(pub String);

impl Status {
    pub const ALL: [Status; 12] = [
        Status::Accepted,
        Status::Scheduled,
        Status::Queued,
        Status::Submitted,
        Status::Delivered,
        Status::Undelivered,
        Status::Expired,
        Status::Rejected,
        Status::Failed,
        Status::Canceled,
        Status::Deleted,
        Status::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Scheduled => "scheduled",
            Status::Queued => "queued",
            Status::Submitted => "submitted",
            Status::Delivered => "delivered",
            Status::Undelivered => "undelivered",
            Status::Expired => "expired",
            Status::Rejected => "rejected",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
            Status::Deleted => "deleted",
            Status::Unknown => "unknown",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Delivered
                | Status::Undelivered
                | Status::Expired
                | Status::Rejected
                | Status::Failed
                | Status::Canceled
                | Status::Deleted
                | Status::Unknown
        )
    }

    /// Whether reaching this state gives the customer their money back: the message never
    /// reached a carrier, or the carrier refused it before submission.
    pub fn refunds(self) -> bool {
        matches!(self, Status::Expired | Status::Rejected | Status::Failed | Status::Canceled)
    }

    /// The webhook event type announcing this state.
    pub fn event_type(self) -> &'static str {
        match self {
            Status::Accepted => "message.accepted",
            Status::Scheduled => "message.scheduled",
            Status::Queued => "message.queued",
            Status::Submitted => "message.submitted",
            Status::Delivered => "message.delivered",
            Status::Undelivered => "message.undelivered",
            Status::Expired => "message.expired",
            Status::Rejected => "message.rejected",
            Status::Failed => "message.failed",
            Status::Canceled => "message.canceled",
            Status::Deleted => "message.deleted",
            Status::Unknown => "message.unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_terminals() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
        assert!(Status::Delivered.is_terminal());
        assert!(!Status::Submitted.is_terminal());
        assert!(Status::Rejected.refunds() && !Status::Undelivered.refunds());
    }
}
