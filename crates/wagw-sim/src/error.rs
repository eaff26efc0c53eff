//! The simulator's one error type: what a script or an HTTP caller asked for that the
//! simulated network cannot do.

use thiserror::Error;
use wagw_core::{AccountId, IdentityError, Jid, MessageId};

/// Why a simulator operation (scripting or injection, not a `WaSocket` call) failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimError {
    /// No account with this id exists in the network; create it with
    /// `SimNetwork::linked_account` or `SimNetwork::unlinked_account`.
    #[error("no simulated account {0:?}: create it first")]
    UnknownAccount(AccountId),
    /// An account with this id already exists.
    #[error("simulated account {0:?} already exists")]
    AccountExists(AccountId),
    /// The identity names no phone in the network (LIDs are never invented for lookups).
    #[error("no simulated phone {0:?}: add it with SimNetwork::phone")]
    UnknownPhone(String),
    /// No group with this JID exists in the network.
    #[error("no simulated group {0}")]
    UnknownGroup(Jid),
    /// The phone is not a member of the group.
    #[error("{who} is not a member of group {group}")]
    NotAMember {
        /// Who tried.
        who: String,
        /// The group.
        group: Jid,
    },
    /// The account is not linked to a phone, so nobody can message it.
    #[error("simulated account {0:?} is not linked: link it with SimNetwork::scan first")]
    NotLinked(AccountId),
    /// The account is already linked; log it out first to relink.
    #[error("simulated account {0:?} is already linked")]
    AlreadyLinked(AccountId),
    /// Linking needs the account's connection to be showing a QR code (or waiting for a pair
    /// code): call `connect()` on the unlinked account first.
    #[error("simulated account {0:?} is not linking: connect the unlinked account first")]
    NotLinking(AccountId),
    /// The pair code typed on the phone is not the one the account requested.
    #[error("wrong pair code {code:?} for account {account:?}")]
    WrongPairCode {
        /// The account.
        account: AccountId,
        /// The code that was typed.
        code: String,
    },
    /// No message with this id exists in the network.
    #[error("no simulated message {0}")]
    UnknownMessage(MessageId),
    /// The request is malformed; the text says which part.
    #[error("invalid simulator request: {0}")]
    Invalid(String),
    /// An identity string did not parse.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}
