//! The native `/v1` routes, one file per resource.

mod account;
mod account_settings;
mod broadcasts;
mod campaigns;
mod content;
mod inbound;
mod links;
pub(crate) mod lists;
mod messages;
mod people;
pub(crate) mod system;
mod unsubscribes;
mod verifications;
mod webhooks;

use serde::Serialize;
use textbird_app::App;
use textbird_types::format_millis;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn v1(router: OpenApiRouter<App>) -> OpenApiRouter<App> {
    router
        .merge(messages::router())
        .merge(inbound::router())
        .merge(webhooks::router())
        .merge(account::router())
        .merge(lists::router())
        .merge(unsubscribes::router())
        .merge(people::router())
        .merge(content::router())
        .merge(links::router())
        .merge(broadcasts::router())
        .merge(campaigns::router())
        .merge(verifications::router())
        .merge(account_settings::router())
}

pub(crate) struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// A page of a list, with the cursor for the next one.
#[derive(Serialize, ToSchema)]
pub(crate) struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

pub(crate) fn time(ms: i64) -> String {
    format_millis(ms)
}

pub(crate) fn opt_time(ms: Option<i64>) -> Option<String> {
    ms.map(format_millis)
}
