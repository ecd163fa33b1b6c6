use axum::extract::{FromRequestParts, Query as AxumQuery};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use textbird_app::{App, FieldError};

use crate::error::Problem;

/// Query parameters with errors as problem documents.
pub(crate) struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<App> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        AxumQuery::<T>::from_request_parts(parts, app)
            .await
            .map(|AxumQuery(v)| Query(v))
            .map_err(|e| Problem::validation(vec![FieldError::new("query", e.body_text())]))
    }
}
