//! Textbird's web dashboard: server-rendered pages (askama templates) with htmx for the live
//! parts, its assets embedded in the binary. Served beside the HTTP API on the same listener.
//! Every page goes through `textbird-app` and is scoped to the signed-in account; nothing
//! here reaches the store.
//!
//! Sign-in: `App::dashboard_sign_in` checks the password under the `[logins]` limits and
//! stores a session; the browser keeps its token in an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` when the dashboard is reached over HTTPS). Every form carries a CSRF token
//! derived from the session (before sign-in, from a cookie of its own), and a post without
//! the right one is refused with 403 before its handler runs.

mod assets;
mod csrf;
mod pages;
mod session;
mod view;

use std::net::IpAddr;

use axum::Router;
use axum::http::request::Parts;
use axum::routing::{get, post};
use textbird_app::App;

/// How the dashboard learns where a request comes from; the HTTP API owns that logic (the
/// trusted proxies of `[http]`) and hands its functions in.
#[derive(Clone, Copy)]
pub struct Origin {
    /// The client's address, for the sign-in limits.
    pub client_ip: fn(&Parts) -> Option<IpAddr>,
    /// `scheme://host` as the client called the server: `https` makes the cookies `Secure`.
    pub public_base: fn(&Parts) -> String,
}

/// The dashboard's pages and assets, for merging beside the API's router. The requests need
/// whatever extensions `origin`'s functions read.
pub fn router(app: App, origin: Origin) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/send", get(pages::send_form).post(pages::send))
        .route("/send/estimate", post(pages::estimate))
        .route("/messages", get(pages::messages))
        .route("/messages/{id}", get(pages::message))
        .route("/keys", get(pages::keys).post(pages::create_key))
        .route("/keys/{id}/revoke", post(pages::revoke_key))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn_with_state(app.clone(), csrf::guard))
        .layer(axum::Extension(origin))
        .with_state(app)
}
