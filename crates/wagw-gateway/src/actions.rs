//! Agent tools as gateway operations, each behind its `actions.*` gate: react, send a poll,
//! send, mark read.

use serde::{Deserialize, Serialize};
use wagw_core::{
    AccountId, Jid, MessageId, MessageKey, OutboundContent, OutboundMessage, SendReceipt,
};

use crate::error::GatewayError;
use crate::gateway::Gateway;
use wagw_config::Actions;

/// A reaction to send (`actions.reactions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactRequest {
    /// The chat the message is in.
    pub chat: Jid,
    /// The message reacted to.
    pub message_id: MessageId,
    /// The emoji (ignored when `remove`).
    #[serde(default)]
    pub emoji: String,
    /// Remove this account's reaction instead.
    #[serde(default)]
    pub remove: bool,
    /// In groups, who wrote the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<Jid>,
    /// True when the message was sent by this account.
    #[serde(default)]
    pub from_me: bool,
}

/// A poll to send (`actions.polls`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollRequest {
    /// Where to send it.
    pub chat: Jid,
    /// The question.
    pub question: String,
    /// 2–12 distinct options.
    pub options: Vec<String>,
    /// How many options a voter may pick (0 = any).
    #[serde(default)]
    pub selectable_count: u32,
}

impl Gateway {
    pub(crate) fn gates(&self, account: &AccountId) -> Result<Actions, GatewayError> {
        match self.account(account) {
            Ok(a) => Ok(a.settings().resolved.actions),
            Err(_) => self
                .settings()
                .account(account)
                .map(|a| a.resolved.actions)
                .ok_or_else(|| GatewayError::UnknownAccount(account.clone())),
        }
    }

    /// Reacts to a message (or removes this account's reaction).
    pub async fn react(
        &self,
        account: &AccountId,
        request: ReactRequest,
    ) -> Result<SendReceipt, GatewayError> {
        if !self.gates(account)?.reactions {
            return Err(GatewayError::ActionDisabled {
                account: account.clone(),
                action: "reactions",
            });
        }
        let emoji = if request.remove {
            String::new()
        } else if request.emoji.trim().is_empty() {
            return Err(GatewayError::InvalidRequest(
                "emoji is empty; pass an emoji or remove: true".to_owned(),
            ));
        } else {
            request.emoji.trim().to_owned()
        };
        let target = MessageKey {
            chat: request.chat.clone(),
            id: request.message_id,
            from_me: request.from_me,
            participant: request.participant,
        };
        let message = OutboundMessage {
            chat: request.chat,
            content: OutboundContent::Reaction { target, emoji },
            quote: None,
            mentions: Vec::new(),
        };
        self.send(account, message).await
    }

    /// Sends a poll.
    pub async fn send_poll(
        &self,
        account: &AccountId,
        request: PollRequest,
    ) -> Result<SendReceipt, GatewayError> {
        if !self.gates(account)?.polls {
            return Err(GatewayError::ActionDisabled {
                account: account.clone(),
                action: "polls",
            });
        }
        let mut options: Vec<String> = Vec::new();
        for option in request.options.iter().map(|o| o.trim()) {
            if !option.is_empty() && !options.iter().any(|o| o == option) {
                options.push(option.to_owned());
            }
        }
        if !(2..=12).contains(&options.len()) {
            return Err(GatewayError::InvalidRequest(format!(
                "a poll needs 2 to 12 distinct options, got {}",
                options.len()
            )));
        }
        if request.question.trim().is_empty() {
            return Err(GatewayError::InvalidRequest(
                "the poll question is empty".to_owned(),
            ));
        }
        if request.selectable_count as usize > options.len() {
            return Err(GatewayError::InvalidRequest(format!(
                "selectableCount {} is more than the {} options",
                request.selectable_count,
                options.len()
            )));
        }
        let message = OutboundMessage {
            chat: request.chat,
            content: OutboundContent::Poll {
                name: request.question.trim().to_owned(),
                options,
                selectable_count: request.selectable_count,
            },
            quote: None,
            mentions: Vec::new(),
        };
        self.send(account, message).await
    }

