//! The handlers: each reads its form or query, calls one `App` use case for the signed-in
//! account and renders a page.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use textbird_app::{App, AppError, MessageQuery, Principal, SendRequest, SendResult};
use textbird_types::{Money, now_millis};

use crate::session::{Client, LOGIN_COOKIE, SESSION_COOKIE, Signed, cookie, set_cookie};
use crate::view::{
    self, Counter, KeyRow, KeysPage, LogQuery, LoginPage, MessagePage, MessageRow, MessagesPage, Nav, OverviewPage,
    SendPage,
};

/// Statuses the log can be filtered by.
const STATUSES: &[&str] = &[
    "accepted",
    "scheduled",
    "queued",
    "submitted",
    "delivered",
    "undelivered",
    "expired",
    "rejected",
    "failed",
    "canceled",
    "deleted",
    "unknown",
];
/// Messages the overview counts statuses over.
const RECENT_WINDOW: u32 = 200;
/// Messages per page of the log.
const LOG_PAGE: u32 = 50;

async fn nav(app: &App, s: &Signed, page: &'static str) -> Nav {
    let account = app.account(&s.principal).await.map(|a| a.name).unwrap_or_default();
    Nav { page, account, csrf: s.csrf.clone() }
}

// ----- sign-in -----

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The sign-in page, with a fresh CSRF cookie for its form. Signed in already: the overview.
pub(crate) async fn login_form(State(app): State<App>, client: Client, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && app.dashboard_principal(token).await.is_ok()
    {
        return Redirect::to("/").into_response();
    }
    login_page(&app, &client, String::new(), None, StatusCode::OK)
}

fn login_page(app: &App, client: &Client, username: String, error: Option<String>, status: StatusCode) -> Response {
    let csrf = app.dashboard_form_token();
    let mut response = view::page(status, &LoginPage { csrf: csrf.clone(), username, error });
    response.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &csrf, client.secure, None));
    response
}

pub(crate) async fn login(State(app): State<App>, client: Client, Form(form): Form<LoginForm>) -> Response {
    match app.dashboard_sign_in(form.username.trim(), &form.password, client.ip).await {
        Ok(session) => {
            let mut response = Redirect::to("/").into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &session.token, client.secure, None));
            headers.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", client.secure, Some(0)));
            response
        }
        Err(e) => {
            let (status, detail) = match &e {
                AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "The username or password is wrong.".to_owned()),
                AppError::RateLimited(_) => {
                    let (status, _, detail) = view::describe(&e);
                    (status, format!("Too many failed sign-ins. {detail}"))
                }
                other => {
                    let (status, _, detail) = view::describe(other);
                    (status, detail)
                }
            };
            let mut response = login_page(&app, &client, form.username, Some(detail), status);
            if let Some(wait) = e.retry_after() {
                let secs = wait.as_secs().max(1).to_string();
                response.headers_mut().insert(header::RETRY_AFTER, secs.parse().expect("digits"));
            }
            response
        }
    }
}

pub(crate) async fn logout(State(app): State<App>, client: Client, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = app.dashboard_sign_out(token).await
    {
        return view::error_page(&e);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", client.secure, Some(0)));
    response
}

// ----- overview -----

pub(crate) async fn overview(State(app): State<App>, s: Signed) -> Response {
    let p = &s.principal;
    let account = match app.account(p).await {
        Ok(a) => a,
        Err(e) => return view::error_page(&e),
    };
    let total = app.count(p, textbird_app::Counted::Messages).await.unwrap_or(0);
    let recent = match app.messages(p, MessageQuery { limit: Some(RECENT_WINDOW), ..MessageQuery::default() }).await {
        Ok(list) => list.items,
        Err(e) => return view::error_page(&e),
    };
    let mut by_status: Vec<(String, usize)> = Vec::new();
    for m in &recent {
        match by_status.iter_mut().find(|(s, _)| *s == m.status) {
            Some((_, n)) => *n += 1,
            None => by_status.push((m.status.clone(), 1)),
        }
    }
    by_status.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rows = recent.iter().take(10).map(MessageRow::new).collect();
    let nav = Nav { page: "overview", account: account.name.clone(), csrf: s.csrf.clone() };
    view::page(
        StatusCode::OK,
        &OverviewPage {
            nav,
            balance: Money(account.balance).to_string(),
            total,
            by_status,
            recent_window: recent.len(),
            rows,
        },
    )
}

// ----- send -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct SendForm {
    to: String,
    from: String,
    body: String,
    send_at: String,
}

