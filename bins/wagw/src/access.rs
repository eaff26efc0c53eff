//! The operator's access operations (pairing list/approve/reject, allow list/add/remove,
//! `access explain`) over `wagw-access`'s [`AccessStore`] and the loaded config.
//!
//! One implementation serves both paths of the CLI: the running gateway's HTTP handlers
//! (through [`wagw_http::GatewayApi`]) and the direct-store fallback when no gateway runs.
//! It only maps between the store's records, the config's accounts and the API's JSON
//! shapes; the decisions and the writes are `wagw-access`'s.

use wagw_access::{
    AccessError, AccessPolicy, AccessStore, AllowEntry, AllowSource, ExplainInput, LidMap,
    SelfIdentity, explain,
};
use wagw_config::{Config, ResolvedAccount};
use wagw_core::AccountId;

use wagw_http::error::ApiError;
use wagw_http::model::{PairingDecision, PairingRequestView};
use wagw_http::model_access::{AllowChange, AllowEntryView, ExplainView};

/// The access operations of one config over one store.
#[derive(Clone, Copy)]
pub struct AccessOps<'a> {
    /// The access stores (on the gateway's database).
    pub store: &'a AccessStore,
    /// The loaded config (policies per account).
    pub config: &'a Config,
}

/// Maps a store error to the API's: unknown and expired codes are 404s with their own
/// codes, a refused wildcard names the field, anything else is the store failing.
pub fn api_error(e: AccessError) -> ApiError {
    match e {
        AccessError::UnknownCode { .. } => ApiError::NotFound {
            code: "unknown_code",
            message: e.to_string(),
        },
        AccessError::ExpiredCode { .. } => ApiError::NotFound {
            code: "expired_code",
            message: e.to_string(),
        },
        AccessError::WildcardInStore | AccessError::InvalidEntry { .. } => {
            ApiError::invalid("entry", format!("entry: {e}"))
        }
        AccessError::InvalidInput { what, .. } => {
            let field = what.trim_start_matches('-');
            ApiError::invalid(field, format!("{field}: {e}"))
        }
        AccessError::NotAGroup { .. } => ApiError::invalid("group", format!("group: {e}")),
        other => ApiError::Internal(other.to_string()),
    }
}

