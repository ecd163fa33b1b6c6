//! The error catalogue: every problem `type` the native API answers with, and every code a
//! send gives a recipient it skipped or a message that failed. A problem document's `type`
//! (`/problems/{slug}`) resolves to a short page served from here, so a developer who meets
//! an error can follow the link to what it means and how to fix it. `docs/ERRORS.md` lists the
//! same entries (a test keeps the two in step).

use std::fmt::Write as _;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use textbird_app::App;

use crate::error::Problem;

/// One kind of problem: what a client sees in `type`, `title` and `status`, and what to do.
#[derive(Debug)]
pub struct ProblemType {
    pub slug: &'static str,
    pub status: u16,
    pub title: &'static str,
    /// What happened, in a sentence or two.
    pub meaning: &'static str,
    /// What the caller can do about it.
    pub fix: &'static str,
}

/// A code in a send's per-recipient `errors`, or in a message's `error_code`.
#[derive(Debug)]
pub struct CodeEntry {
    pub code: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

macro_rules! problem {
    ($slug:literal, $status:literal, $title:literal, $meaning:literal, $fix:literal) => {
        ProblemType { slug: $slug, status: $status, title: $title, meaning: $meaning, fix: $fix }
    };
}

/// Every problem type of the native API.
pub static CATALOGUE: &[ProblemType] = &[
    problem!(
        "validation",
        422,
        "The request is invalid",
        "One or more fields are missing, of the wrong type or out of range. `errors` names each field and says what is wrong with it.",
        "Correct the fields named in `errors` and send the request again. Nothing was stored or charged."
    ),
    problem!(
        "malformed-json",
        400,
        "Malformed JSON",
        "The body could not be parsed as JSON (a syntax error, or a value of the wrong type at the top level).",
        "Send a valid JSON document; `detail` gives the position of the first error."
    ),
    problem!(
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "The body was sent with a `Content-Type` this endpoint does not read.",
        "Send JSON bodies as `Content-Type: application/json`; uploads as `multipart/form-data`."
    ),
    problem!(
        "body-too-large",
        413,
        "Request body too large",
        "The body is larger than the server's limit (`[http] max_body_bytes`).",
        "Send fewer recipients per request, or split the request."
    ),
    problem!(
        "bad-body",
        400,
        "Cannot read the request body",
        "The connection ended or failed while the body was being read.",
        "Retry the request; check that `Content-Length` matches the body."
    ),
    problem!(
        "bad-upload",
        400,
        "Cannot read the upload",
        "A file upload was not a readable `multipart/form-data` body, or lacked a part the endpoint needs (such as `file`); `detail` says which.",
        "Send the file as the multipart part named `file`, with the other fields the endpoint documents."
    ),
    problem!(
        "file-too-large",
        413,
        "File too large",
        "An uploaded file is over the import limit (`[imports] max_file_bytes`). Nothing was stored.",
        "Split the file, or ask the operator to raise the limit."
    ),
    problem!(
        "not-found",
        404,
        "Not found",
        "No such resource in this account. Another account's objects are reported the same way: their existence is never revealed.",
        "Check the id, and that the API key belongs to the account that owns the object."
    ),
    problem!(
        "method-not-allowed",
        405,
        "Method not allowed",
        "The path exists but does not take this HTTP method.",
        "Use the method the endpoint documents (see `/docs`)."
    ),
    problem!(
        "unauthorized",
        401,
        "Unauthorized",
        "No API key was sent, or the key is unknown, revoked or expired.",
        "Send `Authorization: Bearer <api key>` with a current key."
    ),
    problem!(
        "forbidden",
        403,
        "Forbidden",
        "The credential is valid but may not do this.",
        "Use a credential that is allowed to perform the operation."
    ),
    problem!(
        "insufficient-balance",
        402,
        "Insufficient balance",
        "The request costs more than the account's balance. Nothing was sent and nothing was charged.",
        "Add credit to the account, or send to fewer recipients."
    ),
    problem!(
        "conflict",
        409,
        "Conflict",
        "The request clashes with the current state of a resource (a duplicate, or a change that is no longer possible).",
        "Read the resource again; `detail` says what clashed."
    ),
    problem!(
        "idempotency-key-reused",
        422,
        "Idempotency-Key reused",
        "The `Idempotency-Key` was used before with a different request body.",
        "Use a new key for a new request; reuse a key only to retry the very same request."
    ),
    problem!(
        "idempotency-key-in-flight",
        409,
        "Request in progress",
        "A request with the same `Idempotency-Key` is still being processed.",
        "Wait for the first request's answer, then retry with the same key to get it."
    ),
    problem!(
        "rate-limited",
        429,
        "Too many requests",
        "The account's request rate is over its limit. Nothing was done.",
        "Wait for the number of seconds in `Retry-After`, then retry."
    ),
    problem!(
        "unavailable",
        503,
        "Service unavailable",
        "The database is not answering or refuses writes (for example a full disk). Nothing was stored.",
        "Retry after the number of seconds in `Retry-After`; the request is safe to repeat with the same `Idempotency-Key`."
    ),
    problem!(
        "internal",
        500,
        "Internal error",
        "An unexpected error on the server. Its details are in the server's log, never in the answer.",
        "Retry later; if it persists, report it to the operator with the time of the request."
    ),
    problem!(
        "verification-send-limit",
        429,
        "Too many codes sent",
        "This number was sent the most verification codes allowed in the window (5 per 10 minutes unless the operator says otherwise). Nothing was sent or charged.",
        "Wait for the number of seconds in `Retry-After`; meanwhile the code already sent stays valid."
    ),
    problem!(
        "verification-locked",
        429,
        "Verification locked",
        "The verification's checks are used up (`max_attempts_reached`); no code is accepted for it any more.",
        "Start a new verification (after the number's send limit allows one)."
    ),
    problem!(
        "verification-client-limit",
        429,
        "Too many verification requests",
        "The client address made the most verification requests allowed in an hour. Nothing was sent or charged.",
        "Wait for the number of seconds in `Retry-After`. Limit verification requests per user in your own application."
    ),
    problem!(
        "destination-blocked",
        403,
        "Destination blocked",
        "The fraud guard blocked the destination's number prefix (its first six digits): too many verifications went to it in an hour, or almost none of them were approved, which is what SMS pumping looks like. Nothing was sent or charged.",
        "Wait until the time in `detail`, or ask the operator to put the prefix on the safe list if the traffic is genuine."
    ),
    problem!(
        "spend-cap-reached",
        402,
        "Daily spend cap reached",
        "The account's messages of the day (UTC) already cost what its daily spend cap allows, or this request would pass it. Nothing was sent or charged.",
        "Wait for the next UTC day, send less, or ask the operator to raise `[fraud] daily_spend_cap`."
    ),
    problem!(
        "country-not-allowed",
        403,
        "Country not allowed",
        "The destination is in a country this account may not send to. Nothing was sent or charged.",
        "Ask the operator to allow the country, or send only to the allowed ones."
    ),
];

/// Codes a send puts in `errors[].code` for a recipient it did not send to.
pub static RECIPIENT_CODES: &[CodeEntry] = &[
    CodeEntry {
        code: "invalid_number",
        meaning: "The recipient is not a valid phone number (read in the account's country when written without a country code).",
        fix: "Send numbers in E.164 (`+31612345678`), or set the account's country for local numbers.",
    },
    CodeEntry {
        code: "duplicate",
        meaning: "The same number appears earlier among the request's recipients; it gets one message.",
        fix: "Nothing to do; remove duplicates to keep the request small.",
    },
    CodeEntry {
        code: "opted_out",
        meaning: "The recipient opted out (STOP) of this account's messages, or is on the account's default unsubscribe list.",
        fix: "Do not send to this number unless it opts back in (START).",
    },
    CodeEntry {
        code: "unsubscribed",
        meaning: "The number is on one of the unsubscribe lists the send consulted; `detail` names the list.",
        fix: "Remove the number from that list if it was added by mistake, or send without consulting it.",
    },
    CodeEntry {
        code: "country_not_allowed",
        meaning: "The number is in a country the account may not send to (`[fraud] allowed_countries`).",
        fix: "Ask the operator to allow the country, or leave the number out.",
    },
];

/// Codes in a message's `error_code` when it did not reach the handset.
pub static MESSAGE_CODES: &[CodeEntry] = &[
    CodeEntry {
        code: "no_route",
        meaning: "No route matches the destination, so no connector could take the message. It was refunded.",
        fix: "Ask the operator to add a route for the destination prefix.",
    },
    CodeEntry {
        code: "response_timeout",
        meaning: "The carrier did not answer the submission in time; the message is retried and flagged as a possible duplicate.",
        fix: "Nothing to do; the final status follows.",
    },
    CodeEntry {
        code: "link_lost",
        meaning: "The connection to the carrier dropped while the submission was outstanding; it is retried as a possible duplicate.",
        fix: "Nothing to do; the final status follows.",
    },
    CodeEntry {
        code: "0x…",
        meaning: "An SMPP `command_status` from the carrier (for example `0x0000000B`, invalid destination). Temporary ones (0x58 throttled, 0x14 queue full, 0x08 system error, 0x64) are retried; others are final and refunded.",
        fix: "Look the status up in the SMPP 3.4 specification, section 5.1.3; for a final one, correct the message or the number.",
    },
    CodeEntry {
        code: "001, 002, … (receipt `err:`)",
        meaning: "The `err:` field of the carrier's delivery receipt, for `undelivered` and `expired` messages. Its meaning is the carrier's.",
        fix: "Ask the carrier or the operator what the code means on that network.",
    },
];

/// The entry for `slug`, if the catalogue has one.
pub fn find(slug: &str) -> Option<&'static ProblemType> {
    CATALOGUE.iter().find(|p| p.slug == slug)
}

