//! API key scopes: what a key may do. A key made with scopes may use only the routes they
//! cover; keys made without (every key made before scopes existed, the account's own key)
//! have every scope. The route-to-scope table lives here, so every front end enforces the
//! same rules.

use crate::{AppError, Principal};

pub const SCOPE_SEND: &str = "messages:send";
pub const SCOPE_READ: &str = "messages:read";
pub const SCOPE_AUDIENCE: &str = "audience";
pub const SCOPE_WEBHOOKS: &str = "webhooks";
pub const SCOPE_KEYS: &str = "keys";
pub const SCOPE_ADMIN: &str = "admin";

/// Every scope a key can be given.
pub const SCOPES: [&str; 6] = [SCOPE_SEND, SCOPE_READ, SCOPE_AUDIENCE, SCOPE_WEBHOOKS, SCOPE_KEYS, SCOPE_ADMIN];

/// Routes (by the first segment after `/v1/`) that manage an account's audience and content.
const AUDIENCE_RESOURCES: [&str; 16] = [
    "contacts",
    "groups",
    "lists",
    "unsubscribes",
    "opt-outs",
    "senders",
    "sender-lists",
    "numbers",
    "fields",
    "templates",
    "spinners",
    "links",
    "link-lists",
    "triggers",
    "imports",
    "render",
];

/// The scope a request needs, by its method and path; `None`: any key may (its own account).
pub fn required_scope(method: &str, path: &str) -> Option<&'static str> {
    let read = matches!(method, "GET" | "HEAD");
    let Some(rest) = path.strip_prefix("/v1/") else {
        // The other platforms' APIs: sending or reading messages.
        return Some(if read { SCOPE_READ } else { SCOPE_SEND });
    };
    let resource = rest.split('/').next().unwrap_or_default();
    match resource {
        "account" => None,
        "messages" | "batches" | "simulator" => Some(if read { SCOPE_READ } else { SCOPE_SEND }),
        "inbound" => Some(SCOPE_READ),
        "webhooks" | "webhook-deliveries" | "webhook-event-types" => Some(SCOPE_WEBHOOKS),
        "keys" => Some(SCOPE_KEYS),
        "admin" => Some(SCOPE_ADMIN),
        r if AUDIENCE_RESOURCES.contains(&r) => Some(SCOPE_AUDIENCE),
        _ => Some(if read { SCOPE_READ } else { SCOPE_SEND }),
    }
}

/// Whether a credential with `scopes` (`None`: every scope) may use `scope`.
pub fn allows(scopes: Option<&[String]>, scope: &str) -> bool {
    scopes.is_none_or(|s| s.iter().any(|g| g == scope))
}

/// Checks and normalises requested scopes: known ones, each once, in the table's order.
pub fn parse_scopes(requested: &[String]) -> Result<Vec<String>, AppError> {
    if requested.is_empty() {
        return Err(AppError::field("scopes", "give at least one scope, or leave `scopes` out for every scope"));
    }
    for s in requested {
        if !SCOPES.contains(&s.as_str()) {
            return Err(AppError::field("scopes", format!("unknown scope {s:?}; known: {}", SCOPES.join(", "))));
        }
    }
    Ok(SCOPES.iter().filter(|s| requested.iter().any(|r| r == *s)).map(|s| (*s).to_owned()).collect())
}

impl Principal {
    /// `Forbidden` unless this caller's credential has the scope the request needs.
    pub fn authorize(&self, method: &str, path: &str) -> Result<(), AppError> {
        match required_scope(method, path) {
            Some(scope) if !allows(self.scopes.as_deref(), scope) => Err(AppError::Forbidden),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_scopes() {
        assert_eq!(required_scope("POST", "/v1/messages"), Some(SCOPE_SEND));
        assert_eq!(required_scope("GET", "/v1/messages/abc"), Some(SCOPE_READ));
        assert_eq!(required_scope("DELETE", "/v1/messages/abc"), Some(SCOPE_SEND));
        assert_eq!(required_scope("POST", "/v1/contacts"), Some(SCOPE_AUDIENCE));
        assert_eq!(required_scope("GET", "/v1/webhooks"), Some(SCOPE_WEBHOOKS));
        assert_eq!(required_scope("GET", "/v1/account"), None);
        assert_eq!(required_scope("POST", "/sms/json"), Some(SCOPE_SEND));
        let read = vec![SCOPE_READ.to_owned()];
        assert!(allows(Some(&read), SCOPE_READ) && !allows(Some(&read), SCOPE_SEND) && allows(None, SCOPE_SEND));
        assert_eq!(
            parse_scopes(&["webhooks".to_owned(), "messages:send".to_owned()]).unwrap(),
            ["messages:send", "webhooks"]
        );
        assert!(parse_scopes(&["everything".to_owned()]).is_err());
        assert!(parse_scopes(&Vec::new()).is_err());
    }
}
