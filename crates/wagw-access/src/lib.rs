//! # wagw-access — who may talk to the agent
//!
//! Two halves:
//! - **The policy engine** ([`decide`]), pure: given one inbound message
//!   ([`AccessRequest`]), an account's resolved policy ([`AccessPolicy`]: `dmPolicy`,
//!   `allowFrom`, `groupPolicy`, `groupAllowFrom`, `groups`, `selfChatMode`, pairing
//!   settings) and the store state ([`AllowSnapshot`]), it returns a [`Decision`]:
//!   allow, challenge (issue a pairing code) or drop — each with a snake_case reason and the
//!   config key that decided it. [`explain`] turns that into what `wagw access explain`
//!   prints. [`parse_command`] recognises `/activation mention|always` (after
//!   [`strip_command_mentions`]); [`owners`] / [`is_owner`] say who may use it.
//! - **The stores** ([`AccessStore`]), on the gateway's database (`wagw-store`): pairing requests
//!   (8-character codes from a CSPRNG, TTL, per-account cap), the allow-store of approved
//!   senders and per-group activation. Every write is flushed before it returns.
//!
//! ```
//! use wagw_access::{AccessPolicy, AccessRequest, AccessStore, Decision, FollowUp, decide};
//! use wagw_core::{AccountId, Phone, Sender};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let db = wagw_store::Db::temporary()?;
//! let store = AccessStore::open(&db)?;
//! let policy = AccessPolicy::default(); // dmPolicy: pairing, nobody allowed yet
//! let account = AccountId::default();
//! let now = 1_700_000_000_000;
//!
//! let bob = Sender::phone(Phone::parse("+15551234567")?);
//! let req = AccessRequest::dm(account.clone(), bob, now);
//! let decision = decide(&req, &policy, &store.snapshot(&account)?, now);
//! assert!(matches!(decision, Decision::Challenge { .. }));
//!
//! // The runtime sends the pairing reply; the owner approves the code.
//! let FollowUp::SendPairingReply { code, .. } = store.follow_up(&decision, &req, &policy, None, now)?
//! else { unreachable!() };
//! store.approve(&account, &code, &policy.pairing, now + 1_000)?;
//! let decision = decide(&req, &policy, &store.snapshot(&account)?, now + 2_000);
//! assert_eq!(decision.reason(), "paired");
//! # Ok(()) }
//! ```
//!
//! Must not depend on: any wagw crate but `wagw-core` and `wagw-config` (used only by
//! [`AccessPolicy::from_config`]), a transport, an async runtime or a clock — time is
//! always an argument (`now_ms`). The engine does no IO; only [`AccessStore`] touches disk.

mod allow;
mod command;
mod config;
mod decision;
mod error;
mod explain;
mod policy;
mod request;
mod snapshot;
mod store;
mod template;

pub use allow::{AllowEntry, AllowList, GroupMatch, GroupRule, GroupRules, LidMap};
pub use command::{Command, parse_command, strip_command_mentions};
pub use decision::{
    AllowReason, CHALLENGE_REASON, Decision, DropReason, command_authorized, decide, is_owner,
    owners,
};
pub use error::AccessError;
pub use explain::{ExplainInput, Explanation, explain, parse_sender};
pub use policy::{AccessPolicy, PairingSettings, RuleKey, RulePaths};
pub use request::{AccessRequest, SelfIdentity};
pub use snapshot::{AllowSnapshot, PendingPairing};
pub use store::{
    ACTIVATION_TREE, ALLOW_TREE, ALPHABET, AccessStore, ActivationRecord, AllowRecord, AllowSource,
    Approved, CODE_LEN, ChallengeOutcome, FollowUp, PAIRING_TREE, PairingRequest, PairingStatus,
    generate_code,
};
pub use template::{DEFAULT_PAIRING_TEMPLATE, PairingTemplate};
