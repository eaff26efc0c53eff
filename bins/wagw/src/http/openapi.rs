//! The OpenAPI 3.1 document, generated from the handlers' annotations and the model types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ErrorBody, ErrorDetail};
use super::model::*;
use super::model_access::*;
use super::model_agents::*;
use super::model_resources::*;
use super::sim_fault::{SimFaultApplied, SimFaultRequest};
use super::sim_scan::{SimScanRequest, SimScanned};
use super::{events, routes, sim_fault, sim_scan};

#[derive(OpenApi)]
#[openapi(
    info(title = "wagw", description = "WhatsApp Web gateway for AI agents: HTTP API. \
        Every route but /healthz needs `Authorization: Bearer <token>` (`wagw token` prints it)."),
    paths(
        routes::healthz, routes::readyz, routes::accounts, routes::account,
        routes::login_start, routes::login_status, routes::login_passkey,
        routes::login_passkey_confirm, routes::logout, routes::send, routes::react,
        routes::poll, routes::read, routes::presence, routes::pairing_list,
        routes::pairing_approve, routes::pairing_reject, routes::access_explain,
        routes::allow_list, routes::allow_add, routes::allow_remove, routes::deliveries_list,
        routes::delivery_replay, routes::media, events::events, routes::resources, routes::probe,
        routes::reload, routes::metrics, routes::openapi, routes::sim_inbound, routes::sim_outbox,
        sim_scan::scan, sim_fault::apply,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, AccountView, AccountList, LoginMethod, LoginRequest,
        LoginResponse, LoginState, LoginStatus, PasskeyAssertion, LogoutResponse, MediaItem, SendMessageRequest,
        SendResponse, ReactionRequest, PollRequest, ReadRequest, PresenceState, PresenceRequest,
        SentId, OkResponse, PairingRequestView, PairingList, PairingDecisionRequest,
        PairingDecision, EventRecord, Readiness, ReloadResponse, SimInboundRequest, SimInjected,
        SimOutbox, ExplainRequest, ExplainView, AllowEntryView, AllowListView, AllowRequest,
        AllowChange, DeliveryView, DeliveryList, AccountResources, ResourcesView, ProbeResult,
        SimScanRequest, SimScanned, SimFaultRequest, SimFaultApplied,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document served at `GET /v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
