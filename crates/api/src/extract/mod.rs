//! Request extractors shared by every native route.

mod auth;
mod json;
mod query;

pub(crate) use auth::Auth;
pub(crate) use json::{JsonBody, idempotency_key};
pub(crate) use query::Query;
