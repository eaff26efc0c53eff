//! The send path shared by agent replies and the gateway's send API: active-listener check
//! (fail fast), then `wagw-outbound` (silent tokens, response prefix, chunking, media plan,
//! caption on the first item, retries, pacing), then sent-id bookkeeping for echo
//! suppression, metrics and the event log.

use serde::Serialize;
use wagw_config::{Config, ResolvedAccount};
use wagw_core::{Jid, MessageKey, OutboundMessage, OutboundQuote, SendReceipt};
use wagw_outbound::{
    MediaCaps, MediaFailurePolicy, MediaOptions, MediaSettings, Outbox, PrefixVars, ReplyContent,
    ReplyTarget, TextSettings, deliver, render_prefix, resolve_prefix_template, send_with_retry,
};

use crate::account::Account;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::sink::Reply;
use crate::store::GatewayEvent;

/// What happened to a reply or an explicit send: the server-confirmed messages and the
/// parts that failed (each failure was also counted and logged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendReport {
    /// Confirmed messages, in send order.
    pub sent: Vec<wagw_outbound::SentMessage>,
    /// Parts that did not go out (an agent reply's failed media is left out; the contact
    /// never sees why).
    pub failed: Vec<wagw_outbound::FailedPart>,
    /// Warnings from media planning (fallbacks, ignored options).
    pub warnings: Vec<String>,
}

impl SendReport {
    /// Each failed part as `part: cause`, for logs and records.
    pub fn failures(&self) -> Vec<String> {
        self.failed
            .iter()
            .map(|f| format!("{}: {}", f.part, f.error))
            .collect()
    }
}

/// How an account's text goes out to one chat: `textChunkLimit`, `chunkMode` and the rendered
/// response prefix (the account's `responsePrefix`, else `messages.responsePrefix`, else the
/// self-chat default). `reply_tokens` is true for an agent's reply (`NO_REPLY` silences it)
/// and false for an explicit send, which goes out as written. The send path and
/// `wagw message send --dry-run` both use it, so a dry run shows exactly what a send would.
pub fn text_settings(
    account: &ResolvedAccount,
    config: &Config,
    is_self_chat: bool,
    reply_tokens: bool,
) -> TextSettings {
    let messages = config.messages();
    let configured = account
        .response_prefix
        .as_deref()
        .or(messages.response_prefix.as_deref());
    let identity = messages.identity_name.as_deref();
    let prefix = resolve_prefix_template(configured, is_self_chat, identity).map(|template| {
        render_prefix(
            &template,
            &PrefixVars {
                identity_name: identity.map(str::to_owned),
                ..PrefixVars::default()
            },
        )
    });
    TextSettings {
        limit: account.text_chunk_limit as usize,
        mode: account.chunk_mode,
        prefix,
        reply_tokens,
    }
}

/// The media loader settings from `media.*` (`localRoots`, `allowPrivateNetworks`).
pub fn media_settings(config: &Config) -> MediaSettings {
    let media = config.media();
    MediaSettings {
        local_roots: media.local_roots.clone(),
        allow_private_networks: media.allow_private_networks,
        ..MediaSettings::default()
    }
}

/// Which media caps apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caps {
    /// An agent's reply: `agents.defaults.mediaMaxMb` (5 MB) for every kind.
    Reply,
    /// An explicit send (API, CLI, agent tool): 6 MB images, 16 MB audio/video, 100 MB docs.
    Explicit,
}

impl Account {
    /// Sends one message through the live connection, retrying transient failures. Fails at
    /// once when the account has no live connection. Only a server-confirmed send returns
    /// `Ok`.
    pub(crate) async fn send_message(
        &self,
        message: OutboundMessage,
    ) -> Result<SendReceipt, GatewayError> {
        let socket = self.shared.registry.get(self.id())?;
        let chat = message.chat.clone();
        match send_with_retry(socket.as_ref(), &message).await {
            Ok(receipt) => {
                self.sent_ids().remember(receipt.id.clone());
                self.metrics().sent(self.shared.clock.now_ms());
                Ok(receipt)
            }
            Err(source) => {
                self.metrics().send_failed();
                self.record(GatewayEvent::SendFailed {
                    account: self.id().clone(),
                    chat: chat.to_string(),
                    error: source.to_string(),
                });
                Err(GatewayError::Transport {
                    account: self.id().clone(),
                    source,
                })
            }
        }
    }

