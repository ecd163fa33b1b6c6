//! CSRF protection: every request that is not a read (GET, HEAD) carries the token of the
//! page it was sent from, in the form's `_csrf` field or the `X-CSRF-Token` header (htmx
//! requests). Signed in, the token is derived from the session (`App::dashboard_csrf`); on the
//! sign-in form it is the `tb_login` cookie's value. Anything else is refused with 403 before
//! its handler runs, and changes nothing.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;
use textbird_app::App;

use crate::session::{LOGIN_COOKIE, SESSION_COOKIE, cookie};
use crate::view;

/// Largest form the dashboard reads.
const MAX_FORM_BYTES: usize = 256 * 1024;

pub(crate) async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let expected = if parts.uri.path() == "/login" {
        cookie(&parts.headers, LOGIN_COOKIE).map(str::to_owned)
    } else {
        cookie(&parts.headers, SESSION_COOKIE).map(|token| app.dashboard_csrf(token))
    };
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return view::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form is larger than the dashboard reads.",
        );
    };
    let header = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let given = header.or_else(|| {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v)
    });
    let valid = matches!((&expected, &given), (Some(e), Some(g)) if e.len() == g.len() && bool::from(e.as_bytes().ct_eq(g.as_bytes())));
    if !valid {
        tracing::info!(path = parts.uri.path(), "dashboard form refused: missing or wrong CSRF token");
        return view::problem(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was not sent from the dashboard page it belongs to (its CSRF token is missing or wrong). Reload the page and try again.",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
