//! Linking and session lifecycle: QR codes (with their expiry), pair codes by phone number,
//! the passkey flow, and how WhatsApp's session-ending events map to [`CloseReason`].

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{info, warn};
use wagw_core::{CloseReason, OwnIdentity, Phone, SocketError, SocketEvent};
use whatsapp_rust::Client;
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::passkey::Assertion;
use whatsapp_rust::wacore::types::events::{ConnectFailureReason, Event};

use crate::connection::ConnShared;
use crate::ids;

/// How long WhatsApp keeps a passkey verification code valid (the pair-code lifetime).
const PASSKEY_CODE_TTL: Duration = Duration::from_secs(180);

/// Who the client is linked as, if it has a phone identity.
pub(crate) fn identity_of_client(client: &Client) -> Option<OwnIdentity> {
    let phone = client.pn().as_ref().and_then(ids::from_wa)?.to_phone()?;
    let lid = client
        .lid()
        .as_ref()
        .and_then(ids::from_wa)
        .and_then(|j| j.to_lid());
    let push = client.push_name();
    Some(OwnIdentity {
        phone,
        lid,
        push_name: (!push.is_empty()).then_some(push),
    })
}

/// The identity a stored device is linked as.
pub(crate) fn identity_of_device(
    device: &whatsapp_rust::wacore::store::Device,
) -> Option<OwnIdentity> {
    let phone = device.pn.as_ref().and_then(ids::from_wa)?.to_phone()?;
    Some(OwnIdentity {
        phone,
        lid: device
            .lid
            .as_ref()
            .and_then(ids::from_wa)
            .and_then(|j| j.to_lid()),
        push_name: (!device.push_name.is_empty()).then(|| device.push_name.clone()),
    })
}

fn failure_code(reason: &ConnectFailureReason) -> u16 {
    u16::try_from(reason.code()).unwrap_or(0)
}

/// The close reason an event announces, for events that end the session.
pub(crate) fn close_reason_of(event: &Event) -> Option<CloseReason> {
    match event {
        Event::LoggedOut(l) => {
            if l.reason == ConnectFailureReason::AccountLocked {
                // 403: the account is locked or banned for a while; the stanza may carry
                // how long (seconds).
                let expire = l
                    .raw
                    .as_ref()
                    .and_then(|n| n.attrs().optional_u64("expire"))
                    .and_then(|s| i64::try_from(s).ok());
                return Some(CloseReason::TemporaryBan {
                    code: 403,
                    expires_at_ms: expire.map(|s| now_ms() + s * 1000),
                });
            }
            let mut detail = format!(
                "WhatsApp ended this linked session ({:?}{})",
                l.reason,
                if l.on_connect { ", at login" } else { "" }
            );
            if let Some(m) = &l.logout_message
                && let Some(h) = &m.header
            {
                detail.push_str(": ");
                detail.push_str(h);
            }
            Some(CloseReason::LoggedOut { detail })
        }
        Event::StreamReplaced(_) => Some(CloseReason::SessionConflict {
            detail: "another client connected with this session (conflict replaced)".into(),
        }),
        Event::TemporaryBan(b) => {
            warn!(target: "wagw::reconnect", reason = %b.code, expire_secs = b.expire.num_seconds(),
                "WhatsApp temporarily banned this account");
            Some(CloseReason::TemporaryBan {
                code: 402,
                expires_at_ms: Some(now_ms() + b.expire.num_milliseconds()),
            })
        }
        Event::ClientOutdated(_) => Some(CloseReason::ClientOutdated),
        Event::ConnectFailure(f) => {
            let code = failure_code(&f.reason);
            let detail = format!(
                "WhatsApp refused the login ({:?}{}{})",
                f.reason,
                if f.message.is_some() { ": " } else { "" },
                f.message.as_deref().unwrap_or("")
            );
            if f.reason.should_reconnect() {
                Some(CloseReason::StreamError { code, detail })
            } else {
                Some(CloseReason::ConnectFailed { detail })
            }
        }
        Event::PairError(p) => Some(CloseReason::LinkingFailed {
            detail: format!("pairing failed: {}", p.error),
        }),
        Event::PairingQrCodesExhausted(_) => Some(CloseReason::LinkingFailed {
            detail: "the QR codes expired without being scanned; start linking again".into(),
        }),
        _ => None,
    }
}

fn now_ms() -> i64 {
    whatsapp_rust::wacore::time::now_millis()
}

