//! The passkey login routes: validation (422 naming the field), pass-through of the
//! assertion, the confirmation step, upstream refusals.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{call, req, setup};

const PASSKEY: &str = "/v1/accounts/default/login/passkey";
const CONFIRM: &str = "/v1/accounts/default/login/passkey/confirm";

fn assertion() -> Value {
    json!({
        "id": "AQIDBA", "rawId": "AQIDBA", "type": "public-key",
        "response": {"clientDataJSON": "eyJ9", "authenticatorData": "AA", "signature": "AA", "userHandle": "AA"},
        "authenticatorAttachment": "cross-platform", "clientExtensionResults": {}
    })
}

#[tokio::test]
async fn a_bad_assertion_is_refused_naming_the_field() {
    let (app, fake, _d) = setup(false);
    let rows: [(&str, Value, Option<&str>); 5] = [
        (
            "no credential id",
            json!({"type": "public-key", "response": {}}),
            Some("rawId"),
        ),
        (
            "rawId not base64url",
            json!({"rawId": "a+b/c", "response": {}}),
            Some("rawId"),
        ),
        ("id not a string", json!({"id": 7}), Some("id")),
        (
            "wrong type",
            json!({"rawId": "AQID", "type": "password"}),
            Some("type"),
        ),
        (
            "response not an object",
            json!({"rawId": "AQID", "response": "sig"}),
            Some("response"),
        ),
    ];
    for (name, body, field) in rows {
        let body = body.to_string();
        let (status, v) = call(&app, req("POST", PASSKEY, Some(&body))).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {body} → {v}"
        );
        assert_eq!(v["error"]["field"].as_str(), field, "{name}: {body} → {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(field.unwrap()), "{name}: {message}");
    }
    // Not an object at all.
    let (status, v) = call(&app, req("POST", PASSKEY, Some("[1]"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (status, _) = call(&app, req("POST", PASSKEY, None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        fake.calls().is_empty(),
        "reached the gateway: {:?}",
        fake.calls()
    );
}

#[tokio::test]
async fn an_assertion_is_passed_on_and_the_code_confirmed() {
    let (app, fake, _d) = setup(false);
    let body = assertion().to_string();
    let (status, v) = call(&app, req("POST", PASSKEY, Some(&body))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["passkeyCode"], "ABCD1234");
    assert_eq!(v["expiresIn"], 180);

    // The gateway got the assertion as sent (same JSON, nothing dropped).
    let call0 = fake.calls()[0].clone();
    let sent = call0.strip_prefix("login_passkey default ").unwrap();
    assert_eq!(serde_json::from_str::<Value>(sent).unwrap(), assertion());

    let (status, v) = call(&app, req("POST", CONFIRM, None)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "connected");
    assert_eq!(fake.calls()[1], "login_passkey_confirm default");

    // An unknown account is a 404 on both.
    let (status, _) = call(
        &app,
        req("POST", "/v1/accounts/nosuch/login/passkey", Some(&body)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        req("POST", "/v1/accounts/nosuch/login/passkey/confirm", None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refused_assertion_is_a_bad_gateway_with_the_reason() {
    let (app, _fake, _d) = setup(false);
    let mut a = assertion();
    a["response"]["signature"] = json!("wrong");
    let (status, v) = call(&app, req("POST", PASSKEY, Some(&a.to_string()))).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not verify"),
        "{v}"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_the_passkey_routes() {
    let (app, _fake, _d) = setup(false);
    let (_, v) = call(&app, req("GET", "/v1/openapi.json", None)).await;
    let paths = v["paths"].as_object().unwrap();
    assert!(paths["/v1/accounts/{id}/login/passkey"]["post"].is_object());
    assert!(paths["/v1/accounts/{id}/login/passkey/confirm"]["post"].is_object());
    let status = &v["components"]["schemas"]["LoginStatus"]["properties"];
    assert!(status["passkeyOptions"].is_object(), "{status}");
    assert!(status["passkeyCode"].is_object(), "{status}");
    assert!(v["components"]["schemas"]["PasskeyAssertion"].is_object());
}
