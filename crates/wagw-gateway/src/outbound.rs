//! The send path shared by replies and the gateway's send API: active-listener check, the
//! transport call, sent-id bookkeeping for echo suppression, metrics.

use wagw_core::{OutboundMessage, SendReceipt};

use crate::account::Account;
use crate::error::GatewayError;
use crate::store::GatewayEvent;

impl Account {
    /// Sends one message through the live connection. Fails at once when the account has
    /// no live connection. Only a server-confirmed send returns `Ok`.
    pub(crate) async fn send_message(
        &self,
        message: OutboundMessage,
    ) -> Result<SendReceipt, GatewayError> {
        let socket = self.shared.registry.get(self.id())?;
        let chat = message.chat.clone();
        match socket.send(message).await {
            Ok(receipt) => {
                self.sent_ids().remember(receipt.id.clone());
                self.metrics().sent();
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
}
