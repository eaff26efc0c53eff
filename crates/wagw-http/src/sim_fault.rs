//! `POST /v1/sim/faults` (`--sim` only): make the simulated WhatsApp misbehave for one
//! account — drop the connection, fail the next sends, ban, log out — so what an operator
//! or an agent sees when WhatsApp fails can be tried without a phone (and tested).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagw_core::AccountId;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, ValidJson};
use super::validate;

/// `POST /v1/sim/faults`: which account, and what goes wrong.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimFaultRequest {
    /// The account (default: the default account).
    #[serde(default)]
    pub account: Option<String>,
    /// The fault, by `kind`: `disconnect`, `streamError` (`code`), `loggedOut`,
    /// `sessionConflict`, `temporaryBan` (`durationMs`), `clientOutdated`,
    /// `clearClientOutdated`, `failConnects` (`count`, `reason`), `failSends` (`count`,
    /// `failure`: `{"kind": "interrupted"}`, `{"kind": "timeout", "ms": …}`,
    /// `{"kind": "timeoutDelivered", "ms": …}`, `{"kind": "rejected", "code": …, "detail": …}`),
    /// `sendDelay` (`ms`), `duplicateNextInbound`, `failPairCode` (`detail`), `requirePasskey`
    /// (`required`), `requirePasskeyConfirmation` (`required`), `expireQr` (the QR on screen
    /// expires now, so the next one follows), `deadLink`, `clear`.
    #[schema(value_type = Object)]
    pub fault: serde_json::Value,
}

impl JsonBody for SimFaultRequest {}

/// `POST /v1/sim/faults` → applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimFaultApplied {
    /// The account.
    pub account: String,
    /// The fault's kind.
    pub kind: String,
}

/// A validated fault.
#[derive(Debug, Clone, PartialEq)]
pub struct SimFaultOrder {
    /// The account (None = the default account).
    pub account: Option<AccountId>,
    /// What goes wrong.
    pub fault: wagw_sim::SimFault,
}

/// Simulator only: the simulated WhatsApp misbehaves for one account.
#[utoipa::path(post, path = "/v1/sim/faults", tag = "sim",
    request_body = SimFaultRequest,
    responses((status = 200, body = SimFaultApplied),
        (status = 404, description = "unknown account, or the simulator is not running", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn apply(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<SimFaultRequest>,
) -> Result<Json<SimFaultApplied>, ApiError> {
    let order = SimFaultOrder {
        account: req
            .account
            .as_deref()
            .map(|a| validate::account_id("account", a))
            .transpose()?,
        fault: serde_json::from_value(req.fault).map_err(|e| {
            ApiError::invalid(
                "fault",
                format!("fault: {e}; see the schema of POST /v1/sim/faults for the kinds"),
            )
        })?,
    };
    Ok(Json(s.api.sim_fault(order).await?))
}
