//! Linking an unlinked account: QR codes on WhatsApp's cadence (first valid 60 s, then 20 s
//! each, then give up), pair codes, the phone's scan, and the optional passkey step.

use serde_json::Value;
use tokio::task::AbortHandle;
use wagw_core::{AccountId, CloseReason, Phone, SocketError, SocketEvent};

use crate::error::SimError;
use crate::ids;
use crate::network::{AsAccountId, SimNetwork};
use crate::phone::SimPhone;
use crate::state::{Conn, Linking, NetState, Phase};

/// The linking connection of an account, if `conn_id` is still it.
fn linking_conn<'a>(
    st: &'a mut NetState,
    account: &AccountId,
    conn_id: Option<u64>,
) -> Option<&'a mut Conn> {
    let conn = st.accounts.get_mut(account)?.conn.as_mut()?;
    if conn_id.is_some_and(|id| id != conn.id) {
        return None;
    }
    matches!(conn.phase, Phase::Linking(_)).then_some(conn)
}

fn linking_state(conn: &mut Conn) -> Option<&mut Linking> {
    match &mut conn.phase {
        Phase::Linking(l) => Some(l),
        Phase::Up => None,
    }
}

/// Shows QR codes until scanned, then gives up: `QrCodesExhausted`, `Closed(LinkingFailed)`.
pub(crate) fn spawn_qr_loop(net: &SimNetwork, account: AccountId, conn_id: u64) -> AbortHandle {
    let net = net.clone();
    tokio::spawn(async move {
        let (count, first, next) = {
            let c = &net.lock().config;
            (c.qr_codes, c.first_qr_ttl, c.next_qr_ttl)
        };
        let started = tokio::time::Instant::now();
        for i in 0..count {
            let ttl = if i == 0 { first } else { next };
            let expire = {
                let mut st = net.lock();
                let code = ids::qr_code(&mut st.rng);
                let Some(conn) = linking_conn(&mut st, &account, Some(conn_id)) else {
                    return;
                };
                conn.emit(SocketEvent::QrCode {
                    code,
                    expires_in: ttl,
                });
                let Some(l) = linking_state(conn) else { return };
                l.qr_shown = true;
                l.expire_qr.clone()
            };
            // Its lifetime, or less when the code is expired early.
            let _ = tokio::time::timeout(ttl, expire.notified()).await;
        }
        let mut st = net.lock();
        let Some(conn) = linking_conn(&mut st, &account, Some(conn_id)) else {
            return;
        };
        conn.emit(SocketEvent::QrCodesExhausted);
        if let Some(acct) = st.accounts.get_mut(&account) {
            acct.close(CloseReason::LinkingFailed {
                detail: format!(
                    "no QR code was scanned within {}s",
                    started.elapsed().as_secs()
                ),
            });
        }
    })
    .abort_handle()
}

/// `WaSocket::request_pair_code`.
pub(crate) fn request_pair_code(
    net: &SimNetwork,
    account: &AccountId,
    phone: &Phone,
) -> Result<String, SocketError> {
    let now = net.now_ms();
    let mut st = net.lock();
    let ttl = st.config.pair_code_ttl;
    let known = st.by_phone.contains_key(phone);
    let code = ids::pair_code(&mut st.rng);
    let acct = st
        .accounts
        .get_mut(account)
        .ok_or(SocketError::NotConnected)?;
    let fail = acct.faults.fail_pair_code.take();
    let conn = acct.conn.as_mut().ok_or(SocketError::NotConnected)?;
    let Some(linking) = linking_state(conn) else {
        return Err(SocketError::AlreadyLinked);
    };
    let error = match fail {
        Some(detail) => Some(SocketError::Rejected { code: 429, detail }),
        None if !known => Some(SocketError::NotFound(format!("{phone} is not on WhatsApp"))),
        None => None,
    };
    if let Some(e) = error {
        conn.emit(SocketEvent::PairCodeError {
            detail: e.to_string(),
        });
        return Err(e);
    }
    linking.pair = Some((
        phone.clone(),
        code.clone(),
        now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)),
    ));
    conn.emit(SocketEvent::PairCode {
        code: code.clone(),
        expires_in: ttl,
    });
    Ok(code)
}

