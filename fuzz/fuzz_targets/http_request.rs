//! The HTTP API's request validators (the JSON body and query parsers, then each route's
//! checks) on arbitrary bytes: a value or a 4xx error with a message — never a panic and
//! never a 5xx, which would tell a client the gateway broke on its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagw_http::error::ApiError;
use wagw_http::events::EventsQuery;
use wagw_http::extract::{parse, parse_query};
use wagw_http::model::*;
use wagw_http::model_access::{AccountQuery, AllowRequest, ExplainRequest};
use wagw_http::model_agents::DeliveriesQuery;
use wagw_http::validate;

fn check<T>(result: Result<T, ApiError>) {
    if let Err(e) = result {
        let status = e.status();
        assert!(
            status.is_client_error(),
            "{status} for a bad request: {e:?}"
        );
        assert!(
            !e.body().error.message.is_empty(),
            "an error without a message"
        );
    }
}

fuzz_target!(|data: (u8, &[u8])| {
    let (route, body) = data;
    let text = String::from_utf8_lossy(body);
    match route % 16 {
        0 => check(parse::<SendMessageRequest>(body, false).and_then(validate::send)),
        1 => check(parse::<ReactionRequest>(body, false).and_then(validate::reaction)),
        2 => check(parse::<PollRequest>(body, false).and_then(validate::poll)),
        3 => check(parse::<ReadRequest>(body, false).and_then(validate::read)),
        4 => check(parse::<LoginRequest>(body, true).and_then(validate::login)),
        5 => check(parse::<PasskeyAssertion>(body, false).and_then(validate::passkey_assertion)),
        6 => check(parse::<SimInboundRequest>(body, false).and_then(validate::sim)),
        7 => check(parse::<ExplainRequest>(body, false).and_then(validate::explain)),
        8 => check(
            parse::<PairingDecisionRequest>(body, false)
                .and_then(|r| validate::pairing_code(&r.code)),
        ),
        9 => check(
            parse::<AllowRequest>(body, false)
                .and_then(|r| validate::allow_entry("entry", &r.entry)),
        ),
        10 => check(parse::<PresenceRequest>(body, false).and_then(|r| {
            let _ = validate::presence(r.state);
            validate::target("chat", &r.chat)
        })),
        11 => check(parse_query::<DeliveriesQuery>(&text)),
        12 => check(parse_query::<EventsQuery>(&text)),
        13 => check(parse_query::<AccountQuery>(&text)),
        14 => check(validate::media_id(&text)),
        _ => {
            check(validate::target("to", &text));
            check(validate::account_id("account", &text));
        }
    }
});
