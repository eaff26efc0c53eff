//! Router tests over a fake [`GatewayApi`]: auth, limits, validation, routing, SSE resume,
//! the OpenAPI document.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod cloud;
mod events;
mod login;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{ApiToken, RouterOptions, router};
pub use crate::fake::Fake;

const TOKEN: &str = "s3cret-token";

pub(crate) fn setup(sim: bool) -> (Router, Arc<Fake>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let app = router(fake.clone(), ApiToken::new(TOKEN), RouterOptions { sim });
    (app, fake, dir)
}

pub(crate) fn req(method: &str, uri: &str, body: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    b.body(body.map_or_else(Body::empty, |s| Body::from(s.to_owned())))
        .unwrap()
}

pub(crate) async fn call(app: &Router, r: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(r).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

#[tokio::test]
async fn healthz_is_open_everything_else_needs_the_token() {
    let (app, fake, _d) = setup(true);
    let open = Request::get("/healthz").body(Body::empty()).unwrap();
    assert_eq!(call(&app, open).await.0, StatusCode::OK);

    let routes = [
        ("GET", "/readyz"),
        ("GET", "/v1/accounts"),
        ("GET", "/v1/accounts/default"),
        ("GET", "/v1/accounts/default/resources"),
        ("POST", "/v1/accounts/default/login"),
        ("GET", "/v1/accounts/default/login"),
        ("POST", "/v1/accounts/default/login/passkey"),
        ("POST", "/v1/accounts/default/login/passkey/confirm"),
        ("POST", "/v1/accounts/default/logout"),
        ("POST", "/v1/accounts/default/messages"),
        ("POST", "/v1/accounts/default/reactions"),
        ("POST", "/v1/accounts/default/polls"),
        ("POST", "/v1/accounts/default/read"),
        ("POST", "/v1/accounts/default/presence"),
        ("GET", "/v1/pairing/whatsapp"),
        ("POST", "/v1/pairing/whatsapp/approve"),
        ("POST", "/v1/pairing/whatsapp/reject"),
        ("POST", "/v1/access/explain"),
        ("GET", "/v1/allow/whatsapp"),
        ("POST", "/v1/allow/whatsapp"),
        ("DELETE", "/v1/allow/whatsapp/+15550001111"),
        ("GET", "/v1/media/abc.jpg"),
        ("GET", "/v1/events"),
        ("POST", "/v1/reload"),
        ("GET", "/metrics"),
        ("GET", "/v1/openapi.json"),
        ("POST", "/v1/sim/inbound"),
        ("GET", "/v1/sim/outbox/default"),
        ("POST", "/v1/sim/scan"),
        ("GET", "/no/such/route"),
    ];
    for (method, uri) in routes {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Basic czNjcmV0LXRva2Vu"),
            Some(&*format!("Bearer {TOKEN}x")),
        ] {
            let mut b = Request::builder().method(method).uri(uri);
            if let Some(a) = auth {
                b = b.header(header::AUTHORIZATION, a);
            }
            let res = app
                .clone()
                .oneshot(
                    b.body(Body::from("{\"to\":\"+15550001111\",\"text\":\"x\"}"))
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {auth:?}"
            );
            assert_eq!(
                res.headers()[header::WWW_AUTHENTICATE],
                "Bearer realm=\"wagw\""
            );
            let v: Value =
                serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                    .unwrap();
            assert_eq!(v["error"]["code"], "unauthorized");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("wagw token"),
                "{v}"
            );
        }
    }
    assert!(
        fake.calls().is_empty(),
        "rejected requests reached the gateway: {:?}",
        fake.calls()
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_and_change_nothing() {
    let (app, fake, _d) = setup(false);
    let big = format!("{{\"code\": \"{}\"}}", "A".repeat(2 * 1024 * 1024));
    let (status, v) = call(
        &app,
        req("POST", "/v1/pairing/whatsapp/approve", Some(&big)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"]["code"], "body_too_large");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("1048576"),
        "{v}"
    );

    // Without Content-Length (chunked): the limit still holds.
    let stream =
        futures_util::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])));
    let r = Request::post("/v1/accounts/default/reactions")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    assert_eq!(call(&app, r).await.0, StatusCode::PAYLOAD_TOO_LARGE);

    // The send route takes more (inline media), and says how to avoid base64.
    let b64 = "A".repeat(3 * 1024 * 1024);
    let body =
        json!({"to": "+15550001111", "media": [{"base64": b64, "mime": "image/jpeg"}]}).to_string();
    let (status, _) = call(
        &app,
        req("POST", "/v1/accounts/default/messages", Some(&body)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let huge = format!(
        "{{\"to\": \"+15550001111\", \"text\": \"{}\"}}",
        "x".repeat(65 * 1024 * 1024)
    );
    let (status, v) = call(
        &app,
        req("POST", "/v1/accounts/default/messages", Some(&huge)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("by `path`"),
        "{v}"
    );
    assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
}

#[tokio::test]
async fn invalid_bodies_get_422_naming_the_field_and_change_nothing() {
    let (app, fake, _d) = setup(true);
    let rows: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "missing to",
            "/v1/accounts/default/messages",
            r#"{"text": "hi"}"#,
            Some("to"),
        ),
        (
            "bad to",
            "/v1/accounts/default/messages",
            r#"{"to": "bob", "text": "hi"}"#,
            Some("to"),
        ),
        (
            "nothing to send",
            "/v1/accounts/default/messages",
            r#"{"to": "+15550001111"}"#,
            Some("text"),
        ),
        (
            "two sources",
            "/v1/accounts/default/messages",
            r#"{"to": "+15550001111", "media": [{"url": "https://x/a.jpg", "path": "/a.jpg"}]}"#,
            Some("media[0]"),
        ),
        (
            "bad base64",
            "/v1/accounts/default/messages",
            r#"{"to": "+15550001111", "media": [{"base64": "%%%"}]}"#,
            Some("media[0].base64"),
        ),
        (
            "relative path",
            "/v1/accounts/default/messages",
            r#"{"to": "+15550001111", "media": [{"path": "a.jpg"}]}"#,
            Some("media[0].path"),
        ),
        (
            "bad mention",
            "/v1/accounts/default/messages",
            r#"{"to": "+15550001111", "text": "x", "mentions": ["+1", "x"]}"#,
            Some("mentions[0]"),
        ),
        (
            "wrong type",
            "/v1/accounts/default/messages",
            r#"{"to": "+15550001111", "text": 5}"#,
            Some("text"),
        ),
        (
            "unknown field",
            "/v1/accounts/default/messages",
            r#"{"to": "+15550001111", "txt": "x"}"#,
            Some("txt"),
        ),
        (
            "not json",
            "/v1/accounts/default/messages",
            r#"{"to": "#,
            None,
        ),
        ("empty", "/v1/accounts/default/messages", "", None),
        (
            "bad account id",
            "/v1/accounts/Bad%20Id/messages",
            r#"{"to": "+15550001111", "text": "x"}"#,
            Some("id"),
        ),
        (
            "reaction without emoji",
            "/v1/accounts/default/reactions",
            r#"{"chat": "+15550001111", "messageId": "ABC"}"#,
            Some("emoji"),
        ),
        (
            "poll with one option",
            "/v1/accounts/default/polls",
            r#"{"to": "+15550001111", "question": "Lunch?", "options": ["pizza", " pizza "]}"#,
            Some("options"),
        ),
        (
            "poll picks too many",
            "/v1/accounts/default/polls",
            r#"{"to": "+15550001111", "question": "Lunch?", "options": ["a", "b"], "selectableCount": 3}"#,
            Some("selectableCount"),
        ),
        (
            "read without ids",
            "/v1/accounts/default/read",
            r#"{"chat": "+15550001111", "messageIds": []}"#,
            Some("messageIds"),
        ),
        (
            "bad presence",
            "/v1/accounts/default/presence",
            r#"{"chat": "+15550001111", "state": "dancing"}"#,
            Some("state"),
        ),
        (
            "code login without phone",
            "/v1/accounts/default/login",
            r#"{"method": "code"}"#,
            Some("phone"),
        ),
        (
            "bad pairing code",
            "/v1/pairing/whatsapp/approve",
            r#"{"code": "K7 PQ"}"#,
            Some("code"),
        ),
        (
            "sim from",
            "/v1/sim/inbound",
            r#"{"from": "nobody", "text": "hi"}"#,
            Some("from"),
        ),
        (
            "sim group",
            "/v1/sim/inbound",
            r#"{"from": "+15550001111", "group": "+15550002222", "text": "hi"}"#,
            Some("group"),
        ),
    ];
    for (name, uri, body, field) in rows {
        let (status, v) = call(&app, req("POST", uri, Some(body))).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {body} → {v}"
        );
        assert_eq!(v["error"]["code"], "invalid_request", "{name}");
        assert_eq!(v["error"]["field"].as_str(), *field, "{name}: {body} → {v}");
        let message = v["error"]["message"].as_str().unwrap();
        if let Some(f) = field {
            assert!(
                message.contains(f),
                "{name}: message should name {f}: {message}"
            );
        }
    }
    // A body that is not JSON at all.
    let r = Request::post("/v1/accounts/default/messages")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("to=1"))
        .unwrap();
    assert_eq!(call(&app, r).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A media id that tries to leave the media folder.
    let (status, v) = call(&app, req("GET", "/v1/media/..%2F..%2Fetc%2Fpasswd", None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "id");
    let mut r = req("GET", "/v1/events", None);
    r.headers_mut()
        .insert("last-event-id", "seven".parse().unwrap());
    let (status, v) = call(&app, r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "Last-Event-ID");
    assert!(
        fake.calls().is_empty(),
        "rejected requests reached the gateway: {:?}",
        fake.calls()
    );
}

#[tokio::test]
async fn requests_reach_the_gateway_validated() {
    let (app, fake, dir) = setup(true);
    let ok = |s: StatusCode, v: &Value| assert_eq!(s, StatusCode::OK, "{v}");

    let (s, v) = call(&app, req("GET", "/v1/accounts", None)).await;
    ok(s, &v);
    assert_eq!(v["accounts"][0]["id"], "default");
    assert_eq!(v["accounts"][1]["linked"], false);

    let (s, v) = call(&app, req("GET", "/v1/accounts/nosuch", None)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wagw channels status"),
        "{v}"
    );

    let (s, v) = call(&app, req("POST", "/v1/accounts/default/login", None)).await;
    ok(s, &v);
    assert_eq!(v["qr"], "2@fake-ref,fake-key,fake-adv");
    assert!(
        v["qrPng"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBORw0K"),
        "{v}"
    );
    assert_eq!(v["expiresIn"], 20);

    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/accounts/work/login",
            Some(r#"{"method": "code", "phone": "+1 (555) 000-9999"}"#),
        ),
    )
    .await;
    ok(s, &v);
    assert_eq!(v["code"], "ABCD-EFGH");
    assert!(v.get("qrPng").is_none());

    let (s, v) = call(&app, req("GET", "/v1/accounts/default/login", None)).await;
    ok(s, &v);
    assert_eq!(v["status"], "pending");
    assert!(
        v["qrPng"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );

    let body =
        json!({"to": "whatsapp:+1 555 000 1111", "text": "deploy complete", "replyTo": "3EB0X",
        "mentions": ["+15550002222"], "gifPlayback": true,
        "media": [{"base64": "aGVsbG8=", "mime": "video/mp4", "caption": "c"}]})
        .to_string();
    let (s, v) = call(
        &app,
        req("POST", "/v1/accounts/default/messages", Some(&body)),
    )
    .await;
    ok(s, &v);
    assert_eq!(v["messageIds"][0], "3EB0AAA");

    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/accounts/work/messages",
            Some(r#"{"to": "+15550001111", "text": "x"}"#),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"]["code"], "no_active_listener");

    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/accounts/default/reactions",
            Some(r#"{"chat": "+15550001111", "messageId": "ABC", "emoji": "👍"}"#),
        ),
    )
    .await;
    ok(s, &v);
    let (s, v) = call(&app, req("POST", "/v1/accounts/default/polls", Some(r#"{"to": "120363012345678901@g.us", "question": "Lunch?", "options": ["pizza", "sushi"]}"#))).await;
    ok(s, &v);
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/accounts/default/read",
            Some(r#"{"chat": "+15550001111", "messageIds": ["A", "B"]}"#),
        ),
    )
    .await;
    ok(s, &v);
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/accounts/default/presence",
            Some(r#"{"chat": "+15550001111", "state": "composing"}"#),
        ),
    )
    .await;
    ok(s, &v);
    let (s, v) = call(&app, req("GET", "/v1/pairing/whatsapp", None)).await;
    ok(s, &v);
    assert_eq!(v["requests"][0]["code"], "K7PQ2MZX");
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/pairing/whatsapp/approve",
            Some(r#"{"code": "k7pq2mzx"}"#),
        ),
    )
    .await;
    ok(s, &v);
    assert_eq!(v["outcome"], "approved");
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/pairing/whatsapp/approve",
            Some(r#"{"code": "ZZZZ"}"#),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/pairing/whatsapp/reject",
            Some(r#"{"code": "K7PQ2MZX", "account": "default"}"#),
        ),
    )
    .await;
    ok(s, &v);
    let (s, v) = call(&app, req("POST", "/v1/reload", None)).await;
    ok(s, &v);
    let (s, v) = call(&app, req("POST", "/v1/accounts/default/logout", None)).await;
    ok(s, &v);
    assert_eq!(v["cleared"], true);
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/sim/inbound",
            Some(r#"{"from": "+15550001111", "text": "hi"}"#),
        ),
    )
    .await;
    ok(s, &v);
    let (s, v) = call(&app, req("GET", "/v1/sim/outbox/default", None)).await;
    ok(s, &v);
    assert_eq!(v["messages"][0]["text"], "hi");

    // Media: served from disk with its type; a missing file is a 404.
    std::fs::write(dir.path().join("abc.jpg"), b"\xff\xd8jpeg").unwrap();
    let res = app
        .clone()
        .oneshot(req("GET", "/v1/media/abc.jpg", None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes().as_ref(),
        b"\xff\xd8jpeg"
    );
    let (s, v) = call(&app, req("GET", "/v1/media/gone.jpg", None)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let res = app
        .clone()
        .oneshot(req("GET", "/metrics", None))
        .await
        .unwrap();
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );

    assert_eq!(
        fake.calls(),
        [
            "accounts",
            "account nosuch",
            "login_start default Qr None",
            "login_start work Code Some(\"+15550009999\")",
            "login_status default",
            "send default to=15550001111@s.whatsapp.net text=Some(\"deploy complete\") media=1 gif=true reply=Some(\"3EB0X\") mentions=1",
            "send work to=15550001111@s.whatsapp.net text=Some(\"x\") media=0 gif=false reply=None mentions=0",
            "react default 15550001111@s.whatsapp.net ABC \"👍\"",
            "poll default Lunch? [\"pizza\", \"sushi\"]",
            "read default 15550001111@s.whatsapp.net 2",
            "presence default 15550001111@s.whatsapp.net Composing",
            "pairing_list",
            "approve K7PQ2MZX None",
            "approve ZZZZ None",
            "reject K7PQ2MZX Some(AccountId(default))",
            "reload",
            "logout default",
            "sim_inbound +15550001111 Some(\"hi\")",
            "sim_outbox default",
            "media abc.jpg",
            "media gone.jpg",
        ]
    );
}

#[tokio::test]
async fn sim_routes_exist_only_in_sim_mode() {
    let (app, fake, _d) = setup(false);
    let (s, v) = call(
        &app,
        req(
            "POST",
            "/v1/sim/inbound",
            Some(r#"{"from": "+15550001111", "text": "hi"}"#),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "no_route");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let (app, _fake, _d) = setup(false);
    let (s, v) = call(&app, req("GET", "/v1/openapi.json", None)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        v["openapi"]
    );
    let paths = v["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/readyz",
        "/v1/accounts",
        "/v1/accounts/{id}",
        "/v1/accounts/{id}/resources",
        "/v1/accounts/{id}/login",
        "/v1/accounts/{id}/logout",
        "/v1/accounts/{id}/messages",
        "/v1/accounts/{id}/reactions",
        "/v1/accounts/{id}/polls",
        "/v1/accounts/{id}/read",
        "/v1/accounts/{id}/presence",
        "/v1/pairing/whatsapp",
        "/v1/pairing/whatsapp/approve",
        "/v1/pairing/whatsapp/reject",
        "/v1/access/explain",
        "/v1/allow/whatsapp",
        "/v1/allow/whatsapp/{entry}",
        "/v1/media/{id}",
        "/v1/events",
        "/v1/reload",
        "/metrics",
        "/v1/openapi.json",
        "/v1/sim/inbound",
        "/v1/sim/outbox/{account}",
        "/v1/sim/scan",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert_eq!(
        paths["/v1/accounts/{id}/login"].as_object().unwrap().len(),
        2
    );
    let schemas = &v["components"]["schemas"];
    assert_eq!(schemas["SendMessageRequest"]["required"], json!(["to"]));
    assert!(v["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn resources_route_returns_the_transport_figures() {
    let (app, fake, _d) = setup(false);
    let (s, v) = call(&app, req("GET", "/v1/accounts/default/resources", None)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["account"], "default");
    assert_eq!(v["running"], true);
    assert_eq!(v["resources"]["connected"], true);
    assert_eq!(v["resources"]["bytesReceived"], 4096);
    assert_eq!(v["resources"]["sizes"]["signal_sessions"], 2);
    let (s, v) = call(&app, req("GET", "/v1/accounts/nosuch/resources", None)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = call(&app, req("GET", "/v1/accounts/Bad%20Id/resources", None)).await;
    assert!(s.is_client_error(), "{s} {v}");
    assert_eq!(fake.calls(), ["resources default", "resources nosuch"]);
}
