//! Moving a linked account between hosts or engines without scanning a QR code again
//! (`wagw accounts export | import`): every tree of the account's protocol store, as one
//! JSON document whose first field says that it holds secrets.
//!
//! The document carries the whole protocol state (device keys, Signal sessions, pre-keys,
//! app-state keys), not only the device record: with the record alone the contacts' sessions
//! would have to be rebuilt, and messages encrypted to the old ones would fail to decrypt.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{AccountStore, backup, device};
use crate::error::Error;

/// The `format` field of an account export.
pub const EXPORT_FORMAT: &str = "wagw-account-export";

/// The layout version of an account export this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;

/// The first field of every export.
const NOTICE: &str = "SECRET: this file holds a linked WhatsApp account's private keys and \
session state, exported by wagw. Anyone holding it can read and send that account's \
messages. Keep it private (mode 0600), move it only over a trusted channel, and delete it \
once imported (wagw accounts import).";

/// An exported account ([`AccountStore::export`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountExport {
    /// What the file is and how to treat it (always first in the file).
    pub secret: String,
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// [`EXPORT_VERSION`] when written.
    pub version: u32,
    /// The account id.
    pub account: String,
    /// When it was exported (Unix ms).
    pub exported_at_ms: i64,
    /// The store's schema version at export.
    pub schema_version: u32,
    /// The phone number the account is linked as.
    pub linked_as: String,
    /// Every tree: `[key, value]` pairs in key order, base64.
    pub trees: BTreeMap<String, Vec<[String; 2]>>,
}

/// Why a file cannot be imported.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(String);

/// Store-internal entries that describe the store, not the account: not exported.
fn skipped(tree: &str, key: &[u8]) -> bool {
    tree == "meta" && key == backup::RESTORED_KEY
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl AccountExport {
    /// Reads and checks an export: the format, a version this build reads, the account id,
    /// the store's schema version, every entry's encoding, and a linked device record.
    pub fn parse(bytes: &[u8]) -> Result<AccountExport, ImportError> {
        let bad = |m: String| ImportError(m);
        // Format and version first, so a newer layout is named as such and not as a field
        // this build does not know.
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "not JSON ({e}); expected a file of `wagw accounts export`"
            ))
        })?;
        if v.get("format").and_then(serde_json::Value::as_str) != Some(EXPORT_FORMAT) {
            return Err(bad(format!(
                "not a wagw account export (no \"format\": \"{EXPORT_FORMAT}\"); expected a \
                 file of `wagw accounts export`"
            )));
        }
        match v.get("version").and_then(serde_json::Value::as_u64) {
            Some(n) if n == u64::from(EXPORT_VERSION) => {}
            Some(n) => {
                return Err(bad(format!(
                    "export version {n}; this wagw reads version {EXPORT_VERSION} (import it \
                     with the wagw that exported it, or upgrade this one)"
                )));
            }
            None => return Err(bad("\"version\" is missing or not a number".into())),
        }
        let export: AccountExport = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        wagw_core::AccountId::parse(&export.account)
            .map_err(|e| bad(format!("\"account\": {e}")))?;
        if export.schema_version > wagw_store::SCHEMA_VERSION {
            return Err(bad(format!(
                "exported from a store with schema version {}, newer than this wagw \
                 understands (up to {}); upgrade this wagw",
                export.schema_version,
                wagw_store::SCHEMA_VERSION
            )));
        }
        let entries = export.entries()?;
        let record = entries
            .iter()
            .find(|(t, _)| t == "meta")
            .and_then(|(_, rows)| rows.iter().find(|(k, _)| k == device::DEVICE_KEY))
            .map(|(_, v)| v);
        match record {
            Some(r) if device::linked_record(r) => Ok(export),
            Some(_) => Err(bad(
                "the device record does not decode as a linked device".into()
            )),
            None => Err(bad("no device record: the account was not linked".into())),
        }
    }

    /// The account id.
    pub fn account_id(&self) -> Result<wagw_core::AccountId, ImportError> {
        wagw_core::AccountId::parse(&self.account)
            .map_err(|e| ImportError(format!("\"account\": {e}")))
    }

    /// The trees' entries, decoded.
    #[allow(clippy::type_complexity)]
    fn entries(&self) -> Result<Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>, ImportError> {
        self.trees
            .iter()
            .map(|(name, rows)| {
                let decoded = rows
                    .iter()
                    .enumerate()
                    .map(|(i, [k, v])| {
                        let d = |s: &str, what: &str| {
                            b64().decode(s).map_err(|e| {
                                ImportError(format!(
                                    "trees.{name}[{i}]: the {what} is not base64: {e}"
                                ))
                            })
                        };
                        Ok((d(k, "key")?, d(v, "value")?))
                    })
                    .collect::<Result<Vec<_>, ImportError>>()?;
                Ok((name.clone(), decoded))
            })
            .collect()
    }

    /// The document as written to a file (pretty JSON, the notice first).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

