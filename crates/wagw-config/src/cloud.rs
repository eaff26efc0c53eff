//! The WhatsApp Business Cloud API settings of an account (`cloud`), the `WHATSAPP_*`
//! environment fallbacks and the top-level `env` section.
//!
//! Precedence, key by key: the account's `cloud.<key>`, then `channels.whatsapp.cloud.<key>`,
//! then — for the default account only — the `WHATSAPP_*` variable, read from the process
//! environment first and from the config's `env` section when the process does not set it
//! (the section fills gaps, it never overrides what the operator exported).

use crate::check::Checker;
use crate::de::join_key;
use crate::env::Env;
use crate::error::ProblemKind;
use crate::file::{CloudEntry, EnvSection, Transport};
use crate::settings::{CloudSecret, CloudSettings};

/// `cloud.accessToken`'s fallback.
pub const WHATSAPP_ACCESS_TOKEN: &str = "WHATSAPP_ACCESS_TOKEN";
/// `cloud.phoneNumberId`'s fallback.
pub const WHATSAPP_PHONE_NUMBER_ID: &str = "WHATSAPP_PHONE_NUMBER_ID";
/// `cloud.verifyToken`'s fallback.
pub const WHATSAPP_WEBHOOK_VERIFY_TOKEN: &str = "WHATSAPP_WEBHOOK_VERIFY_TOKEN";
/// `cloud.businessAccountId`'s fallback.
pub const WHATSAPP_BUSINESS_ACCOUNT_ID: &str = "WHATSAPP_BUSINESS_ACCOUNT_ID";
/// `cloud.appSecret`'s fallback.
pub const WHATSAPP_APP_SECRET: &str = "WHATSAPP_APP_SECRET";
/// Meta's Graph API prefix used when `cloud.apiBase` is not set.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v23.0";

/// The environment names wagw reads through the `env` section.
fn read_by_wagw(name: &str) -> bool {
    name.starts_with("WHATSAPP_") || name.starts_with("WAGW_") || name.starts_with("XDG_")
}

/// The environment with the config's `env` section filling the names the process leaves
/// unset. Names wagw never reads are warned about (they do nothing here).
pub(crate) fn overlay(env: &Env, section: Option<&EnvSection>, c: &mut Checker) -> Env {
    let Some(EnvSection(section)) = section else {
        return env.clone();
    };
    let mut extra = Vec::new();
    for (name, value) in section {
        let path = join_key("env", name);
        if name == crate::env::WAGW_CONFIG {
            c.warn(
                &path,
                ProblemKind::Value,
                "WAGW_CONFIG names the config file itself and cannot be set inside it",
            );
        } else if !read_by_wagw(name) {
            c.warn(
                &path,
                ProblemKind::Value,
                format!(
                    "wagw reads only WHATSAPP_*, WAGW_* and XDG_* names; {name} has no effect \
                     (wagw does not export the env section to other programs)"
                ),
            );
        } else if env.get(name).is_none() {
            extra.push((name.clone(), value.clone()));
        }
    }
    env.with_fallbacks(extra)
}

