//! Message templates: the `{{token}}` language, parsed without I/O. A template is text with
//! tokens a send fills in per recipient: contact fields (`{{first_name}}`, a group field),
//! references to the account's content (`{{word_spinner:ID}}`, `{{link:ID}}`,
//! `{{link_list:ID}}`) and generated values (`{{shorten_url}}`, `{{unsubscription_link}}`,
//! `{{random_symbol}}`). Anything that looks like a token but is not one is an error, so a
//! literal `{{...}}` never reaches a handset.

use crate::Recipient;

/// Longest id a reference token may carry.
const MAX_ID: usize = 64;
/// Longest group field name (`^[a-z][a-z0-9_]{0,31}$`).
const MAX_FIELD: usize = 32;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// A recipient's value: `first_name`, `last_name`, `email`, `url`, `custom`, or any other
    /// name, looked up in the recipient's `fields` (`custom1`..`custom4`, group fields).
    Field(String),
    Spinner(String),
    Link(String),
    LinkList(String),
    /// The recipient's `url`, shortened.
    ShortenUrl,
    /// `{{shorten_url:URL}}`: the URL written here, shortened per recipient (a broadcast's
    /// literal URLs are written so, see `wrap_literal_urls`).
    Url(String),
    /// A short link that opts the recipient out when opened.
    Unsubscribe,
    /// One character from `SYMBOLS`.
    RandomSymbol,
}

/// Characters `{{random_symbol}}` picks from: in the GSM 03.38 basic set, so they never force
/// a message into UCS-2, and harmless in any sentence.
pub const SYMBOLS: &[char] = &['.', '!', '*', '-', '+', '=', ':', '~'];

/// Why a template does not parse; `token` is the text as written, with its braces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{token}` is not closed with `}}}}`")]
    Unclosed { token: String },
    #[error("`{token}` is not a token: use a field name such as {{{{first_name}}}}")]
    Invalid { token: String },
    #[error("`{token}` names an unknown kind; use word_spinner, link or link_list")]
    UnknownKind { token: String },
    #[error("`{token}` needs an id of 1 to {MAX_ID} letters, digits or dashes")]
    BadId { token: String },
    #[error("`{token}` needs an absolute http or https URL")]
    BadUrl { token: String },
}

/// Parses `text` into parts; adjacent text stays one part.
pub fn parse(text: &str) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        push_text(&mut parts, &rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(TemplateError::Unclosed { token: snippet(&rest[open..]) });
        };
        let token = format!("{{{{{}}}}}", &after[..close]);
        parts.push(token_part(after[..close].trim(), &token)?);
        rest = &after[close + 2..];
    }
    push_text(&mut parts, rest);
    Ok(parts)
}

fn push_text(parts: &mut Vec<Part>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Part::Text(prev)) = parts.last_mut() {
        prev.push_str(text);
    } else {
        parts.push(Part::Text(text.to_owned()));
    }
}

/// The start of an unclosed token, short enough for an error message.
fn snippet(s: &str) -> String {
    s.chars().take(24).collect()
}

fn token_part(inner: &str, token: &str) -> Result<Part, TemplateError> {
    if let Some(url) = inner.strip_prefix("shorten_url:") {
        let url = url.trim();
        return match crate::content::check_redirect_url(url) {
            Ok(()) => Ok(Part::Url(url.to_owned())),
            Err(_) => Err(TemplateError::BadUrl { token: token.to_owned() }),
        };
    }
    if let Some((kind, id)) = inner.split_once(':') {
        let (kind, id) = (kind.trim(), id.trim());
        let valid_id =
            !id.is_empty() && id.len() <= MAX_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let make: fn(String) -> Part = match kind {
            "word_spinner" => Part::Spinner,
            "link" => Part::Link,
            "link_list" => Part::LinkList,
            _ => return Err(TemplateError::UnknownKind { token: token.to_owned() }),
        };
        return if valid_id { Ok(make(id.to_owned())) } else { Err(TemplateError::BadId { token: token.to_owned() }) };
    }
    match inner {
        "shorten_url" => Ok(Part::ShortenUrl),
        "unsubscription_link" => Ok(Part::Unsubscribe),
        "random_symbol" => Ok(Part::RandomSymbol),
        name if is_field_name(name) => Ok(Part::Field(name.to_owned())),
        _ => Err(TemplateError::Invalid { token: token.to_owned() }),
    }
}

