//! Cookies, the signed-in account of a request, and where the request came from.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use textbird_app::{App, AppError, Principal};

use crate::Origin;
use crate::view;

/// The session cookie: its value is the session token.
pub(crate) const SESSION_COOKIE: &str = "tb_session";
/// The sign-in form's CSRF cookie (there is no session yet to derive a token from).
pub(crate) const LOGIN_COOKIE: &str = "tb_login";

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, the whole site, `Secure` over HTTPS;
/// `max_age` 0 deletes it, `None` keeps it for the browser's session.
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are ASCII")
}

/// Where a request came from: the client's address and whether it reached us over HTTPS.
pub(crate) struct Client {
    pub ip: Option<IpAddr>,
    pub secure: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let origin = parts.extensions.get::<Origin>().copied();
        Ok(match origin {
            Some(o) => Client { ip: (o.client_ip)(parts), secure: (o.public_base)(parts).starts_with("https://") },
            None => Client { ip: None, secure: false },
        })
    }
}

/// The signed-in account of a request. Without a live session the request is sent to the
/// sign-in page.
pub(crate) struct Signed {
    pub principal: Principal,
    /// For the forms of the page.
    pub csrf: String,
}

impl FromRequestParts<App> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts));
        };
        match app.dashboard_principal(token).await {
            Ok(principal) => Ok(Signed { principal, csrf: app.dashboard_csrf(token) }),
            Err(AppError::Unauthorized) => Err(to_login(parts)),
            Err(e) => Err(view::error_page(&e)),
        }
    }
}

/// To the sign-in page; htmx requests are told to go there as a whole page.
fn to_login(parts: &Parts) -> Response {
    if parts.headers.contains_key("hx-request") {
        return ([("hx-redirect", "/login")], "").into_response();
    }
    Redirect::to("/login").into_response()
}
