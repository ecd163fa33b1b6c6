//! `/v1/contacts`, `/v1/groups`, `/v1/senders`, `/v1/sender-lists`: an account's audience.
//! Lists go by id with a cursor; `?name=` keeps the rows whose name (a sender's value)
//! contains it, ignoring case.

mod contacts;
mod groups;
mod senders;

use serde::{Deserialize, Serialize};
use textbird_app::App;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

pub(super) fn router() -> OpenApiRouter<App> {
    contacts::router().merge(groups::router()).merge(senders::router())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedPageParams {
    /// Case-insensitive substring of the name.
    name: Option<String>,
    cursor: Option<String>,
    /// 1 to 1000, default 50.
    limit: Option<u32>,
}

/// How many of the named ids became members (the others already were).
#[derive(Serialize, ToSchema)]
pub(crate) struct AddedDto {
    added: u64,
}
