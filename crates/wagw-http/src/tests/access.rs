//! The access routes: explain and the allow-store, validated with the field named.

use axum::http::StatusCode;
use serde_json::json;

use super::{call, req, setup};

#[tokio::test]
async fn explain_reaches_the_gateway_validated() {
    let (app, fake, _d) = setup(false);
    let body = json!({"from": "+1 555 000 1111", "account": "work", "group": "120363012345678901@g.us", "mentioned": true});
    let (s, v) = call(
        &app,
        req("POST", "/v1/access/explain", Some(&body.to_string())),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["decision"], "drop");
    assert_eq!(v["rule"], "channels.whatsapp.allowFrom");
    assert_eq!(v["account"], "work");
    assert!(v.get("markRead").is_none(), "{v}");
    let calls = fake.calls();
    assert_eq!(
        calls.last().unwrap(),
        "explain Some(AccountId(work)) +1 555 000 1111 group=Some(\"120363012345678901@g.us\") mentioned=true"
    );

    let rows = [
        (json!({}), "from"),
        (json!({"from": "bob"}), "from"),
        (
            json!({"from": "+15550001111", "group": "15550001111@s.whatsapp.net"}),
            "group",
        ),
        (
            json!({"from": "+15550001111", "account": "Bad Id!"}),
            "account",
        ),
        (
            json!({"from": "+15550001111", "mentioned": "yes"}),
            "mentioned",
        ),
        (json!({"from": "+15550001111", "bogus": 1}), "bogus"),
    ];
    let before = fake.calls().len();
    for (body, field) in rows {
        let (s, v) = call(
            &app,
            req("POST", "/v1/access/explain", Some(&body.to_string())),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    assert_eq!(fake.calls().len(), before, "nothing reached the gateway");
}

#[tokio::test]
async fn allow_routes_normalize_entries_and_refuse_the_wildcard() {
    let (app, fake, _d) = setup(false);
    let (s, v) = call(&app, req("GET", "/v1/allow/whatsapp?account=work", None)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["entries"][0]["entry"], "+15550001111");
    assert_eq!(v["entries"][0]["addedAtMs"], 1);

    let body = json!({"entry": "1 (555) 000-2222"}).to_string();
    let (s, v) = call(&app, req("POST", "/v1/allow/whatsapp", Some(&body))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"account": "default", "entry": "+15550002222", "changed": true})
    );

    let (s, v) = call(
        &app,
        req(
            "DELETE",
            "/v1/allow/whatsapp/123456789%40lid?account=work",
            None,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["entry"], "123456789@lid");
    assert_eq!(
        fake.calls(),
        vec![
            "allow_list Some(AccountId(work))",
            "allow_add None +15550002222",
            "allow_remove Some(AccountId(work)) 123456789@lid",
        ]
    );

    for (method, uri, body) in [
        ("POST", "/v1/allow/whatsapp", Some(json!({"entry": " * "}))),
        ("POST", "/v1/allow/whatsapp", Some(json!({"entry": "bob"}))),
        ("POST", "/v1/allow/whatsapp", Some(json!({}))),
        ("DELETE", "/v1/allow/whatsapp/%2A", None),
    ] {
        let body = body.map(|b| b.to_string());
        let (s, v) = call(&app, req(method, uri, body.as_deref())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri} {body:?}: {v}");
        assert_eq!(v["error"]["field"], "entry", "{v}");
    }
    assert_eq!(fake.calls().len(), 3, "refused requests reach nothing");
}
