//! `POST /v1/sim/scan` (`--sim` only): a simulated phone scans the QR an account shows, or
//! with `code` types the pair code the account requested for it, so linking can be tried end
//! to end without a phone (the console's Sandbox, `wagw channels login`, tests).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagw_core::{AccountId, Phone};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidJson};
use super::validate;

/// `POST /v1/sim/scan`: which account's QR, scanned by which phone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimScanRequest {
    /// The account showing the QR (default: the default account).
    #[serde(default)]
    pub account: Option<String>,
    /// The scanning phone (default: the account's own simulated number, `+1555019nnnn`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Complete a pair-code link instead of scanning: the code `wagw channels login
    /// --phone` printed, typed on `phone` (the number the code was requested for).
    #[serde(default)]
    pub code: Option<String>,
}

impl JsonBody for SimScanRequest {
    const EMPTY_IS_OBJECT: bool = true;
}

/// `POST /v1/sim/scan` → the account is being linked to the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimScanned {
    /// The account.
    pub account: String,
    /// The phone that scanned.
    pub phone: String,
    /// A sentence for a person.
    pub message: String,
}

/// A validated scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimScan {
    /// The account (None = the default account).
    pub account: Option<AccountId>,
    /// The phone (None = the account's own simulated number).
    pub phone: Option<Phone>,
    /// A pair code to type instead of scanning the QR.
    pub code: Option<String>,
}

/// Simulator only: a simulated phone scans the account's current QR, or (with `code`)
/// types the pair code the account requested for it.
#[utoipa::path(post, path = "/v1/sim/scan", tag = "sim",
    request_body = SimScanRequest,
    responses((status = 200, body = SimScanned),
        (status = 409, description = "no QR on screen or no pair code requested (`sim_not_linking`), or already linked", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn scan(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<SimScanRequest>,
) -> Result<Json<SimScanned>, ApiError> {
    let scan = SimScan {
        account: req
            .account
            .as_deref()
            .map(|a| validate::account_id("account", a))
            .transpose()?,
        phone: req
            .phone
            .as_deref()
            .map(|p| validate::phone("phone", p))
            .transpose()?,
        code: match req.code.as_deref().map(str::trim) {
            Some("") => return Err(ApiError::invalid("code", "code: must not be empty")),
            other => other.map(str::to_owned),
        },
    };
    Ok(Json(s.api.sim_scan(scan).await?))
}
