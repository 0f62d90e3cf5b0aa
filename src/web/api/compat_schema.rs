//! The shapes the `@access-tokens`-compatible API answers, as the OpenAPI
//! document describes them (the handlers build them with `json!`, as that
//! package's server does).

#![allow(dead_code)]

use crate::compat::CompatRecord;
use utoipa::{IntoParams, ToSchema};

/// The query of `GET {admin}/tokens`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct CompatListQuery {
    /// Records after this token id.
    after_token_id: Option<String>,
    /// Records per page (at most 1000; 100 when absent).
    limit: Option<i64>,
    /// Include revoked tokens (`true`/`false`/`1`/`0`).
    include_revoked: Option<bool>,
    /// Include expired tokens.
    include_expired: Option<bool>,
    /// Include each secret's PHC string.
    include_secret_phc: Option<bool>,
    /// Only tokens with this role.
    has_role: Option<String>,
}

/// `{records}`.
#[derive(ToSchema)]
pub struct CompatRecords {
    /// Token records.
    records: Vec<CompatRecord>,
}

/// `{found, notFound}`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompatBatch {
    /// Records of the ids found.
    found: Vec<CompatRecord>,
    /// Ids not found.
    not_found: Vec<String>,
}

/// `{token, record}`.
#[derive(ToSchema)]
pub struct CompatIssued {
    /// The secret token, shown this once.
    token: String,
    /// Its record.
    record: CompatRecord,
}

/// `{record}`.
#[derive(ToSchema)]
pub struct CompatRecordBody {
    /// The record.
    record: CompatRecord,
}

/// `{"error": {"message", "code"?}}`, as that API answers errors.
#[derive(ToSchema)]
pub struct CompatErrorBody {
    /// What went wrong.
    error: crate::web::dto::ApiErrorDetail<'static>,
}

/// The compatible exchange's optional form.
#[derive(ToSchema)]
pub struct CompatTokenForm {
    /// `client_credentials`, when sent.
    grant_type: Option<String>,
    /// The PAT.
    client_secret: Option<String>,
}
