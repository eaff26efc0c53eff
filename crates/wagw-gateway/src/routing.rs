//! Bindings: which agent a message goes to. The first binding whose every written condition
//! holds wins; with no bindings configured every message goes to the default agent `main`;
//! with bindings configured, a message none matches is logged and dropped (`no_binding`).

use wagw_config::{AccountMatch, Binding, PeerMatch};
use wagw_core::{AccountId, InboundMessage, Phone};

/// The agent that handles messages when no bindings are configured.
pub const DEFAULT_AGENT: &str = "main";

/// The agent id for `message`, or `None` when bindings exist and none matches.
pub fn route<'b>(
    bindings: &'b [Binding],
    account: &AccountId,
    own_phone: Option<&Phone>,
    message: &InboundMessage,
) -> Option<&'b str> {
    if bindings.is_empty() {
        return Some(DEFAULT_AGENT);
    }
    let sender = message.sender.phone.as_ref();
    let text = message.content.text_or_caption().unwrap_or_default();
    bindings
        .iter()
        .find(|b| {
            let m = &b.match_;
            let account_ok = match &m.account_id {
                None | Some(AccountMatch::Any) => true,
                Some(AccountMatch::Account(id)) => id == account,
            };
            let peer_ok = match &m.peer {
                None => true,
                Some(PeerMatch::Dm(phone)) => {
                    !message.chat.is_group()
                        && (message.chat.to_phone().as_ref() == Some(phone)
                            || sender == Some(phone))
                }
                Some(PeerMatch::Group(group)) => {
                    message.chat.is_group()
                        && message.chat.without_device() == group.without_device()
                }
            };
            let from_ok = m.from.as_ref().is_none_or(|p| sender == Some(p));
            let group_ok = m
                .group
                .as_ref()
                .is_none_or(|g| message.chat.is_group() && &message.chat == g);
            let to_ok = m.to.as_ref().is_none_or(|p| own_phone == Some(p));
            let text_ok = m.text.as_ref().is_none_or(|r| r.is_match(text));
            account_ok && peer_ok && from_ok && group_ok && to_ok && text_ok
        })
        .map(|b| b.agent_id.as_str())
}