/// Emits the linking events (QR, pair code, passkey, paired).
pub(crate) fn forward_login_event(s: &Arc<ConnShared>, event: &Event) {
    match event {
        Event::PairingQrCode(q) => s.emit(SocketEvent::QrCode {
            code: q.code.clone(),
            expires_in: q.timeout,
        }),
        Event::PairingQrCodesExhausted(_) => s.emit(SocketEvent::QrCodesExhausted),
        Event::PairingCode(p) => s.emit(SocketEvent::PairCode {
            code: p.code.clone(),
            expires_in: p.timeout,
        }),
        Event::PairingCodeError(e) => {
            let mut detail = e.error.clone();
            if let Some(r) = &e.rejection {
                detail = format!(
                    "{detail} ({r:?}{})",
                    if r.is_throttled() { ", throttled" } else { "" }
                );
            }
            if let Some(b) = e.backoff {
                detail = format!("{detail}; wait {}s before asking again", b.as_secs());
            }
            s.emit(SocketEvent::PairCodeError { detail });
        }
        Event::PairingCodeRefresh(r) => s.emit(SocketEvent::PairCodeError {
            detail: if r.force_manual {
                "the pair code expired; request a new one by phone number".into()
            } else {
                "the pair code expired; request a new one".into()
            },
        }),
        Event::QrScannedWithoutMultidevice(_) => s.emit(SocketEvent::PairCodeError {
            detail: "the phone that scanned the QR code cannot link devices (update WhatsApp)"
                .into(),
        }),
        Event::PairPasskeyRequest(p) => s.emit(SocketEvent::PasskeyRequired {
            options_json: p.request_options_json.clone(),
        }),
        Event::PairPasskeyConfirmation(c) => {
            if c.skip_handoff_ux {
                // Continuity was proven by the handoff: no code to compare, finish now.
                if let Some(client) = s.client() {
                    let shared = s.clone();
                    tokio::spawn(async move {
                        if let Err(e) = client.send_passkey_confirmation().await {
                            shared.emit(SocketEvent::PasskeyError {
                                detail: format!("confirming the passkey link failed: {e}"),
                            });
                        }
                    });
                }
            } else {
                s.passkey_confirmation_pending.store(true, Ordering::SeqCst);
                s.emit(SocketEvent::PasskeyConfirmation {
                    code: c.code.clone(),
                    expires_in: PASSKEY_CODE_TTL,
                });
            }
        }
        Event::PairPasskeyError(e) => s.emit(SocketEvent::PasskeyError {
            detail: format!(
                "{}{}",
                e.error,
                if e.continuation {
                    " (at verification)"
                } else {
                    ""
                }
            ),
        }),
        Event::PairSuccess(p) => {
            let identity =
                ids::from_wa(&p.id)
                    .and_then(|j| j.to_phone())
                    .map(|phone| OwnIdentity {
                        phone,
                        lid: ids::from_wa(&p.lid).and_then(|j| j.to_lid()),
                        push_name: None,
                    });
            match identity {
                Some(identity) => {
                    info!(target: "wagw::socket", account = %s.account, "linked to a phone");
                    *s.identity.write().unwrap_or_else(|p| p.into_inner()) = Some(identity.clone());
                    s.emit(SocketEvent::Paired { identity });
                }
                None => {
                    warn!(target: "wagw::socket", account = %s.account, "paired, but the id is not a phone JID")
                }
            }
        }
        _ => {}
    }
}

/// Requests a pair code for `phone` (unlinked device, socket up).
pub(crate) async fn request_pair_code(
    client: &Arc<Client>,
    phone: &Phone,
) -> Result<String, SocketError> {
    if client.pn().is_some() || client.is_logged_in() {
        return Err(SocketError::AlreadyLinked);
    }
    client
        .wait_for_socket(Duration::from_secs(20))
        .await
        .map_err(|e| SocketError::Interrupted(e.to_string()))?;
    let options = PairCodeOptions {
        phone_number: phone.digits().to_string(),
        ..PairCodeOptions::default()
    };
    client
        .pair_with_code(options)
        .await
        .map_err(|e| SocketError::Rejected {
            code: 0,
            detail: format!("pair code request failed: {e}"),
        })
}

/// Sends an authenticator's WebAuthn assertion (the JSON `navigator.credentials.get`
/// returns) to continue a passkey link. A refusal also goes out as
/// [`SocketEvent::PasskeyError`], so whoever follows the events sees it.
pub(crate) async fn submit_passkey_assertion(
    client: &Client,
    shared: &ConnShared,
    assertion_json: &str,
) -> Result<(), SocketError> {
    let credential_id = credential_id_of(assertion_json)?;
    client
        .send_passkey_response(Assertion {
            assertion_json: assertion_json.as_bytes().to_vec(),
            credential_id,
        })
        .await
        .map_err(|e| passkey_refused(shared, format!("passkey assertion rejected: {e}")))
}

fn passkey_refused(shared: &ConnShared, detail: String) -> SocketError {
    shared.emit(SocketEvent::PasskeyError {
        detail: detail.clone(),
    });
    SocketError::Rejected { code: 0, detail }
}

/// Finishes a passkey link after the operator checked that the code of
/// [`SocketEvent::PasskeyConfirmation`] matches the phone's. Refused when no link waits
/// for confirmation, so a stray call cannot send a confirmation WhatsApp did not ask for.
pub(crate) async fn confirm_passkey(
    client: &Client,
    shared: &ConnShared,
) -> Result<(), SocketError> {
    if !shared
        .passkey_confirmation_pending
        .swap(false, Ordering::SeqCst)
    {
        return Err(SocketError::InvalidRequest(
            "no passkey link is waiting for confirmation".into(),
        ));
    }
    client
        .send_passkey_confirmation()
        .await
        .map_err(|e| passkey_refused(shared, format!("passkey confirmation failed: {e}")))
}

/// The credential id (`rawId`, base64url) of a WebAuthn assertion JSON.
pub(crate) fn credential_id_of(assertion_json: &str) -> Result<Vec<u8>, SocketError> {
    use base64::Engine as _;
    let v: serde_json::Value = serde_json::from_str(assertion_json)
        .map_err(|e| SocketError::InvalidRequest(format!("the assertion is not JSON: {e}")))?;
    let raw = v
        .get("rawId")
        .or_else(|| v.get("id"))
        .and_then(|x| x.as_str())
        .ok_or_else(|| SocketError::InvalidRequest("the assertion has no rawId".into()))?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .map_err(|e| SocketError::InvalidRequest(format!("rawId is not base64url: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_id_reads_raw_id() -> Result<(), SocketError> {
        let id =
            credential_id_of(r#"{"id":"AQID","rawId":"AQID","type":"public-key","response":{}}"#)?;
        assert_eq!(id, vec![1, 2, 3]);
        assert!(credential_id_of("{}").is_err());
        assert!(credential_id_of("not json").is_err());
        Ok(())
    }
}
