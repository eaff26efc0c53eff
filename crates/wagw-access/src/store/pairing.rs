//! Pairing requests: issuing codes, listing, approving and rejecting them.

use rand::rngs::OsRng;
use rand::{CryptoRng, Rng};
use serde::{Deserialize, Serialize};
use wagw_core::{AccountId, Jid, Sender};

use super::{
    ALLOW_TREE, AccessStore, AllowRecord, AllowSource, PAIRING_TREE, decode, encode, key, prefix,
};
use crate::AccessError;
use crate::allow::AllowEntry;
use crate::decision::{Decision, DropReason};
use crate::policy::{AccessPolicy, PairingSettings};
use crate::request::AccessRequest;

/// The code alphabet: no `0 O 1 I`, so codes survive being read aloud or retyped.
pub const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Code length: 32^8 ≈ 10^12 codes.
pub const CODE_LEN: usize = 8;
const MAX_ATTEMPTS: u32 = 500;

/// Draws one code from a cryptographically secure generator.
///
/// ```
/// let code = wagw_access::generate_code(&mut rand::rngs::OsRng);
/// assert_eq!(code.len(), 8);
/// assert!(code.bytes().all(|b| wagw_access::ALPHABET.contains(&b)));
/// ```
pub fn generate_code<R: Rng + CryptoRng + ?Sized>(rng: &mut R) -> String {
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairingStatus {
    /// Waiting for the owner.
    Pending,
    /// Rejected by the owner; kept until it expires so the sender gets no new code.
    Rejected,
}

/// One pairing request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingRequest {
    /// The 8-character code.
    pub code: String,
    /// Who asked.
    pub sender: Sender,
    /// Their push name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the code was issued (ms since the epoch); the TTL counts from here.
    pub created_at_ms: i64,
    /// The last message from this sender (ms since the epoch).
    pub last_seen_at_ms: i64,
    /// Pending or rejected.
    pub status: PairingStatus,
}

impl PairingRequest {
    /// When the code stops being valid.
    pub fn expires_at_ms(&self, ttl_ms: i64) -> i64 {
        self.created_at_ms.saturating_add(ttl_ms)
    }

    /// True while the request is inside its TTL.
    pub fn is_live(&self, now_ms: i64, ttl_ms: i64) -> bool {
        now_ms < self.expires_at_ms(ttl_ms)
    }

    fn is_from(&self, sender: &Sender) -> bool {
        matches!((&self.sender.phone, &sender.phone), (Some(a), Some(b)) if a == b)
            || matches!((&self.sender.lid, &sender.lid), (Some(a), Some(b)) if a == b)
    }
}

/// What [`AccessStore::issue_challenge`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChallengeOutcome {
    /// A new code: send `reply` to the sender.
    Created {
        /// The new request.
        request: PairingRequest,
        /// The rendered pairing reply.
        reply: String,
    },
    /// The sender already has a live code: same code, no second reply.
    AlreadyPending {
        /// The existing request.
        request: PairingRequest,
    },
    /// The sender was rejected and the rejection has not expired: no reply.
    Rejected {
        /// The rejected request.
        request: PairingRequest,
    },
    /// `maxPending` requests are live: nothing recorded, no reply; logged and counted.
    CapReached {
        /// How many are pending.
        pending: usize,
    },
}

impl ChallengeOutcome {
    /// The text to send to the sender, when one must be sent.
    pub fn reply(&self) -> Option<&str> {
        match self {
            ChallengeOutcome::Created { reply, .. } => Some(reply),
            _ => None,
        }
    }
}

/// What [`AccessStore::approve`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approved {
    /// The request, now removed from the pairing store.
    pub request: PairingRequest,
    /// The allow-store entry that now admits the sender.
    pub entry: AllowEntry,
    /// False when the sender was already in the allow-store.
    pub newly_added: bool,
}