pub(crate) fn router() -> Router<App> {
    Router::new().route("/problems", get(index)).route("/problems/{slug}", get(page))
}

async fn index() -> Response {
    let mut body = String::from(
        "<h1>Textbird API errors</h1>\n<p>Every problem document's <code>type</code> links to one of these pages.</p>\n<ul>\n",
    );
    for p in CATALOGUE {
        let _ = writeln!(
            body,
            "<li><a href=\"/problems/{0}\"><code>{0}</code></a> ({1}): {2}</li>",
            p.slug,
            p.status,
            escape(p.title)
        );
    }
    body.push_str("</ul>\n<h2 id=\"recipient-codes\">Per-recipient codes of a send</h2>\n");
    push_codes(&mut body, RECIPIENT_CODES);
    body.push_str("<h2 id=\"message-codes\">Error codes of a message</h2>\n");
    push_codes(&mut body, MESSAGE_CODES);
    html("Textbird API errors", &body)
}

async fn page(Path(slug): Path<String>) -> Response {
    let Some(p) = find(&slug) else {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            Some("No such problem type; see /problems for the list.".into()),
        )
        .into_response();
    };
    let body = format!(
        "<p><a href=\"/problems\">All errors</a></p>\n<h1>{title}</h1>\n<p>HTTP status <strong>{status}</strong>, \
         <code>type</code> <code>/problems/{slug}</code></p>\n<h2>What it means</h2>\n<p>{meaning}</p>\n\
         <h2>What to do</h2>\n<p>{fix}</p>\n",
        title = escape(p.title),
        status = p.status,
        slug = p.slug,
        meaning = markup(p.meaning),
        fix = markup(p.fix),
    );
    html(p.title, &body)
}