    /// Shows "typing…" / "recording…" (or stops it) in a chat.
    pub async fn presence(
        &self,
        account: &AccountId,
        chat: &Jid,
        state: wagw_core::ChatPresence,
    ) -> Result<(), GatewayError> {
        let socket = self.inner.shared.registry.get(account)?;
        socket
            .send_chat_presence(chat, state)
            .await
            .map_err(|source| GatewayError::Transport {
                account: account.clone(),
                source,
            })
    }

    /// Unlinks `account` from its phone and deletes its protocol state; relink with
    /// [`Gateway::login`].
    pub async fn logout(&self, account: &AccountId) -> Result<(), GatewayError> {
        let socket = self.account(account)?.socket().clone();
        socket
            .logout()
            .await
            .map_err(|source| GatewayError::Transport {
                account: account.clone(),
                source,
            })
    }

    /// Requests a pair code for linking `account` by phone number. An unlinked account
    /// with no linking connection gets one first (as [`Gateway::login`] opens), since
    /// WhatsApp takes the request only over a connection. The code also appears in status
    /// and in the event log. A linked account is refused (`AlreadyLinked`).
    pub async fn request_pair_code(
        &self,
        account: &AccountId,
        phone: &wagw_core::Phone,
    ) -> Result<String, GatewayError> {
        let acct = self.account(account)?;
        acct.clear_expired_login();
        if acct.login_prompt().is_none() && !acct.socket().is_linked() {
            acct.control(crate::supervisor::Control::Link).await;
            // The linking connection is up once it shows its first prompt.
            for _ in 0..100 {
                if acct.login_prompt().is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        let socket = acct.socket().clone();
        socket
            .request_pair_code(phone)
            .await
            .map_err(|source| GatewayError::Transport {
                account: account.clone(),
                source,
            })
    }

    /// Continues a passkey link with the assertion (WebAuthn JSON) an authenticator holding
    /// the account's passkey returned for the options of [`crate::LoginPrompt::Passkey`].
    pub async fn submit_passkey_assertion(
        &self,
        account: &AccountId,
        assertion_json: &str,
    ) -> Result<(), GatewayError> {
        let acct = self.account(account)?;
        let result = acct
            .socket()
            .clone()
            .submit_passkey_assertion(assertion_json)
            .await;
        passkey_result(&acct, account, result)
    }

    /// Finishes a passkey link once the operator saw the phone show the code of
    /// [`crate::LoginPrompt::PasskeyConfirmation`].
    pub async fn confirm_passkey(&self, account: &AccountId) -> Result<(), GatewayError> {
        let acct = self.account(account)?;
        let result = acct.socket().clone().confirm_passkey().await;
        passkey_result(&acct, account, result)
    }

    /// Marks messages read (blue ticks). `sender` is the participant in groups.
    pub async fn mark_read(
        &self,
        account: &AccountId,
        chat: &Jid,
        sender: Option<&Jid>,
        ids: &[MessageId],
    ) -> Result<(), GatewayError> {
        let socket = self.inner.shared.registry.get(account)?;
        socket
            .mark_read(chat, sender, ids)
            .await
            .map_err(|source| GatewayError::Transport {
                account: account.clone(),
                source,
            })
    }
}

/// A refused passkey step also shows on the login prompt, so whoever polls the login status
/// sees why (the socket may not emit `PasskeyError` for a locally refused call).
fn passkey_result(
    acct: &crate::account::Account,
    account: &AccountId,
    result: Result<(), wagw_core::SocketError>,
) -> Result<(), GatewayError> {
    result.map_err(|source| {
        acct.login_failed(&format!("passkey step failed: {source}"));
        GatewayError::Transport {
            account: account.clone(),
            source,
        }
    })
}