/// `^[a-z][a-z0-9_]{0,31}$`.
fn is_field_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && name.len() <= MAX_FIELD
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Field tokens every recipient can have, whatever groups the account defines.
pub const BUILT_IN_FIELDS: [&str; 10] =
    ["phone", "first_name", "last_name", "email", "url", "custom", "custom1", "custom2", "custom3", "custom4"];

/// A recipient's value for a field token (`phone` is the number, in E.164); empty when the
/// recipient lacks it.
pub fn field_value<'a>(recipient: &'a Recipient, name: &str) -> &'a str {
    let value = match name {
        "phone" => Some(recipient.phone.as_str()),
        "first_name" => recipient.first_name.as_deref(),
        "last_name" => recipient.last_name.as_deref(),
        "email" => recipient.email.as_deref(),
        "url" => recipient.url.as_deref(),
        "custom" => recipient.custom.as_deref(),
        other => recipient.fields.get(other).map(String::as_str),
    };
    value.unwrap_or_default()
}

/// The ids a template refers to, by kind, without repeats: `(spinners, links, link lists)`.
pub fn references(parts: &[Part]) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
    let (mut spinners, mut links, mut lists) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        let (list, id) = match part {
            Part::Spinner(id) => (&mut spinners, id),
            Part::Link(id) => (&mut links, id),
            Part::LinkList(id) => (&mut lists, id),
            _ => continue,
        };
        if !list.contains(&id.as_str()) {
            list.push(id.as_str());
        }
    }
    (spinners, links, lists)
}

/// `text` with every URL written in its plain text (`http://` or `https://` up to the next
/// space, less trailing punctuation) turned into a `{{shorten_url:URL}}` token, so each
/// recipient's message carries its own tracked short link; `None` when it has no such URL.
/// Tokens are left as they are.
pub fn wrap_literal_urls(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut wrapped = false;
    let mut rest = text;
    loop {
        let (plain, token, after) = match rest.find("{{") {
            Some(open) => match rest[open..].find("}}") {
                Some(close) => (&rest[..open], &rest[open..open + close + 2], &rest[open + close + 2..]),
                None => (rest, "", ""),
            },
            None => (rest, "", ""),
        };
        wrapped |= wrap_plain(plain, &mut out);
        out.push_str(token);
        if after.is_empty() && token.is_empty() {
            break;
        }
        rest = after;
    }
    wrapped.then_some(out)
}

/// Appends `plain` to `out` with its URLs wrapped; whether it had any.
fn wrap_plain(plain: &str, out: &mut String) -> bool {
    let mut wrapped = false;
    let mut rest = plain;
    while let Some(start) = find_scheme(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let url = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'', '"']);
        if url.contains('}') || crate::content::check_redirect_url(url).is_err() {
            out.push_str(url);
        } else {
            out.push_str("{{shorten_url:");
            out.push_str(url);
            out.push_str("}}");
            wrapped = true;
        }
        rest = &tail[url.len()..];
        if url.is_empty() {
            out.push_str(&rest[..1]);
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    wrapped
}

/// Where the first `http://` or `https://` (any case) starts.
fn find_scheme(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    [lower.find("http://"), lower.find("https://")].into_iter().flatten().min()
}