impl<'a> AccessOps<'a> {
    /// The ops over `store` with the policies of `config`.
    pub fn new(store: &'a AccessStore, config: &'a Config) -> AccessOps<'a> {
        AccessOps { store, config }
    }

    /// The named account, or the default one; an unknown id is a 404.
    pub fn account(&self, id: Option<&AccountId>) -> Result<&'a ResolvedAccount, ApiError> {
        match id {
            None => Ok(self.config.default_account()),
            Some(id) => self
                .config
                .resolve_account(id)
                .map_err(|_| ApiError::unknown_account(id.as_str())),
        }
    }

    /// The accounts an operation looks at: the named one, or all of them.
    fn accounts(&self, id: Option<&AccountId>) -> Result<Vec<&'a ResolvedAccount>, ApiError> {
        match id {
            Some(_) => Ok(vec![self.account(id)?]),
            None => Ok(self.config.accounts().iter().collect()),
        }
    }

    /// The account's access policy, exactly as the gateway builds it.
    pub fn policy(&self, account: &ResolvedAccount) -> Result<AccessPolicy, ApiError> {
        AccessPolicy::from_config(self.config, account).map_err(|e| {
            ApiError::Internal(format!(
                "account {}'s access policy: {e}",
                account.account_id
            ))
        })
    }

    /// Live pending pairing requests of every account, oldest first.
    pub fn pairing_list(&self, now_ms: i64) -> Result<Vec<PairingRequestView>, ApiError> {
        let mut out = Vec::new();
        for account in self.config.accounts() {
            let policy = self.policy(account)?;
            let ttl = policy.pairing.ttl_ms();
            for r in self
                .store
                .list_pending(&account.account_id, &policy.pairing, now_ms)
                .map_err(api_error)?
            {
                out.push(PairingRequestView {
                    account: account.account_id.to_string(),
                    code: r.code.clone(),
                    sender: r.sender.to_string(),
                    name: r.name.clone(),
                    created_at_ms: r.created_at_ms,
                    expires_at_ms: r.expires_at_ms(ttl),
                });
            }
        }
        out.sort_by_key(|r| r.created_at_ms);
        Ok(out)
    }

    /// Approves (or rejects) `code` on the named account, or on whichever account issued it.
    pub fn pairing_decide(
        &self,
        code: &str,
        account: Option<&AccountId>,
        approve: bool,
        now_ms: i64,
    ) -> Result<PairingDecision, ApiError> {
        for acct in self.accounts(account)? {
            let policy = self.policy(acct)?;
            let id = &acct.account_id;
            let result = if approve {
                self.store
                    .approve(id, code, &policy.pairing, now_ms)
                    .map(|a| a.request.sender)
            } else {
                self.store
                    .reject(id, code, &policy.pairing, now_ms)
                    .map(|r| r.sender)
            };
            match result {
                Ok(sender) => {
                    return Ok(PairingDecision {
                        account: id.to_string(),
                        sender: sender.to_string(),
                        outcome: if approve { "approved" } else { "rejected" }.to_owned(),
                        notified_message_id: None,
                    });
                }
                // Another account may have issued it.
                Err(AccessError::UnknownCode { .. }) if account.is_none() => continue,
                Err(e) => return Err(api_error(e)),
            }
        }
        Err(ApiError::NotFound {
            code: "unknown_code",
            message: format!(
                "no pending pairing request has code {} on any account; list them with \
                 `wagw pairing list` (codes expire, and the sender gets a new one when they \
                 write again)",
                code.trim().to_ascii_uppercase()
            ),
        })
    }

    /// The allow-store entries of one account, or of every account.
    pub fn allow_list(&self, account: Option<&AccountId>) -> Result<Vec<AllowEntryView>, ApiError> {
        let mut out = Vec::new();
        for acct in self.accounts(account)? {
            for r in self
                .store
                .list_allowed(&acct.account_id)
                .map_err(api_error)?
            {
                out.push(AllowEntryView {
                    account: acct.account_id.to_string(),
                    entry: r.entry.to_string(),
                    lid: r.lid.map(|l| l.to_string()),
                    added_at_ms: r.added_at_ms,
                    source: match r.source {
                        AllowSource::Pairing => "pairing",
                        AllowSource::Manual => "manual",
                    }
                    .to_owned(),
                    name: r.name,
                });
            }
        }
        Ok(out)
    }

    /// Adds `entry` to the account's allow-store (default account when None).
    pub fn allow_add(
        &self,
        account: Option<&AccountId>,
        entry: AllowEntry,
        now_ms: i64,
    ) -> Result<AllowChange, ApiError> {
        let acct = self.account(account)?;
        let changed = self
            .store
            .add_allowed(&acct.account_id, entry.clone(), None, now_ms)
            .map_err(api_error)?;
        Ok(AllowChange {
            account: acct.account_id.to_string(),
            entry: entry.to_string(),
            changed,
        })
    }

    /// Removes `entry` from the account's allow-store (default account when None).
    pub fn allow_remove(
        &self,
        account: Option<&AccountId>,
        entry: AllowEntry,
    ) -> Result<AllowChange, ApiError> {
        let acct = self.account(account)?;
        let changed = self
            .store
            .remove_allowed(&acct.account_id, &entry)
            .map_err(api_error)?;
        Ok(AllowChange {
            account: acct.account_id.to_string(),
            entry: entry.to_string(),
            changed,
        })
    }

    /// Runs the real engine on `input` against the account's policy and store state.
    /// `own` is the linked identity (unknown before the first link) and `lids` the LID to
    /// phone mapping the transport learned (empty without a running gateway).
    pub fn explain(
        &self,
        account: Option<&AccountId>,
        input: &ExplainInput,
        own: SelfIdentity,
        lids: LidMap,
        now_ms: i64,
    ) -> Result<ExplainView, ApiError> {
        let acct = self.account(account)?;
        let policy = self.policy(acct)?;
        let req = input
            .to_request(acct.account_id.clone(), own, now_ms)
            .map_err(api_error)?;
        let mut snap = self.store.snapshot(&acct.account_id).map_err(api_error)?;
        snap.lid_map = lids;
        Ok(explain(&req, &policy, &snap, now_ms).into())
    }
}