fn push_codes(body: &mut String, codes: &[CodeEntry]) {
    body.push_str("<table><tr><th>code</th><th>meaning</th><th>what to do</th></tr>\n");
    for c in codes {
        let _ = writeln!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(c.code),
            markup(c.meaning),
            markup(c.fix)
        );
    }
    body.push_str("</table>\n");
}

fn html(title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Textbird</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;\
         margin:2rem auto;padding:0 1rem}}code{{background:#f3f3f3;padding:0 .2em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em;vertical-align:top}}</style>\
         </head><body>\n{body}</body></html>\n",
        escape(title)
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Escapes, then shows `code spans` as `<code>`.
fn markup(s: &str) -> String {
    let mut out = String::new();
    for (i, piece) in escape(s).split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(piece);
            out.push_str("</code>");
        } else {
            out.push_str(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERRORS_MD: &str = include_str!("../../../docs/ERRORS.md");

    /// Every `Problem::new(status, "slug", ...)` in this crate's source names a catalogue entry.
    #[test]
    fn every_problem_the_api_answers_is_in_the_catalogue() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut used = Vec::new();
        walk(std::path::Path::new(src), &mut |text| {
            for (at, _) in text.match_indices("Problem::new(") {
                let rest = &text[at..];
                let first = rest.find('"').expect("a slug literal follows Problem::new(");
                let slug = &rest[first + 1..];
                used.push(slug[..slug.find('"').unwrap()].to_owned());
            }
        });
        assert!(used.len() > 10, "found only {used:?}");
        for slug in used {
            assert!(find(&slug).is_some(), "problem type {slug:?} is answered but not in the catalogue");
        }
    }

    #[test]
    fn the_catalogue_has_unique_slugs_and_sane_statuses() {
        for (i, p) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[..i].iter().all(|q| q.slug != p.slug), "{} twice", p.slug);
            assert!((400..600).contains(&p.status), "{}", p.slug);
            assert!(!p.meaning.is_empty() && !p.fix.is_empty(), "{}", p.slug);
        }
    }

    #[test]
    fn errors_md_documents_every_entry() {
        for p in CATALOGUE {
            assert!(ERRORS_MD.contains(&format!("### `{}`", p.slug)), "docs/ERRORS.md lacks {}", p.slug);
        }
        for c in RECIPIENT_CODES.iter().chain(MESSAGE_CODES) {
            assert!(ERRORS_MD.contains(&format!("`{}`", c.code)), "docs/ERRORS.md lacks {}", c.code);
        }
    }

    /// The codes a send gives recipients (in `textbird-app`) are all listed.
    #[test]
    fn every_recipient_code_of_a_send_is_listed() {
        let send = [include_str!("../../app/src/send/mod.rs"), include_str!("../../app/src/send/screen.rs")].concat();
        for code in ["invalid_number", "duplicate", "opted_out", "unsubscribed"] {
            assert!(send.contains(&format!("\"{code}\"")), "the send path no longer gives {code}");
        }
        let mut given = Vec::new();
        for (at, _) in send.match_indices("code: \"") {
            let rest = &send[at + 7..];
            given.push(rest[..rest.find('"').unwrap()].to_owned());
        }
        for code in given {
            assert!(RECIPIENT_CODES.iter().any(|c| c.code == code), "recipient code {code:?} is not listed");
        }
    }

    fn walk(dir: &std::path::Path, f: &mut dyn FnMut(&str)) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, f);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("problems.rs") {
                f(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
}
