//! The one error type of this crate.

use thiserror::Error;
use wagw_core::IdentityError;

/// Everything that can go wrong in access control. The policy engine itself never fails;
/// these come from parsing configuration, the CLI's inputs and the stores.
#[derive(Debug, Error)]
pub enum AccessError {
    /// An `allowFrom` / `groupAllowFrom` entry that is neither `"*"`, a phone number nor a LID.
    #[error(
        "allow entry {input:?} is not usable: {source}; write a phone number like +15551234567, a LID like 123456789@lid, or \"*\""
    )]
    InvalidEntry {
        /// The entry as written.
        input: String,
        /// Why it did not parse.
        #[source]
        source: IdentityError,
    },
    /// A `--from` or `--group` value for `wagw access explain` that does not parse.
    #[error("{what} {input:?} is not usable: {source}")]
    InvalidInput {
        /// Which input (`--from`, `--group`).
        what: &'static str,
        /// The value as given.
        input: String,
        /// Why it did not parse.
        #[source]
        source: IdentityError,
    },
    /// `--group` named something that is not a group JID.
    #[error("{input:?} is not a group JID; group JIDs look like 120363012345678901@g.us")]
    NotAGroup {
        /// The value as given.
        input: String,
    },
    /// No pending pairing request has this code (for this account).
    #[error(
        "no pending pairing request found for code {code} (account {account}); list them with `wagw pairing list whatsapp --account {account}`"
    )]
    UnknownCode {
        /// The code as given (normalized to uppercase).
        code: String,
        /// The account searched.
        account: String,
    },
    /// The code existed but its request expired; the sender must message again for a new one.
    #[error(
        "pairing code {code} expired (codes are valid for {ttl_minutes} minutes); ask the sender to message again for a new code"
    )]
    ExpiredCode {
        /// The code as given (normalized to uppercase).
        code: String,
        /// The configured lifetime.
        ttl_minutes: u64,
    },
    /// The random generator could not find a code unused by pending requests (should not
    /// happen with 32^8 codes and a handful of pending requests).
    #[error("could not generate a unique pairing code after {attempts} attempts; retry")]
    CodeGeneration {
        /// How many codes were tried.
        attempts: u32,
    },
    /// `"*"` cannot be stored in the allow-store.
    #[error(
        "\"*\" cannot be added to the allow-store; to admit everyone set dmPolicy: \"open\" and allowFrom: [\"*\"] in the config"
    )]
    WildcardInStore,
    /// A sender with neither a phone number nor a LID cannot be paired or allowed.
    #[error("the sender has neither a phone number nor a LID, so it cannot be paired")]
    NoSenderIdentity,
    /// A pairing reply template that cannot be rendered.
    #[error(
        "pairing reply template is invalid: {reason}; see docs/access-control.md, \"Pairing reply\""
    )]
    InvalidTemplate {
        /// What is wrong with it.
        reason: String,
    },
    /// The database failed (disk full, permissions, corruption).
    #[error("access store failed: {0}; check the data directory's free space and permissions")]
    Store(#[from] wagw_store::StoreError),
    /// A record in the store could not be decoded (written by an incompatible version, or
    /// damaged).
    #[error(
        "access store record {tree}/{key} is unreadable ({reason}); remove it or restore a backup"
    )]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The record's key, printable.
        key: String,
        /// The decode error.
        reason: String,
    },
}