/// Whether `text` uses the template language at all.
pub fn has_tokens(text: &str) -> bool {
    text.contains("{{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_urls_are_wrapped_outside_tokens_less_their_trailing_punctuation() {
        assert_eq!(
            wrap_literal_urls("Sale at https://shop.example/s?a=1. Hi {{first_name}}, see HTTP://x.example/a)")
                .as_deref(),
            Some(
                "Sale at {{shorten_url:https://shop.example/s?a=1}}. Hi {{first_name}}, see {{shorten_url:HTTP://x.example/a}})"
            )
        );
        assert_eq!(wrap_literal_urls("No link here, {{link:abc}} or http:// alone"), None);
        assert_eq!(wrap_literal_urls("{{shorten_url:https://a.example/}}"), None, "a token stays a token");
        let parts = parse("Go {{shorten_url:https://a.example/x}} now").unwrap();
        assert_eq!(parts[1], Part::Url("https://a.example/x".into()));
        assert!(matches!(parse("{{shorten_url:ftp://a}}"), Err(TemplateError::BadUrl { .. })));
    }

    fn text(s: &str) -> Part {
        Part::Text(s.into())
    }

    #[test]
    fn text_without_tokens_is_one_part() {
        assert_eq!(parse("Hello there }} {").unwrap(), vec![text("Hello there }} {")]);
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn every_kind_of_token_parses() {
        let parts = parse(
            "Hi {{first_name}} {{ last_name }}{{custom3}} {{tier_2}} {{word_spinner:abc-1}} {{link:L1}} \
             {{link_list:x}} {{shorten_url}} {{unsubscription_link}}{{random_symbol}}",
        )
        .unwrap();
        assert_eq!(
            parts,
            vec![
                text("Hi "),
                Part::Field("first_name".into()),
                text(" "),
                Part::Field("last_name".into()),
                Part::Field("custom3".into()),
                text(" "),
                Part::Field("tier_2".into()),
                text(" "),
                Part::Spinner("abc-1".into()),
                text(" "),
                Part::Link("L1".into()),
                text(" "),
                Part::LinkList("x".into()),
                text(" "),
                Part::ShortenUrl,
                text(" "),
                Part::Unsubscribe,
                Part::RandomSymbol,
            ]
        );
        assert_eq!(references(&parts), (vec!["abc-1"], vec!["L1"], vec!["x"]));
    }

    #[test]
    fn malformed_tokens_are_errors_naming_the_token() {
        assert_eq!(parse("Hi {{first_name").unwrap_err(), TemplateError::Unclosed { token: "{{first_name".into() });
        assert_eq!(parse("{{First}}").unwrap_err(), TemplateError::Invalid { token: "{{First}}".into() });
        assert_eq!(parse("{{}}").unwrap_err(), TemplateError::Invalid { token: "{{}}".into() });
        assert_eq!(parse("{{a b}}").unwrap_err(), TemplateError::Invalid { token: "{{a b}}".into() });
        assert_eq!(parse("{{{x}}}").unwrap_err(), TemplateError::Invalid { token: "{{{x}}".into() });
        assert_eq!(parse("{{coupon:7}}").unwrap_err(), TemplateError::UnknownKind { token: "{{coupon:7}}".into() });
        assert_eq!(parse("{{link:}}").unwrap_err(), TemplateError::BadId { token: "{{link:}}".into() });
        assert_eq!(parse("{{link:a/b}}").unwrap_err(), TemplateError::BadId { token: "{{link:a/b}}".into() });
        let long = format!("{{{{{}}}}}", "a".repeat(33));
        assert!(matches!(parse(&long), Err(TemplateError::Invalid { .. })));
        assert!(parse(&format!("{{{{{}}}}}", "a".repeat(32))).is_ok());
    }

    #[test]
    fn missing_fields_are_empty() {
        let mut r = Recipient::phone("+31612345678");
        r.first_name = Some("Ann".into());
        r.fields.insert("custom1".into(), "gold".into());
        assert_eq!(field_value(&r, "first_name"), "Ann");
        assert_eq!(field_value(&r, "phone"), "+31612345678");
        assert_eq!(field_value(&r, "custom1"), "gold");
        assert_eq!(field_value(&r, "last_name"), "");
        assert_eq!(field_value(&r, "team"), "");
    }

    #[test]
    fn symbols_stay_in_gsm7() {
        for c in SYMBOLS {
            assert_eq!(textbird_sms::analyze(&c.to_string()).encoding.as_str(), "gsm7", "{c}");
        }
    }
}
