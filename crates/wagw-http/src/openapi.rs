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
use super::{cloud, events, routes, sim_fault, sim_scan};

#[derive(OpenApi)]
#[openapi(
    info(title = "wagw", description = "WhatsApp Web gateway for AI agents: HTTP API. \
        Every route but /healthz and the Cloud API webhooks (/v1/cloud/{account}/webhook, \
        authenticated by Meta's verify token and signature) needs `Authorization: Bearer <token>` \
        (`wagw token` prints it)."),
    paths(
        routes::healthz, routes::readyz, routes::accounts, routes::account,
        routes::login_start, routes::login_status, routes::login_passkey,
        routes::login_passkey_confirm, routes::logout, routes::send, routes::react,
        routes::poll, routes::read, routes::presence, routes::pairing_list,
        routes::pairing_approve, routes::pairing_reject, routes::access_explain,
        routes::allow_list, routes::allow_add, routes::allow_remove, routes::deliveries_list,
        routes::delivery_replay, routes::media, events::events, routes::resources, routes::probe,
        routes::reload, routes::metrics, routes::openapi, routes::sim_inbound, routes::sim_outbox,
        sim_scan::scan, sim_fault::apply, cloud::verify, cloud::receive,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, AccountView, AccountList, LoginMethod, LoginRequest,
        LoginResponse, LoginState, LoginStatus, PasskeyAssertion, LogoutResponse, MediaItem, SendMessageRequest,
        SendResponse, TemplateRequest, ReactionRequest, PollRequest, ReadRequest, PresenceState, PresenceRequest,
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
    add_common_responses(&mut doc);
    doc
}

/// Routes that need no token.
const OPEN_ROUTES: &[&str] = &["/healthz", "/v1/cloud/{account}/webhook"];

/// Adds the answers every route can give besides its own (so clients and schemathesis see
/// every status a route returns): the token check (401, 429), the connection cap (503),
/// and for routes with parameters or a body the validation answers (422, and 404 for an
/// account or item that does not exist; 408, 413, 415 for a body). Open routes are marked
/// as needing no token.
fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let open = OPEN_ROUTES.contains(&path.as_str());
        let has_path_params = path.contains('{');
        for operation in [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            let mut add = |code: &str, description: &str| {
                operation
                    .responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| error(description));
            };
            if open {
                operation.security = Some(Vec::new());
            } else {
                add("401", "no token, or the wrong one (`unauthorized`)");
                add(
                    "429",
                    "too many wrong tokens from this address (`too_many_attempts`)",
                );
            }
            add(
                "503",
                "the gateway serves its maximum number of connections, or is not ready",
            );
            let has_query = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let has_body = operation.request_body.is_some();
            if has_path_params || has_query || has_body {
                add(
                    "422",
                    "a parameter or field is wrong (`invalid_request`, `field` says which)",
                );
                add("404", "no such account (`unknown_account`) or item");
            }
            if has_body {
                add("408", "the body did not arrive in time (`body_timeout`)");
                add(
                    "413",
                    "the body is over the route's limit (`body_too_large`)",
                );
                add("415", "the body is not JSON (`unsupported_media_type`)");
            }
        }
    }
}
