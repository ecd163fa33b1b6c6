//! Request extractors shared by every native route.

mod admin;
mod auth;
mod json;
pub(crate) mod origin;
mod query;
mod upload;

pub(crate) use admin::Admin;
pub(crate) use auth::Auth;
pub(crate) use json::{JsonBody, idempotency_key};
pub(crate) use query::Query;
pub(crate) use upload::Upload;