fn recipients(to: &str) -> Vec<String> {
    to.split([',', ';', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

async fn send_page(app: &App, s: &Signed, form: SendForm) -> SendPage {
    let estimate = app.estimate(&form.to, &form.body);
    SendPage {
        nav: nav(app, s, "send").await,
        estimate_price: estimate.price.to_string(),
        estimate,
        to: form.to,
        from: form.from,
        body: form.body,
        send_at: form.send_at,
        error: None,
        fields: Vec::new(),
        sent: Vec::new(),
        total_price: String::new(),
    }
}

pub(crate) async fn send_form(State(app): State<App>, s: Signed) -> Response {
    view::page(StatusCode::OK, &send_page(&app, &s, SendForm::default()).await)
}

/// The live counter under the message field (htmx).
pub(crate) async fn estimate(State(app): State<App>, _s: Signed, Form(form): Form<SendForm>) -> Response {
    let estimate = app.estimate(&form.to, &form.body);
    view::page(StatusCode::OK, &Counter { estimate_price: estimate.price.to_string(), estimate })
}

pub(crate) async fn send(State(app): State<App>, s: Signed, Form(form): Form<SendForm>) -> Response {
    let req = SendRequest {
        to: recipients(&form.to),
        from: Some(form.from.trim().to_owned()).filter(|f| !f.is_empty()),
        body: form.body.clone(),
        send_at: Some(form.send_at.trim().to_owned()).filter(|t| !t.is_empty()),
        ..SendRequest::default()
    };
    let result = app.send(&s.principal, req, None).await;
    let mut page = send_page(&app, &s, form).await;
    match result {
        Ok(SendResult::Sent(outcome)) => {
            page.sent =
                outcome.messages.iter().map(|m| (m.id.clone(), m.to.clone(), m.status.as_str().to_owned())).collect();
            page.total_price = outcome.total_price.to_string();
            if !outcome.errors.is_empty() {
                page.error = Some("Some recipients were not accepted.".into());
                page.fields = outcome.errors.iter().map(|e| (e.to.clone(), e.detail.clone())).collect();
            }
            if !page.sent.is_empty() {
                page.body.clear();
                page.estimate = app.estimate(&page.to, "");
                page.estimate_price = page.estimate.price.to_string();
            }
            let status = if page.sent.is_empty() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            view::page(status, &page)
        }
        Ok(SendResult::Replayed(_)) => Redirect::to("/messages").into_response(),
        Err(e) => {
            let (status, title, detail) = view::describe(&e);
            if let AppError::Validation(fields) = &e {
                page.fields = fields.iter().map(|f| (f.field.clone(), f.message.clone())).collect();
                page.error = Some(format!("{title}. Nothing was sent."));
            } else {
                page.error = Some(format!("{title}: {detail}"));
            }
            view::page(status, &page)
        }
    }
}

// ----- messages -----

/// `2026-12-02` (a date input) as the start of that day in UTC; anything else as typed.
fn day_start(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.len() == 10 && text.as_bytes()[4] == b'-' {
        return Some(format!("{text}T00:00:00Z"));
    }
    Some(text.to_owned())
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn log_url(q: &LogQuery, cursor: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("to", &q.to),
        ("status", &q.status),
        ("client_ref", &q.client_ref),
        ("created_from", &q.created_from),
        ("created_to", &q.created_to),
    ];
    if let Some(c) = cursor {
        pairs.push(("cursor", c));
    }
    pairs.retain(|(_, v)| !v.is_empty());
    if pairs.is_empty() {
        return "/messages".into();
    }
    format!("/messages?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
}

pub(crate) async fn messages(State(app): State<App>, s: Signed, Query(q): Query<LogQuery>) -> Response {
    let query = MessageQuery {
        status: non_empty(&q.status),
        to: non_empty(&q.to),
        client_ref: non_empty(&q.client_ref),
        created_from: day_start(&q.created_from),
        created_to: day_start(&q.created_to),
        cursor: non_empty(&q.cursor),
        limit: Some(LOG_PAGE),
    };
    let (rows, next, error, status) = match app.messages(&s.principal, query).await {
        Ok(list) => (list.items.iter().map(MessageRow::new).collect(), list.next_cursor, None, StatusCode::OK),
        Err(e) => {
            let (status, title, detail) = view::describe(&e);
            (Vec::new(), None, Some(format!("{title}: {detail}")), status)
        }
    };
    let self_url = log_url(&q, non_empty(&q.cursor).as_deref());
    let next_url = next.map(|c| log_url(&q, Some(&c)));
    let page =
        MessagesPage { nav: nav(&app, &s, "messages").await, q, statuses: STATUSES, rows, self_url, next_url, error };
    view::page(status, &page)
}

pub(crate) async fn message(State(app): State<App>, s: Signed, Path(id): Path<String>) -> Response {
    let (m, events) = match app.message(&s.principal, &id).await {
        Ok(found) => found,
        Err(e) => return view::error_page(&e),
    };
    let error = match (&m.error_code, &m.error_detail) {
        (None, None) => None,
        (code, detail) => {
            Some(format!("{} {}", code.as_deref().unwrap_or(""), detail.as_deref().unwrap_or("")).trim().to_owned())
        }
    };
    let events = events
        .iter()
        .map(|e| (e.status.clone(), view::time(e.created_at), e.detail.clone().unwrap_or_default()))
        .collect();
    let page = MessagePage { nav: nav(&app, &s, "messages").await, m: MessageRow::new(&m), error, events };
    view::page(StatusCode::OK, &page)
}

// ----- API keys -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct KeyForm {
    name: String,
    expiry_days: String,
}

async fn keys_page(app: &App, s: &Signed, p: &Principal, issued: Option<String>, error: Option<String>) -> KeysPage {
    let now = now_millis();
    let keys = app
        .api_keys(p)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|k| KeyRow {
            state: if k.revoked_at.is_some() {
                "revoked"
            } else if k.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            },
            id: k.id,
            name: k.name,
            created: view::time(k.created_at),
            expires: k.expires_at.map_or_else(|| "never".into(), view::time),
        })
        .collect();
    KeysPage { nav: nav(app, s, "keys").await, keys, issued, error }
}

pub(crate) async fn keys(State(app): State<App>, s: Signed) -> Response {
    let page = keys_page(&app, &s, &s.principal, None, None).await;
    view::page(StatusCode::OK, &page)
}

pub(crate) async fn create_key(State(app): State<App>, s: Signed, Form(form): Form<KeyForm>) -> Response {
    let days = match form.expiry_days.trim() {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => Some(0),
        },
    };
    match app.issue_named_api_key(&s.principal, &form.name, days).await {
        Ok(issued) => view::page(StatusCode::OK, &keys_page(&app, &s, &s.principal, Some(issued.key), None).await),
        Err(e) => {
            let (status, title, detail) = view::describe(&e);
            let page = keys_page(&app, &s, &s.principal, None, Some(format!("{title}: {detail}"))).await;
            view::page(status, &page)
        }
    }
}

pub(crate) async fn revoke_key(State(app): State<App>, s: Signed, Path(id): Path<String>) -> Response {
    match app.revoke_api_key(&s.principal, &id).await {
        Ok(()) => Redirect::to("/keys").into_response(),
        Err(e) => view::error_page(&e),
    }
}