/// `WaSocket::submit_passkey_assertion`.
pub(crate) fn submit_passkey(
    net: &SimNetwork,
    account: &AccountId,
    assertion_json: &str,
) -> Result<(), SocketError> {
    {
        let mut st = net.lock();
        let acct = st
            .accounts
            .get_mut(account)
            .ok_or(SocketError::NotConnected)?;
        let conn = acct.conn.as_mut().ok_or(SocketError::NotConnected)?;
        let Some(linking) = linking_state(conn) else {
            return Err(SocketError::AlreadyLinked);
        };
        let Some((peer, challenge)) = linking.passkey.clone() else {
            return Err(SocketError::InvalidRequest(
                "no passkey step is in progress".into(),
            ));
        };
        let answered = serde_json::from_str::<Value>(assertion_json)
            .ok()
            .and_then(|v| answered_challenge(&v))
            .map(|c| c == challenge);
        let confirm = acct.faults.require_passkey_confirmation;
        match answered {
            Some(true) if confirm => {
                // The phone shows a verification code; linking waits for the operator.
                let code = ids::pair_code(&mut st.rng);
                let ttl = st.config.pair_code_ttl;
                let Some(conn) = linking_conn(&mut st, account, None) else {
                    return Err(SocketError::NotConnected);
                };
                if let Some(l) = linking_state(conn) {
                    l.passkey = None;
                    l.passkey_confirm = Some((peer, code.clone()));
                }
                conn.emit(SocketEvent::PasskeyConfirmation {
                    code,
                    expires_in: ttl,
                });
            }
            Some(true) => complete_link(&mut st, account, peer),
            Some(false) | None => {
                let detail = if answered.is_none() {
                    "the assertion carries no challenge (neither a \"challenge\" field nor response.clientDataJSON)"
                } else {
                    "the assertion does not answer the challenge"
                };
                conn.emit(SocketEvent::PasskeyError {
                    detail: detail.into(),
                });
                return Err(SocketError::Rejected {
                    code: 401,
                    detail: detail.into(),
                });
            }
        }
    }
    Ok(())
}

/// The challenge an assertion answers: a top-level `challenge` (what
/// [`SimNetwork::passkey_assertion`] builds), or the one in `response.clientDataJSON`
/// (base64url JSON), where a WebAuthn authenticator puts it.
fn answered_challenge(assertion: &Value) -> Option<String> {
    use base64::Engine as _;
    if let Some(c) = assertion.get("challenge").and_then(Value::as_str) {
        return Some(c.to_owned());
    }
    let client_data = assertion.get("response")?.get("clientDataJSON")?.as_str()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(client_data.trim_end_matches('='))
        .ok()?;
    let client_data: Value = serde_json::from_slice(&bytes).ok()?;
    client_data
        .get("challenge")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `WaSocket::confirm_passkey`: the operator confirmed the verification code.
pub(crate) fn confirm_passkey(net: &SimNetwork, account: &AccountId) -> Result<(), SocketError> {
    let mut st = net.lock();
    let acct = st
        .accounts
        .get_mut(account)
        .ok_or(SocketError::NotConnected)?;
    let conn = acct.conn.as_mut().ok_or(SocketError::NotConnected)?;
    let Some(linking) = linking_state(conn) else {
        return Err(SocketError::AlreadyLinked);
    };
    let Some((peer, _)) = linking.passkey_confirm.take() else {
        return Err(SocketError::InvalidRequest(
            "no passkey link is waiting for confirmation".into(),
        ));
    };
    complete_link(&mut st, account, peer);
    Ok(())
}

/// Links the account to `peer` on its linking connection: `Paired`, then `Connected`, the
/// backlog and `OfflineSyncCompleted`.
fn complete_link(st: &mut NetState, account: &AccountId, peer: usize) {
    let identity = st.identity_of(peer);
    let Some(acct) = st.accounts.get_mut(account) else {
        return;
    };
    let (Some(conn), Some(identity)) = (acct.conn.as_mut(), identity) else {
        return;
    };
    for t in conn.tasks.drain(..) {
        t.abort();
    }
    conn.phase = Phase::Up;
    conn.emit(SocketEvent::Paired { identity });
    acct.owner = Some(peer);
    tracing::info!(target: "wagw::sim", account = %account, "linked");
    st.go_live(account);
}

/// After a scan or a typed pair code: the passkey step if required, else link.
fn scanned(net: &SimNetwork, st: &mut NetState, account: &AccountId, peer: usize) {
    let require = st
        .accounts
        .get(account)
        .is_some_and(|a| a.faults.require_passkey);
    if !require {
        complete_link(st, account, peer);
        return;
    }
    let challenge = ids::hex(&ids::bytes(&mut st.rng, 16));
    let timeout = st.config.passkey_timeout;
    let Some(conn) = linking_conn(st, account, None) else {
        return;
    };
    for t in conn.tasks.drain(..) {
        t.abort();
    }
    if let Some(l) = linking_state(conn) {
        l.passkey = Some((peer, challenge.clone()));
    }
    let options = serde_json::json!({
        "challenge": challenge,
        "rpId": "web.whatsapp.com",
        "timeout": timeout.as_millis() as u64,
        "userVerification": "preferred",
    });
    conn.emit(SocketEvent::PasskeyRequired {
        options_json: options.to_string(),
    });
    let conn_id = conn.id;
    let net2 = net.clone();
    let account2 = account.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        let mut st = net2.lock();
        let Some(conn) = linking_conn(&mut st, &account2, Some(conn_id)) else {
            return;
        };
        conn.emit(SocketEvent::PasskeyError {
            detail: "passkey step timed out".into(),
        });
        if let Some(acct) = st.accounts.get_mut(&account2) {
            acct.close(CloseReason::LinkingFailed {
                detail: "passkey step timed out".into(),
            });
        }
    })
    .abort_handle();
    conn.tasks.push(task);
}

