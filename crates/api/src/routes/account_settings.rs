//! `/v1/account/settings`: the account's own fraud settings (allowed destination countries,
//! daily spend cap), which can only narrow the operator's.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use textbird_app::{App, FraudChange, FraudSettingsView};
use textbird_types::Money;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{Auth, JsonBody};

pub(super) fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SettingsDto {
    /// Countries the account may send to now (ISO 3166 alpha-2); empty: every country.
    allowed_countries: Vec<String>,
    /// Most the account's messages may cost per UTC day; null: no cap.
    daily_spend_cap: Option<String>,
    /// What the account set itself (null: the operator's default).
    account: AccountPartDto,
    /// The operator's defaults.
    operator: OperatorPartDto,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AccountPartDto {
    allowed_countries: Option<Vec<String>>,
    daily_spend_cap: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OperatorPartDto {
    allowed_countries: Vec<String>,
    daily_spend_cap: Option<String>,
}

fn dto(v: FraudSettingsView) -> SettingsDto {
    SettingsDto {
        allowed_countries: v.allowed_countries,
        daily_spend_cap: v.daily_spend_cap.map(|m| m.to_string()),
        account: AccountPartDto {
            allowed_countries: v.account.allowed_countries,
            daily_spend_cap: v.account.daily_spend_cap.map(|m| Money(m).to_string()),
        },
        operator: OperatorPartDto {
            allowed_countries: v.operator_allowed_countries,
            daily_spend_cap: v.operator_daily_spend_cap.map(|m| m.to_string()),
        },
    }
}

/// A present field, `null` included (an absent one stays `None`).
#[expect(clippy::option_option, reason = "absent, null and a value are three different requests")]
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[expect(clippy::option_option, reason = "absent (unchanged), null (the operator's) and a value")]
pub(crate) struct SettingsBody {
    /// Countries to allow (a subset of the operator's); null: the operator's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    allowed_countries: Option<Option<Vec<String>>>,
    /// A daily cap (`"25.00"`), below the operator's when it has one; null: the operator's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    daily_spend_cap: Option<Option<String>>,
}

/// The account's fraud settings in force, its own and the operator's.
#[utoipa::path(get, path = "/v1/account/settings", tag = "account", responses((status = 200, body = SettingsDto)))]
async fn get_settings(State(app): State<App>, Auth(p): Auth) -> Result<Json<SettingsDto>, ApiError> {
    Ok(Json(dto(app.account_settings(&p).await?)))
}

/// Narrow the account's allowed countries or set its daily spend cap.
#[utoipa::path(patch, path = "/v1/account/settings", tag = "account", request_body = SettingsBody,
    responses((status = 200, body = SettingsDto), (status = 422, body = Problem)))]
async fn update_settings(
    State(app): State<App>,
    Auth(p): Auth,
    body: JsonBody<SettingsBody>,
) -> Result<Json<SettingsDto>, ApiError> {
    let b = body.value;
    let change = FraudChange { allowed_countries: b.allowed_countries, daily_spend_cap: b.daily_spend_cap };
    Ok(Json(dto(app.update_account_settings(&p, change).await?)))
}