/// [`AccessOps::explain`] for a data dir that has no store yet: the same engine against an
/// empty allow-store, pairing and activation state.
pub fn explain_without_store(
    config: &Config,
    account: Option<&AccountId>,
    input: &ExplainInput,
    now_ms: i64,
) -> Result<ExplainView, ApiError> {
    let db = wagw_store::Db::temporary()
        .map_err(|e| ApiError::Internal(format!("cannot open a scratch store: {e}")))?;
    let store = AccessStore::open(&db).map_err(api_error)?;
    AccessOps::new(&store, config).explain(
        account,
        input,
        SelfIdentity::default(),
        LidMap::new(),
        now_ms,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use wagw_config::Env;
    use wagw_core::{Phone, Sender};

    fn config(text: &str) -> Config {
        Config::from_json5_str(text, &Env::from_pairs([("WAGW_DATA_DIR", "/tmp/x")])).unwrap()
    }

    fn store() -> (wagw_store::Db, AccessStore) {
        let db = wagw_store::Db::temporary().unwrap();
        let store = AccessStore::open(&db).unwrap();
        (db, store)
    }

    fn challenge(store: &AccessStore, config: &Config, account: &str, phone: &str) -> String {
        let acct = config.resolve_account(&account.parse().unwrap()).unwrap();
        let policy = AccessPolicy::from_config(config, acct).unwrap();
        let sender = Sender::phone(Phone::parse(phone).unwrap());
        match store
            .issue_challenge(
                &acct.account_id,
                &sender,
                Some("Bob"),
                &policy.pairing,
                1_000,
            )
            .unwrap()
        {
            wagw_access::ChallengeOutcome::Created { request, .. } => request.code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn approve_finds_the_account_that_issued_the_code() {
        let cfg = config("{ channels: { whatsapp: { accounts: { default: {}, work: {} } } } }");
        let (_db, store) = store();
        let code = challenge(&store, &cfg, "work", "+15550001111");
        let ops = AccessOps::new(&store, &cfg);
        let list = ops.pairing_list(2_000).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].account, "work");
        assert_eq!(list[0].name.as_deref(), Some("Bob"));
        assert_eq!(list[0].expires_at_ms, 1_000 + 3_600_000);

        let d = ops
            .pairing_decide(&code.to_lowercase(), None, true, 3_000)
            .unwrap();
        assert_eq!(
            (d.account.as_str(), d.sender.as_str(), d.outcome.as_str()),
            ("work", "+15550001111", "approved")
        );
        let allowed = ops.allow_list(None).unwrap();
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0].source, "pairing");
        // Approving again: the code is gone.
        let e = ops.pairing_decide(&code, None, true, 4_000).unwrap_err();
        assert_eq!(e.code(), "unknown_code");
        assert!(e.to_string().contains("wagw pairing list"), "{e}");
    }

    #[test]
    fn expired_codes_and_unknown_accounts_are_404s() {
        let cfg = config("{}");
        let (_db, store) = store();
        let code = challenge(&store, &cfg, "default", "+15550001111");
        let ops = AccessOps::new(&store, &cfg);
        let e = ops
            .pairing_decide(
                &code,
                Some(&"default".parse().unwrap()),
                true,
                1_000 + 3_600_001,
            )
            .unwrap_err();
        assert_eq!(e.code(), "expired_code");
        assert!(e.to_string().contains("expired"), "{e}");
        let e = ops
            .pairing_decide(&code, Some(&"nope".parse().unwrap()), false, 0)
            .unwrap_err();
        assert_eq!(e.code(), "unknown_account");
    }

    #[test]
    fn allow_add_remove_and_explain_see_the_same_store() {
        let cfg = config("{ channels: { whatsapp: { dmPolicy: \"pairing\" } } }");
        let (_db, store) = store();
        let ops = AccessOps::new(&store, &cfg);
        let input = ExplainInput {
            from: "+1 555 000 2222".into(),
            ..ExplainInput::default()
        };
        let run = || {
            ops.explain(None, &input, SelfIdentity::default(), LidMap::new(), 10)
                .unwrap()
        };
        assert_eq!(run().decision, "challenge");
        let entry = AllowEntry::parse("+15550002222").unwrap();
        assert!(ops.allow_add(None, entry.clone(), 5).unwrap().changed);
        assert!(!ops.allow_add(None, entry.clone(), 6).unwrap().changed);
        let v = run();
        assert_eq!(
            (v.decision.as_str(), v.reason.as_str()),
            ("allow", "paired")
        );
        assert!(ops.allow_remove(None, entry.clone()).unwrap().changed);
        assert!(!ops.allow_remove(None, entry).unwrap().changed);
        assert_eq!(run().decision, "challenge");
        let e = ops
            .allow_add(None, AllowEntry::parse("*").unwrap(), 0)
            .unwrap_err();
        assert!(
            matches!(&e, ApiError::Invalid { field: Some(f), .. } if f == "entry"),
            "{e:?}"
        );
    }
}