/// What the runtime must do after a decision besides processing allowed messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowUp {
    /// Nothing.
    Nothing,
    /// Send `text` to `chat`: the sender's new pairing code.
    SendPairingReply {
        /// The DM chat to answer in.
        chat: Jid,
        /// The rendered reply.
        text: String,
        /// The code it contains.
        code: String,
    },
}

/// Live requests with their keys, and a batch that removes the expired ones.
struct Pruned {
    live: Vec<(Vec<u8>, PairingRequest)>,
    batch: wagw_store::Batch,
    pruned: bool,
}

fn normalize_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

impl AccessStore {
    /// Every pairing request of `account` (live or not), in code order.
    pub(super) fn scan_pairing(
        &self,
        account: &AccountId,
    ) -> Result<Vec<PairingRequest>, AccessError> {
        Ok(self
            .scan_pairing_keyed(account)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    fn scan_pairing_keyed(
        &self,
        account: &AccountId,
    ) -> Result<Vec<(Vec<u8>, PairingRequest)>, AccessError> {
        self.pairing
            .scan_prefix(prefix(account))
            .map(|kv| {
                let (k, v) = kv?;
                let r = decode(PAIRING_TREE, &k, &v)?;
                Ok((k, r))
            })
            .collect()
    }

    /// Collects the live requests and a batch removing the expired ones (not yet applied).
    /// The caller holds the lock.
    fn prune(&self, account: &AccountId, ttl_ms: i64, now_ms: i64) -> Result<Pruned, AccessError> {
        let mut batch = wagw_store::Batch::default();
        let mut pruned = false;
        let mut live = Vec::new();
        for (k, r) in self.scan_pairing_keyed(account)? {
            if r.is_live(now_ms, ttl_ms) {
                live.push((k, r));
            } else {
                batch.remove(k);
                pruned = true;
            }
        }
        Ok(Pruned {
            live,
            batch,
            pruned,
        })
    }

    /// Issues (or finds) the pairing code of `sender` with a CSPRNG. See
    /// [`AccessStore::issue_challenge_with_rng`].
    pub fn issue_challenge(
        &self,
        account: &AccountId,
        sender: &Sender,
        name: Option<&str>,
        settings: &PairingSettings,
        now_ms: i64,
    ) -> Result<ChallengeOutcome, AccessError> {
        self.issue_challenge_with_rng(account, sender, name, settings, now_ms, &mut OsRng)
    }

    /// Issues (or finds) the pairing code of `sender`:
    /// - a sender with a live request keeps its code and gets no second reply;
    /// - expired requests are removed first, so an expired sender gets a new code;
    /// - past `settings.max_pending` live requests nothing is recorded, the sender is
    ///   logged and counted ([`AccessStore::cap_reached_count`]) and gets no reply;
    /// - otherwise a fresh code, unique among the account's live requests, is stored
    ///   (flushed) and the reply text returned.
    pub fn issue_challenge_with_rng<R: Rng + CryptoRng + ?Sized>(
        &self,
        account: &AccountId,
        sender: &Sender,
        name: Option<&str>,
        settings: &PairingSettings,
        now_ms: i64,
        rng: &mut R,
    ) -> Result<ChallengeOutcome, AccessError> {
        if sender.phone.is_none() && sender.lid.is_none() {
            return Err(AccessError::NoSenderIdentity);
        }
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let _g = self.guard();
        let Pruned {
            live, mut batch, ..
        } = self.prune(account, settings.ttl_ms(), now_ms)?;
        if let Some((k, existing)) = live.iter().find(|(_, r)| r.is_from(sender)) {
            let mut request = existing.clone();
            request.last_seen_at_ms = now_ms;
            if name.is_some() {
                request.name = name;
            }
            batch.insert(k.clone(), encode(&request));
            self.pairing.apply_batch(batch)?;
            self.flush()?;
            return Ok(match request.status {
                PairingStatus::Pending => ChallengeOutcome::AlreadyPending { request },
                PairingStatus::Rejected => ChallengeOutcome::Rejected { request },
            });
        }
        let pending = live
            .iter()
            .filter(|(_, r)| r.status == PairingStatus::Pending)
            .count();
        if pending >= settings.max_pending {
            self.pairing.apply_batch(batch)?;
            self.flush()?;
            self.note_cap_reached(account, sender, pending);
            return Ok(ChallengeOutcome::CapReached { pending });
        }
        let mut code = None;
        for _ in 0..MAX_ATTEMPTS {
            let c = generate_code(rng);
            if !live.iter().any(|(_, r)| r.code == c) {
                code = Some(c);
                break;
            }
        }
        let Some(code) = code else {
            return Err(AccessError::CodeGeneration {
                attempts: MAX_ATTEMPTS,
            });
        };
        let request = PairingRequest {
            code: code.clone(),
            sender: sender.clone(),
            name,
            created_at_ms: now_ms,
            last_seen_at_ms: now_ms,
            status: PairingStatus::Pending,
        };
        batch.insert(key(account, &code), encode(&request));
        self.pairing.apply_batch(batch)?;
        self.flush()?;
        tracing::info!(target: "wagw::access", account = %account, sender = %sender, code = %code, "pairing code issued");
        let reply = settings.reply_template.render(&code, sender, account);
        Ok(ChallengeOutcome::Created { request, reply })
    }

    /// Logs and counts a sender turned away by the pending cap (reason
    /// `pairing_cap_reached`).
    pub fn note_cap_reached(&self, account: &AccountId, sender: &Sender, pending: usize) {
        let mut counts = self.cap_reached.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(account.clone()).or_insert(0);
        *n += 1;
        tracing::warn!(
            target: "wagw::access",
            account = %account,
            sender = %sender,
            pending,
            cap_reached_total = *n,
            reason = "pairing_cap_reached",
            "pairing cap reached: no code issued; approve or reject pending requests"
        );
    }

    /// Acts on a decision: a [`Decision::Challenge`] issues the code (the reply to send is
    /// returned), a `pairing_cap_reached` drop is logged and counted. `name` is the sender's
    /// push name.
    pub fn follow_up(
        &self,
        decision: &Decision,
        req: &AccessRequest,
        policy: &AccessPolicy,
        name: Option<&str>,
        now_ms: i64,
    ) -> Result<FollowUp, AccessError> {
        match decision {
            Decision::Challenge { sender, .. } => {
                let outcome =
                    self.issue_challenge(&policy.account, sender, name, &policy.pairing, now_ms)?;
                Ok(match outcome {
                    ChallengeOutcome::Created { request, reply } => FollowUp::SendPairingReply {
                        chat: req.chat.clone(),
                        text: reply,
                        code: request.code,
                    },
                    _ => FollowUp::Nothing,
                })
            }
            Decision::Drop {
                reason: DropReason::PairingCapReached,
                ..
            } => {
                let pending = self
                    .scan_pairing(&policy.account)?
                    .iter()
                    .filter(|r| {
                        r.status == PairingStatus::Pending
                            && r.is_live(now_ms, policy.pairing.ttl_ms())
                    })
                    .count();
                self.note_cap_reached(&policy.account, &req.sender, pending);
                Ok(FollowUp::Nothing)
            }
            _ => Ok(FollowUp::Nothing),
        }
    }

    /// The live request of `sender`, if any.
    pub fn lookup_challenge(
        &self,
        account: &AccountId,
        sender: &Sender,
        settings: &PairingSettings,
        now_ms: i64,
    ) -> Result<Option<PairingRequest>, AccessError> {
        Ok(self
            .scan_pairing(account)?
            .into_iter()
            .find(|r| r.is_live(now_ms, settings.ttl_ms()) && r.is_from(sender)))
    }

    /// Live pending requests of `account`, oldest first (expired ones are removed).
    pub fn list_pending(
        &self,
        account: &AccountId,
        settings: &PairingSettings,
        now_ms: i64,
    ) -> Result<Vec<PairingRequest>, AccessError> {
        let _g = self.guard();
        let Pruned {
            live,
            batch,
            pruned,
        } = self.prune(account, settings.ttl_ms(), now_ms)?;
        if pruned {
            self.pairing.apply_batch(batch)?;
            self.flush()?;
        }
        let mut out: Vec<PairingRequest> = live
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| r.status == PairingStatus::Pending)
            .collect();
        out.sort_by(|a, b| {
            a.created_at_ms
                .cmp(&b.created_at_ms)
                .then(a.code.cmp(&b.code))
        });
        Ok(out)
    }

    /// Finds the request with `code` (case-insensitive); expired ones are removed and
    /// reported as [`AccessError::ExpiredCode`]. The caller holds the lock.
    fn take_live(
        &self,
        account: &AccountId,
        code: &str,
        settings: &PairingSettings,
        now_ms: i64,
    ) -> Result<(Vec<u8>, PairingRequest), AccessError> {
        let code = normalize_code(code);
        let unknown = || AccessError::UnknownCode {
            code: code.clone(),
            account: account.to_string(),
        };
        if code.len() != CODE_LEN || !code.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(unknown());
        }
        let k = key(account, &code);
        let Some(v) = self.pairing.get(&k)? else {
            return Err(unknown());
        };
        let request: PairingRequest = decode(PAIRING_TREE, &k, &v)?;
        if !request.is_live(now_ms, settings.ttl_ms()) {
            self.pairing.remove(&k)?;
            self.flush()?;
            return Err(AccessError::ExpiredCode {
                code,
                ttl_minutes: settings.ttl_minutes,
            });
        }
        Ok((k, request))
    }

