//! `/v1/sim/*`: a simulated person writes to an account; what an account sent.

use wagw_core::{AccountId, MessageKey};
use wagw_sim::SimNetwork;

use wagw_http::api::SimMessage;
use wagw_http::error::ApiError;
use wagw_http::model::SimInjected;

fn sim_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::invalid("from", format!("the simulator refused the message: {e}"))
}

/// Injects `m` on `net` for `account` (already resolved to a configured account).
pub async fn inbound(
    net: &SimNetwork,
    account: &AccountId,
    m: SimMessage,
) -> Result<SimInjected, ApiError> {
    let socket = net.socket(account).ok_or_else(|| ApiError::NotFound {
        code: "sim_account",
        message: format!(
            "account {account} does not run on the simulator (start with `wagw gateway --sim`)"
        ),
    })?;
    let phone = net.try_phone(&m.from.to_string()).map_err(sim_error)?;
    let phone = match &m.name {
        Some(n) => phone.named(n),
        None => phone,
    };
    let mut builder = match &m.group {
        Some(jid) => {
            let group = net.find_group(jid).ok_or_else(|| ApiError::NotFound {
                code: "sim_group",
                message: format!(
                    "group: {jid} does not exist on the simulator; send to a DM instead, or use a group the simulator created"
                ),
            })?;
            phone.message_in(&group)
        }
        None => phone.message_to(&socket),
    };
    if let Some(text) = &m.text {
        builder = builder.text(text);
    }
    if let Some(quote) = &m.quote {
        let key = net.key_for(&socket, quote).unwrap_or_else(|| MessageKey {
            chat: socket_chat(&m, &phone),
            id: quote.clone(),
            from_me: false,
            participant: None,
        });
        builder = builder.quote(&key);
    }
    for jid in &m.mentions {
        builder = builder.mention_jid(jid.clone());
    }
    let key = builder.try_send().await.map_err(sim_error)?;
    Ok(SimInjected {
        message_id: key.id.as_str().to_owned(),
    })
}

fn socket_chat(m: &SimMessage, phone: &wagw_sim::SimPhone) -> wagw_core::Jid {
    m.group.clone().unwrap_or_else(|| phone.jid())
}

/// What `account` sent on the simulated network, oldest first, as JSON.
pub fn outbox(net: &SimNetwork, account: &AccountId) -> Result<Vec<serde_json::Value>, ApiError> {
    if net.socket(account).is_none() {
        return Err(ApiError::unknown_account(account.as_str()));
    }
    net.sent_by(account)
        .iter()
        .map(|e| serde_json::to_value(e).map_err(|e| ApiError::Internal(e.to_string())))
        .collect()
}

/// Applies `fault` to `account` on the simulator.
pub fn fault(
    net: &SimNetwork,
    account: &AccountId,
    fault: wagw_sim::SimFault,
) -> Result<wagw_http::sim_fault::SimFaultApplied, ApiError> {
    let kind = serde_json::to_value(&fault)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_default();
    if net.socket(account).is_none() {
        return Err(ApiError::NotFound {
            code: "sim_account",
            message: format!(
                "account {account} does not run on the simulator (start with `wagw gateway --sim`)"
            ),
        });
    }
    net.apply_fault(account, fault)
        .map_err(|e| ApiError::invalid("fault", format!("fault: {e}")))?;
    Ok(wagw_http::sim_fault::SimFaultApplied {
        account: account.to_string(),
        kind,
    })
}

/// A simulated phone scans the QR `account` shows (`phone`, or the account's own simulated
/// number `own`): linking completes as it would on WhatsApp.
pub async fn scan(
    net: &SimNetwork,
    account: &AccountId,
    phone: Option<wagw_core::Phone>,
    code: Option<&str>,
    own: &str,
) -> Result<wagw_http::sim_scan::SimScanned, ApiError> {
    let socket = net.socket(account).ok_or_else(|| ApiError::NotFound {
        code: "sim_account",
        message: format!(
            "account {account} does not run on the simulator (start with `wagw gateway --sim`)"
        ),
    })?;
    let number = phone
        .map(|p| p.to_string())
        .unwrap_or_else(|| own.to_owned());
    let field = |e: wagw_sim::SimError| ApiError::invalid("phone", format!("phone: {e}"));
    let scanner = net.try_phone(&number).map_err(field)?;
    let done = match code {
        Some(code) => net.enter_pair_code(&socket, &scanner, code).await,
        None => net.scan(&socket, &scanner).await,
    };
    match done {
        Ok(()) => Ok(wagw_http::sim_scan::SimScanned {
            account: account.to_string(),
            phone: number.clone(),
            message: match code {
                Some(_) => {
                    format!("{number} typed the pair code of account {account}; it is linking now.")
                }
                None => {
                    format!("{number} scanned the QR of account {account}; it is linking now.")
                }
            },
        }),
        Err(wagw_sim::SimError::WrongPairCode { .. }) => Err(ApiError::invalid(
            "code",
            format!("code: not the pair code account {account} shows"),
        )),
        Err(wagw_sim::SimError::AlreadyLinked(_)) => Err(ApiError::Conflict {
            code: "already_linked",
            message: format!(
                "account {account} is already linked: unlink it first (POST /v1/accounts/{account}/logout)"
            ),
        }),
        Err(wagw_sim::SimError::NotLinking(_)) => Err(ApiError::Conflict {
            code: "sim_not_linking",
            message: match code {
                Some(_) => format!(
                    "account {account} requested no pair code: start one first (`wagw channels login --account {account} --phone {number}`)"
                ),
                None => format!(
                    "account {account} shows no QR to scan: start a login first (POST /v1/accounts/{account}/login)"
                ),
            },
        }),
        Err(e) => Err(field(e)),
    }
}