impl AccountStore {
    /// The phone number the stored device is linked as; `None` when it is not linked.
    pub fn linked_as(&self) -> Result<Option<String>, Error> {
        Ok(self
            .load_device_sync()
            .map_err(|e| self.open_err(format!("reading the device record: {e}")))?
            .as_ref()
            .and_then(crate::login::identity_of_device)
            .map(|i| i.phone.to_string()))
    }

    fn open_err(&self, detail: String) -> Error {
        Error::StoreOpen {
            path: self.dir.clone(),
            detail,
        }
    }

    /// Every tree of this store as an export of account `account`; `Ok(None)` when the store
    /// holds no linked device (nothing worth moving).
    pub fn export(&self, account: &wagw_core::AccountId) -> Result<Option<AccountExport>, Error> {
        let device = self
            .load_device_sync()
            .map_err(|e| self.open_err(format!("reading the device record: {e}")))?;
        let Some(identity) = device.as_ref().and_then(crate::login::identity_of_device) else {
            return Ok(None);
        };
        let mut trees = BTreeMap::new();
        for name in self
            .db
            .tree_names()
            .map_err(|e| self.open_err(e.to_string()))?
        {
            let tree = self
                .db
                .open_tree(&name)
                .map_err(|e| self.open_err(e.to_string()))?;
            let mut rows = Vec::new();
            for item in tree.iter() {
                let (k, v) = item.map_err(|e| self.open_err(e.to_string()))?;
                if !skipped(&name, &k) {
                    rows.push([b64().encode(&k), b64().encode(&v)]);
                }
            }
            trees.insert(name, rows);
        }
        Ok(Some(AccountExport {
            secret: NOTICE.to_owned(),
            format: EXPORT_FORMAT.to_owned(),
            version: EXPORT_VERSION,
            account: account.to_string(),
            exported_at_ms: backup::now_ms(),
            schema_version: self.db.schema_version(),
            linked_as: identity.phone.to_string(),
            trees,
        }))
    }

    /// Replaces everything in this store with `export` (checked by
    /// [`AccountExport::parse`]) in one commit, then backs the new credentials up. Open the
    /// store afresh to use it: this handle's cached counters predate the import.
    pub fn import(&self, export: &AccountExport) -> Result<(), Error> {
        let entries = export
            .entries()
            .map_err(|e| self.open_err(format!("the export: {e}")))?;
        let fail = |e: wagw_store::StoreError| self.open_err(format!("importing: {e}"));
        // One transaction: a failure leaves the store as it was.
        let mut old = Vec::new();
        for name in self.db.tree_names().map_err(fail)? {
            let tree = self.db.open_tree(&name).map_err(fail)?;
            let keys = tree
                .iter()
                .keys()
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            old.push((tree, keys));
        }
        let mut new = Vec::new();
        for (name, rows) in entries {
            new.push((self.db.open_tree(&name).map_err(fail)?, rows));
        }
        self.db
            .transaction(|tx| {
                for (tree, keys) in &old {
                    for k in keys {
                        tx.remove(tree, k)?;
                    }
                }
                for (tree, rows) in &new {
                    for (k, v) in rows {
                        tx.insert(tree, k, v)?;
                    }
                }
                Ok::<_, wagw_store::StoreError>(())
            })
            .map_err(fail)?;
        self.db.flush().map_err(fail)?;
        *self.backed_up.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.back_up_credentials();
        Ok(())
    }
}