    /// Approves a code: the request leaves the pairing store and its sender enters the
    /// allow-store, in one transaction, flushed before returning.
    pub fn approve(
        &self,
        account: &AccountId,
        code: &str,
        settings: &PairingSettings,
        now_ms: i64,
    ) -> Result<Approved, AccessError> {
        let _g = self.guard();
        let (k, request) = self.take_live(account, code, settings, now_ms)?;
        let entry = AllowEntry::for_sender(&request.sender).ok_or(AccessError::NoSenderIdentity)?;
        let record = AllowRecord {
            entry: entry.clone(),
            lid: match &entry {
                AllowEntry::Phone(_) => request.sender.lid.clone(),
                _ => None,
            },
            added_at_ms: now_ms,
            source: AllowSource::Pairing,
            name: request.name.clone(),
        };
        let allow_key = key(account, &entry.to_string());
        let value = encode(&record);
        let (pairing, allow) = (&self.pairing, &self.allow);
        let newly_added = self.pairing.db().transaction(|tx| {
            tx.remove(pairing, &k)?;
            if tx.get(allow, &allow_key)?.is_some() {
                return Ok(false);
            }
            tx.insert(allow, &allow_key, &value)?;
            Ok::<bool, AccessError>(true)
        })?;
        self.flush()?;
        tracing::info!(target: "wagw::access", account = %account, sender = %request.sender, code = %request.code, tree = ALLOW_TREE, "pairing approved");
        Ok(Approved {
            request,
            entry,
            newly_added,
        })
    }

    /// Rejects a code: the sender is not admitted and gets no new code until the request
    /// expires. Returns the request.
    pub fn reject(
        &self,
        account: &AccountId,
        code: &str,
        settings: &PairingSettings,
        now_ms: i64,
    ) -> Result<PairingRequest, AccessError> {
        let _g = self.guard();
        let (k, mut request) = self.take_live(account, code, settings, now_ms)?;
        request.status = PairingStatus::Rejected;
        self.pairing.insert(k, encode(&request))?;
        self.flush()?;
        tracing::info!(target: "wagw::access", account = %account, sender = %request.sender, code = %request.code, "pairing rejected");
        Ok(request)
    }
}