/// Resolves and checks one account's `cloud` settings. `None` unless the account's
/// transport is `cloud`.
pub(crate) fn resolve(
    c: &mut Checker,
    env: &Env,
    channel: Option<&CloudEntry>,
    own: Option<&CloudEntry>,
    account_path: &str,
    is_default: bool,
    transport: Transport,
) -> Option<CloudSettings> {
    let own_path = join_key(account_path, "cloud");
    if transport != Transport::Cloud {
        if own.is_some() {
            c.warn(
                &own_path,
                ProblemKind::Value,
                "ignored: cloud settings apply only with transport: \"cloud\"",
            );
        }
        if is_default && env.get(WHATSAPP_ACCESS_TOKEN).is_some() {
            c.warn(
                &join_key(account_path, "transport"),
                ProblemKind::Value,
                "WHATSAPP_ACCESS_TOKEN is set but this account's transport is not \"cloud\"; set \
                 transport: \"cloud\" to use the WhatsApp Business Cloud API",
            );
        }
        return None;
    }
    let channel_path = "channels.whatsapp.cloud";
    // The value, and the path it was written at (for line:column in problems).
    let pick =
        |get: fn(&CloudEntry) -> Option<&String>, var: Option<&str>| -> Option<(String, String)> {
            let trimmed = |v: &String| Some(v.trim().to_string()).filter(|v| !v.is_empty());
            own.and_then(get)
                .and_then(trimmed)
                .map(|v| (v, own_path.clone()))
                .or_else(|| {
                    channel
                        .and_then(get)
                        .and_then(trimmed)
                        .map(|v| (v, channel_path.to_string()))
                })
                .or_else(|| {
                    let var = var.filter(|_| is_default)?;
                    env.get(var)
                        .map(|v| (v.trim().to_string(), own_path.clone()))
                })
        };
    let token = pick(|e| e.access_token.as_ref(), Some(WHATSAPP_ACCESS_TOKEN));
    let number = pick(
        |e| e.phone_number_id.as_ref(),
        Some(WHATSAPP_PHONE_NUMBER_ID),
    );
    let waba = pick(
        |e| e.business_account_id.as_ref(),
        Some(WHATSAPP_BUSINESS_ACCOUNT_ID),
    );
    let verify = pick(
        |e| e.verify_token.as_ref(),
        Some(WHATSAPP_WEBHOOK_VERIFY_TOKEN),
    );
    let secret = pick(|e| e.app_secret.as_ref(), Some(WHATSAPP_APP_SECRET));
    let api_base = pick(|e| e.api_base.as_ref(), None);
    let env_hint = |var: &str| {
        if is_default {
            format!(" or {var}")
        } else {
            String::new()
        }
    };
    if token.is_none() {
        c.error(
            &join_key(&own_path, "accessToken"),
            ProblemKind::Missing,
            format!(
                "a Cloud API account needs an access token: set cloud.accessToken{} (Meta's \
                 dashboard → WhatsApp → API Setup; a System User token does not expire)",
                env_hint(WHATSAPP_ACCESS_TOKEN)
            ),
        );
    }
    match &number {
        None => c.error(
            &join_key(&own_path, "phoneNumberId"),
            ProblemKind::Missing,
            format!(
                "a Cloud API account needs its phone number id: set cloud.phoneNumberId{} (Meta's \
                 dashboard → WhatsApp → API Setup shows it under the number)",
                env_hint(WHATSAPP_PHONE_NUMBER_ID)
            ),
        ),
        Some((v, at)) if !v.chars().all(|ch| ch.is_ascii_digit()) => c.error(
            &join_key(at, "phoneNumberId"),
            ProblemKind::Value,
            format!(
                "{v:?} is not a phone number id: Meta's ids are digits only (the id, not the \
                 phone number itself)"
            ),
        ),
        Some(_) => {}
    }
    if verify.is_none() {
        c.warn(
            &join_key(&own_path, "verifyToken"),
            ProblemKind::Missing,
            format!(
                "no cloud.verifyToken{}: Meta cannot verify the webhook URL, so no inbound \
                 messages will arrive (sending still works)",
                env_hint(WHATSAPP_WEBHOOK_VERIFY_TOKEN)
            ),
        );
    }
    if secret.is_none() {
        c.warn(
            &join_key(&own_path, "appSecret"),
            ProblemKind::Missing,
            format!(
                "no cloud.appSecret{}: webhooks are accepted without checking their \
                 X-Hub-Signature-256, so anyone who knows the URL can inject messages; set it \
                 (Meta's dashboard → App settings → Basic → App secret)",
                env_hint(WHATSAPP_APP_SECRET)
            ),
        );
    }
    let api_base = match api_base {
        Some((v, at)) => {
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                c.error(
                    &join_key(&at, "apiBase"),
                    ProblemKind::Value,
                    format!(
                        "{v:?} is not an http(s) URL; the Graph prefix with its version, e.g. \
                         {DEFAULT_API_BASE}"
                    ),
                );
            }
            v.trim_end_matches('/').to_string()
        }
        None => DEFAULT_API_BASE.to_string(),
    };
    Some(CloudSettings {
        access_token: CloudSecret::new(token.map(|t| t.0).unwrap_or_default()),
        phone_number_id: number.map(|n| n.0).unwrap_or_default(),
        business_account_id: waba.map(|w| w.0),
        verify_token: verify.map(|v| CloudSecret::new(v.0)),
        app_secret: secret.map(|s| CloudSecret::new(s.0)),
        api_base,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::{Config, Env, Transport};

    fn env(extra: &[(&str, &str)]) -> Env {
        let mut pairs = vec![("WAGW_DATA_DIR", "/data"), ("HOME", "/h")];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    #[test]
    fn account_keys_win_then_channel_then_environment() {
        let c = Config::from_json5_str(
            r#"{ channels: { whatsapp: {
                cloud: { appSecret: "chan-secret", apiBase: "http://127.0.0.1:9/v23.0/" },
                accounts: {
                    default: { transport: "cloud", cloud: { accessToken: "acct-token" } },
                    other: { transport: "cloud", cloud: { accessToken: "t2", phoneNumberId: "222", verifyToken: "v2" } },
                },
            } } }"#,
            &env(&[
                ("WHATSAPP_ACCESS_TOKEN", "env-token"),
                ("WHATSAPP_PHONE_NUMBER_ID", "111"),
                ("WHATSAPP_WEBHOOK_VERIFY_TOKEN", "env-verify"),
            ]),
        )
        .unwrap();
        let d = c.default_account();
        assert_eq!(d.transport, Transport::Cloud);
        let cloud = d.cloud.as_ref().unwrap();
        assert_eq!(cloud.access_token.expose(), "acct-token");
        assert_eq!(cloud.phone_number_id, "111");
        assert_eq!(cloud.verify_token.as_ref().unwrap().expose(), "env-verify");
        assert_eq!(cloud.app_secret.as_ref().unwrap().expose(), "chan-secret");
        assert_eq!(cloud.api_base, "http://127.0.0.1:9/v23.0");
        // The environment is the default account's fallback only.
        let other = c
            .accounts()
            .iter()
            .find(|a| a.account_id.as_str() == "other")
            .unwrap();
        assert_eq!(other.cloud.as_ref().unwrap().phone_number_id, "222");
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    }

    #[test]
    fn env_section_fills_what_the_process_does_not_set() {
        let text = r#"{
            env: { WHATSAPP_ACCESS_TOKEN: "from-file", WHATSAPP_PHONE_NUMBER_ID: "123",
                   WHATSAPP_WEBHOOK_VERIFY_TOKEN: "v", WHATSAPP_APP_SECRET: "s", OPENAI_API_KEY: "x" },
            channels: { whatsapp: { transport: "cloud" } },
        }"#;
        let c = Config::from_json5_str(text, &env(&[])).unwrap();
        let cloud = c.default_account().cloud.clone().unwrap();
        assert_eq!(cloud.access_token.expose(), "from-file");
        assert_eq!(cloud.api_base, super::DEFAULT_API_BASE);
        let warned: Vec<&str> = c.warnings().iter().map(|w| w.path.as_str()).collect();
        assert_eq!(warned, ["env.OPENAI_API_KEY"]);
        // The process environment wins over the section.
        let c =
            Config::from_json5_str(text, &env(&[("WHATSAPP_ACCESS_TOKEN", "exported")])).unwrap();
        assert_eq!(
            c.default_account()
                .cloud
                .as_ref()
                .unwrap()
                .access_token
                .expose(),
            "exported"
        );
    }

    #[test]
    fn check_requires_token_and_number_and_warns_without_secrets() {
        let err = Config::from_json5_str(
            "{ channels: { whatsapp: { accounts: { biz: { transport: 'cloud' } } } } }",
            &env(&[]),
        )
        .unwrap_err();
        let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "channels.whatsapp.accounts.biz.cloud.accessToken",
                "channels.whatsapp.accounts.biz.cloud.phoneNumberId"
            ]
        );
        assert!(
            err.to_string()
                .contains("a Cloud API account needs an access token")
        );
        let c = Config::from_json5_str(
            "{ channels: { whatsapp: { accounts: { biz: { transport: 'cloud', cloud: { accessToken: 'EAAG-secret', phoneNumberId: '42' } } } } } }",
            &env(&[]),
        )
        .unwrap();
        let warned: Vec<String> = c.warnings().iter().map(|w| w.to_string()).collect();
        assert_eq!(warned.len(), 2, "{warned:?}");
        assert!(warned[0].contains("verifyToken") && warned[1].contains("X-Hub-Signature-256"));
        let bad = Config::from_json5_str(
            "{ channels: { whatsapp: { transport: 'cloud', cloud: { accessToken: 't', phoneNumberId: '+1 555 0100', apiBase: 'graph.facebook.com' } } } }",
            &env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains("not a phone number id") && bad.contains("not an http(s) URL"),
            "{bad}"
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::from_json5_str(
            "{ channels: { whatsapp: { transport: 'cloud', cloud: { accessToken: 'EAAG-secret', phoneNumberId: '42', verifyToken: 'vt-secret', appSecret: 'app-secret' } } } }",
            &env(&[]),
        )
        .unwrap();
        let json = serde_json::to_string(&c).unwrap();
        let debug = format!("{c:?}");
        for secret in ["EAAG-secret", "vt-secret", "app-secret"] {
            assert!(
                !json.contains(secret) && !debug.contains(secret),
                "{secret} printed"
            );
        }
        assert!(json.contains("\"phoneNumberId\":\"42\""));
    }

    #[test]
    fn a_token_in_the_environment_without_cloud_transport_is_pointed_out() {
        let c = Config::from_json5_str("{}", &env(&[("WHATSAPP_ACCESS_TOKEN", "t")])).unwrap();
        assert!(c.warnings()[0].message.contains("transport: \"cloud\""));
        assert!(c.default_account().cloud.is_none());
    }
}