    /// Delivers one reply (text and/or media) to `chat` through `wagw-outbound`.
    pub(crate) async fn deliver(
        &self,
        chat: &Jid,
        reply: Reply,
        is_self_chat: bool,
        caps: Caps,
        policy: MediaFailurePolicy,
        reply_tokens: bool,
    ) -> Result<SendReport, GatewayError> {
        let socket = self.shared.registry.get(self.id())?;
        // A template goes out first, as one message of its own; the text and media (if
        // any) follow it.
        let mut template_sent = None;
        if let Some(template) = &reply.template {
            let receipt = self
                .send_message(OutboundMessage {
                    chat: chat.clone(),
                    content: wagw_core::OutboundContent::Template(template.clone()),
                    quote: None,
                    mentions: Vec::new(),
                })
                .await?;
            let sent = wagw_outbound::SentMessage {
                kind: "template",
                id: receipt.id,
                timestamp_ms: receipt.timestamp_ms,
            };
            if reply.media.is_empty() && reply.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                return Ok(SendReport {
                    sent: vec![sent],
                    failed: Vec::new(),
                    warnings: Vec::new(),
                });
            }
            template_sent = Some(sent);
        }
        let settings = self.settings();
        let text_settings = text_settings(
            &settings.resolved,
            &self.shared.settings().config,
            is_self_chat,
            reply_tokens,
        );
        let caps = match caps {
            Caps::Reply => {
                MediaCaps::reply(Some(u64::from(settings.resolved.outbound_media_max_mb)))
            }
            Caps::Explicit => MediaCaps::explicit(),
        };
        let loader = self.shared.loader();
        let pacer = self.pacer();
        let outbox = Outbox {
            socket: socket.as_ref(),
            loader: &loader,
            tools: &self.shared.tools,
            pacer: Some(&pacer),
        };
        let target = ReplyTarget {
            chat: chat.clone(),
            is_self_chat,
            quote: reply.reply_to.clone().map(|id| OutboundQuote {
                key: MessageKey {
                    chat: chat.clone(),
                    id,
                    from_me: false,
                    participant: None,
                },
                content: None,
            }),
        };
        let media = reply.media_items();
        let options = MediaOptions {
            gif_playback: reply.gif_playback,
        };
        let content = ReplyContent {
            text: reply.text.as_deref().unwrap_or_default(),
            media: &media,
            mentions: &reply.mentions,
            options: &options,
        };
        let report = match deliver(&outbox, &target, &content, &text_settings, &caps, policy).await
        {
            Ok(report) => report,
            Err(failure) => {
                self.metrics().send_failed();
                self.record(GatewayEvent::SendFailed {
                    account: self.id().clone(),
                    chat: chat.to_string(),
                    error: format!("nothing was sent: {failure}"),
                });
                return Err(GatewayError::MediaRejected(failure));
            }
        };
        for sent in &report.sent {
            self.sent_ids().remember(sent.id.clone());
            self.metrics().sent(self.shared.clock.now_ms());
        }
        for failed in &report.failed {
            self.metrics().send_failed();
            self.record(GatewayEvent::SendFailed {
                account: self.id().clone(),
                chat: chat.to_string(),
                error: format!("{}: {}", failed.part, failed.error),
            });
        }
        Ok(SendReport {
            sent: template_sent.into_iter().chain(report.sent).collect(),
            failed: report.failed,
            warnings: report.warnings,
        })
    }

    /// Sends an agent's reply to the chat a turn came from; failures are logged, recorded
    /// as `sendFailed` events and added (part and cause) to `outcome` with the sent ids.
    pub(crate) async fn send_reply(
        &self,
        chat: &Jid,
        reply: Reply,
        is_self_chat: bool,
        outcome: &mut crate::sink::RepliesOutcome,
    ) {
        match self
            .deliver(
                chat,
                reply,
                is_self_chat,
                Caps::Reply,
                MediaFailurePolicy::SkipFailed,
                true,
            )
            .await
        {
            Ok(report) => {
                if !report.failed.is_empty() {
                    tracing::warn!(target: "wagw::outbound", account = %self.id(), %chat,
                        failed = report.failed.len(), sent = report.sent.len(), "reply partly sent");
                }
                outcome.failures.extend(report.failures());
                outcome.sent.extend(report.sent.into_iter().map(|s| s.id));
            }
            Err(e) => {
                tracing::warn!(target: "wagw::outbound", account = %self.id(), %chat,
                    error = %e, "reply not sent");
                outcome.failures.push(format!("reply not sent: {e}"));
            }
        }
    }
}

impl Gateway {
    /// Sends an agent's late reply (a webhook that answered after a retry, a restart or a
    /// replay) from `account` to `chat`: like a reply to a turn, a media item that fails is
    /// left out and the contact gets the text only; the report lists what failed. Fails at
    /// once, with the command that fixes it, when the account has no live connection.
    pub async fn send_reply(
        &self,
        account: &wagw_core::AccountId,
        chat: &Jid,
        reply: Reply,
    ) -> Result<SendReport, GatewayError> {
        self.ensure_accepting()?;
        crate::gateway::check_chat(chat)?;
        let target = self.live_account(account)?;
        let is_self_chat = target.is_self_chat(chat);
        target
            .deliver(
                chat,
                reply,
                is_self_chat,
                Caps::Explicit,
                MediaFailurePolicy::SkipFailed,
                true,
            )
            .await
    }

    /// An explicit send (HTTP API, CLI, an agent's send tool): text and/or media from
    /// `account` to `chat` through the outbound pipeline (prefix, chunking, media plan with
    /// the explicit-send caps, pacing, mentions, `gifPlayback`). Refused when
    /// `actions.sendMessage` is off. Every media item is prepared and uploaded first: one
    /// that fails sends nothing ([`GatewayError::MediaRejected`] names it). Fails at once,
    /// with the command that fixes it, when the account has no live connection.
    pub async fn send_explicit(
        &self,
        account: &wagw_core::AccountId,
        chat: &Jid,
        reply: Reply,
    ) -> Result<SendReport, GatewayError> {
        self.ensure_accepting()?;
        crate::gateway::check_chat(chat)?;
        if !self.gates(account)?.send_message {
            return Err(GatewayError::ActionDisabled {
                account: account.clone(),
                action: "sendMessage",
            });
        }
        let target = self.live_account(account)?;
        let is_self_chat = target.is_self_chat(chat);
        target
            .deliver(
                chat,
                reply,
                is_self_chat,
                Caps::Explicit,
                MediaFailurePolicy::AllOrNothing,
                false,
            )
            .await
    }
}
