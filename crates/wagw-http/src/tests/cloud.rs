//! The Cloud API webhook routes: open (Meta sends no bearer token), routed to the
//! `GatewayApi`, documented as open; and template sends on the send route.

use super::*;

fn open(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn webhook_routes_need_no_token_and_reach_the_gateway() {
    let (app, _fake, _d) = setup(false);
    // The fake gateway runs no cloud account: the answer is the gateway's 404, not a 401.
    let uri = "/v1/cloud/default/webhook?hub.mode=subscribe&hub.verify_token=t&hub.challenge=1";
    let (s, v) = call(&app, open("GET", uri, "")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"]["code"], "not_a_cloud_account");
    let (s, v) = call(&app, open("POST", "/v1/cloud/default/webhook", "{}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("transport: \"cloud\"")
    );
    let (s, v) = call(&app, open("POST", "/v1/cloud/Not%20An%20Id/webhook", "{}")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // An oversized post is refused before anything reads it, with the API's JSON error.
    let big = "a".repeat(crate::cloud::WEBHOOK_LIMIT + 1);
    let (s, v) = call(&app, open("POST", "/v1/cloud/default/webhook", &big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn webhook_routes_are_documented_as_open() {
    let (app, _fake, _d) = setup(false);
    let (_, v) = call(&app, req("GET", "/v1/openapi.json", None)).await;
    let path = &v["paths"]["/v1/cloud/{account}/webhook"];
    for method in ["get", "post"] {
        assert_eq!(
            path[method]["security"],
            json!([]),
            "{method}: {}",
            path[method]
        );
    }
    assert!(path["post"]["responses"]["401"].is_object());
    assert!(v["components"]["schemas"]["TemplateRequest"].is_object());
}

#[tokio::test]
async fn a_template_alone_is_something_to_send_and_is_checked() {
    let (app, _fake, _d) = setup(false);
    let body = json!({"to": "+15550002222", "template": {"name": " ", "language": "en_US"}});
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/accounts/default/messages",
            Some(&body.to_string()),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "template.name");
    let body =
        json!({"to": "+15550002222", "template": {"name": "hello_world", "language": "en_US"}});
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/accounts/default/messages",
            Some(&body.to_string()),
        ),
    )
    .await;
    assert_ne!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}