impl SimNetwork {
    /// The phone scans the QR code the account is showing: linking completes (`Paired`, then
    /// `Connected`), or the passkey step starts when [`require_passkey`](Self::require_passkey)
    /// is set.
    pub async fn scan(
        &self,
        account: &(impl AsAccountId + ?Sized),
        phone: &SimPhone,
    ) -> Result<(), SimError> {
        let id = account.account_id();
        if phone.phone().is_none() {
            return Err(SimError::Invalid(
                "a LID-only contact cannot link an account".into(),
            ));
        }
        {
            let mut st = self.lock();
            let acct = st.account(id)?;
            if acct.owner.is_some() {
                return Err(SimError::AlreadyLinked(id.clone()));
            }
            let shown = linking_conn(&mut st, id, None)
                .and_then(linking_state)
                .is_some_and(|l| l.qr_shown && l.passkey.is_none() && l.passkey_confirm.is_none());
            if !shown {
                return Err(SimError::NotLinking(id.clone()));
            }
            scanned(self, &mut st, id, phone.index());
        }
        tokio::task::yield_now().await;
        Ok(())
    }

    /// The phone owner types the pair code the account requested for their number.
    pub async fn enter_pair_code(
        &self,
        account: &(impl AsAccountId + ?Sized),
        phone: &SimPhone,
        code: &str,
    ) -> Result<(), SimError> {
        let id = account.account_id();
        let now = self.now_ms();
        let number = phone.phone();
        {
            let mut st = self.lock();
            st.account(id)?;
            let pair = linking_conn(&mut st, id, None)
                .and_then(linking_state)
                .and_then(|l| l.pair.clone())
                .ok_or_else(|| SimError::NotLinking(id.clone()))?;
            let (want_phone, want_code, expires) = pair;
            if number.as_ref() != Some(&want_phone) {
                return Err(SimError::Invalid(format!(
                    "the pair code was requested for {want_phone}, not this phone"
                )));
            }
            if now >= expires {
                return Err(SimError::Invalid("the pair code expired".into()));
            }
            if !code.eq_ignore_ascii_case(&want_code) && code.replace('-', "") != want_code {
                return Err(SimError::WrongPairCode {
                    account: id.clone(),
                    code: code.to_string(),
                });
            }
            scanned(self, &mut st, id, phone.index());
        }
        tokio::task::yield_now().await;
        Ok(())
    }

    /// An assertion that answers the account's pending passkey challenge (what an
    /// authenticator would return), or None when no passkey step is in progress.
    pub fn passkey_assertion(&self, account: &(impl AsAccountId + ?Sized)) -> Option<String> {
        let mut st = self.lock();
        let (_, challenge) = linking_conn(&mut st, account.account_id(), None)
            .and_then(linking_state)
            .and_then(|l| l.passkey.clone())?;
        Some(
            serde_json::json!({
                "id": "sim-passkey-credential",
                "type": "public-key",
                "challenge": challenge,
            })
            .to_string(),
        )
    }
}

/// A WebAuthn assertion as an authenticator returns it (`PublicKeyCredential.toJSON()`),
/// answering `challenge` in its `clientDataJSON`: what an operator pastes for a simulated
/// passkey step, given the challenge of `PasskeyRequired`'s options.
pub fn webauthn_assertion(challenge: &str) -> String {
    use base64::Engine as _;
    let client_data = serde_json::json!({"type": "webauthn.get", "challenge": challenge,
                                         "origin": "https://web.whatsapp.com"});
    serde_json::json!({
        "id": "AQID", "rawId": "AQID", "type": "public-key",
        "response": {
            "clientDataJSON": base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(client_data.to_string()),
            "authenticatorData": "AA", "signature": "AA", "userHandle": null,
        },
    })
    .to_string()
}
