//! The stores: pairing lifecycle, allow-store, activation, and the engine fed by them.

use rand::rngs::StdRng;
use rand::{CryptoRng, RngCore, SeedableRng};
use wagw_access::{
    AccessError, AccessPolicy, AccessRequest, AccessStore, AllowEntry, ChallengeOutcome, Decision,
    FollowUp, PairingSettings, PairingStatus, decide, generate_code,
};
use wagw_core::{AccountId, Activation, Jid, Lid, Phone, Sender};

const T: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;

fn store() -> (wagw_store::Db, AccessStore) {
    let db = wagw_store::Db::temporary().unwrap();
    let s = AccessStore::open(&db).unwrap();
    (db, s)
}

fn phone(s: &str) -> Sender {
    Sender::phone(Phone::parse(s).unwrap())
}

fn created(o: ChallengeOutcome) -> (String, String) {
    match o {
        ChallengeOutcome::Created { request, reply } => (request.code, reply),
        other => panic!("expected a new code, got {other:?}"),
    }
}

#[test]
fn issue_repeat_expire_cap() {
    let (_db, s) = store();
    let acct = AccountId::default();
    let set = PairingSettings::default();
    let bob = phone("+15552220002");

    let (code, reply) = created(
        s.issue_challenge(&acct, &bob, Some(" Bob "), &set, T)
            .unwrap(),
    );
    assert_eq!(code.len(), 8);
    assert!(reply.contains(&code) && reply.contains("+15552220002"));
    assert!(reply.ends_with(&format!("wagw pairing approve whatsapp {code}")));

    // Repeat within the TTL: same code, no reply.
    match s
        .issue_challenge(&acct, &bob, None, &set, T + 30 * MIN)
        .unwrap()
    {
        ChallengeOutcome::AlreadyPending { request } => {
            assert_eq!(request.code, code);
            assert_eq!(request.last_seen_at_ms, T + 30 * MIN);
            assert_eq!(request.name.as_deref(), Some("Bob"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.lookup_challenge(&acct, &bob, &set, T + 59 * MIN)
            .unwrap()
            .map(|r| r.code),
        Some(code.clone())
    );

    // TTL counts from creation (Q16): at +60 min the code is gone and a new one is issued.
    let (code2, _) = created(
        s.issue_challenge(&acct, &bob, None, &set, T + 60 * MIN)
            .unwrap(),
    );
    assert_ne!(code2, code);
    assert!(matches!(
        s.approve(&acct, &code, &set, T + 61 * MIN),
        Err(AccessError::UnknownCode { .. })
    ));

    // Cap: 3 pending per account; the 4th is refused, counted, and nothing is recorded.
    let t = T + 61 * MIN;
    created(
        s.issue_challenge(&acct, &phone("+15554440004"), None, &set, t)
            .unwrap(),
    );
    created(
        s.issue_challenge(&acct, &phone("+15556660006"), None, &set, t)
            .unwrap(),
    );
    let frank = phone("+15557770007");
    assert_eq!(
        s.issue_challenge(&acct, &frank, None, &set, t).unwrap(),
        ChallengeOutcome::CapReached { pending: 3 }
    );
    assert_eq!(s.cap_reached_count(&acct), 1);
    assert!(
        s.lookup_challenge(&acct, &frank, &set, t)
            .unwrap()
            .is_none()
    );
    assert_eq!(s.list_pending(&acct, &set, t).unwrap().len(), 3);

    // Another account has its own cap (Q15).
    let work = AccountId::parse("work").unwrap();
    let (_, reply) = created(s.issue_challenge(&work, &frank, None, &set, t).unwrap());
    assert!(reply.ends_with("--account work"));
    assert_eq!(s.cap_reached_count(&work), 0);
}

#[test]
fn approve_reject_and_errors() {
    let (_db, s) = store();
    let acct = AccountId::default();
    let set = PairingSettings::default();
    let bob = Sender::both(
        Phone::parse("+15552220002").unwrap(),
        Lid::parse("800000000000002@lid").unwrap(),
    );
    let (code, _) = created(
        s.issue_challenge(&acct, &bob, Some("Bob"), &set, T)
            .unwrap(),
    );

    // Codes are case-insensitive and trimmed; other accounts do not see them.
    let work = AccountId::parse("work").unwrap();
    assert!(matches!(
        s.approve(&work, &code, &set, T),
        Err(AccessError::UnknownCode { .. })
    ));
    let approved = s
        .approve(
            &acct,
            &format!("  {}  ", code.to_lowercase()),
            &set,
            T + MIN,
        )
        .unwrap();
    assert_eq!(approved.entry.to_string(), "+15552220002");
    assert!(approved.newly_added);
    assert!(s.list_pending(&acct, &set, T + MIN).unwrap().is_empty());
    let allowed = s.list_allowed(&acct).unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0].name.as_deref(), Some("Bob"));
    // The LID rides along, so a LID-only message from Bob is admitted too.
    let snap = s.snapshot(&acct).unwrap();
    assert!(
        snap.allowed
            .contains_lid(&Lid::parse("800000000000002@lid").unwrap())
    );
    // Approving twice: the code is gone.
    let again = s.approve(&acct, &code, &set, T + MIN).unwrap_err();
    assert!(
        again
            .to_string()
            .contains("no pending pairing request found for code"),
        "{again}"
    );

    // Reject: the sender gets no new code until the TTL passes, and is not counted.
    let eve = phone("+15559990009");
    let (code, _) = created(s.issue_challenge(&acct, &eve, None, &set, T).unwrap());
    let rejected = s.reject(&acct, &code, &set, T + MIN).unwrap();
    assert_eq!(rejected.status, PairingStatus::Rejected);
    assert!(matches!(
        s.issue_challenge(&acct, &eve, None, &set, T + 2 * MIN)
            .unwrap(),
        ChallengeOutcome::Rejected { .. }
    ));
    assert!(s.list_pending(&acct, &set, T + 2 * MIN).unwrap().is_empty());
    created(
        s.issue_challenge(&acct, &eve, None, &set, T + 61 * MIN)
            .unwrap(),
    );

    // Expired code: a clear error, then unknown.
    let zed = phone("+15558880008");
    let (code, _) = created(s.issue_challenge(&acct, &zed, None, &set, T).unwrap());
    let err = s.approve(&acct, &code, &set, T + 60 * MIN).unwrap_err();
    assert!(
        matches!(
            err,
            AccessError::ExpiredCode {
                ttl_minutes: 60,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        s.approve(&acct, &code, &set, T + 60 * MIN),
        Err(AccessError::UnknownCode { .. })
    ));
    // Malformed codes never hit the store.
    assert!(matches!(
        s.reject(&acct, "", &set, T),
        Err(AccessError::UnknownCode { .. })
    ));
    assert!(matches!(
        s.reject(&acct, "O0I1O0I1", &set, T),
        Err(AccessError::UnknownCode { .. })
    ));
}

#[test]
fn codes_are_unique_among_pending() {
    let (_db, s) = store();
    let acct = AccountId::default();
    let set = PairingSettings::default();
    // The same seed makes the second request's first candidate collide with the first code.
    let first = generate_code(&mut StdRng::seed_from_u64(7));
    let mut rng = StdRng::seed_from_u64(7);
    generate_code(&mut rng);
    let second = generate_code(&mut rng);
    assert_ne!(first, second);
    let a = s
        .issue_challenge_with_rng(
            &acct,
            &phone("+15551110001"),
            None,
            &set,
            T,
            &mut StdRng::seed_from_u64(7),
        )
        .unwrap();
    let b = s
        .issue_challenge_with_rng(
            &acct,
            &phone("+15552220002"),
            None,
            &set,
            T,
            &mut StdRng::seed_from_u64(7),
        )
        .unwrap();
    assert_eq!(created(a).0, first);
    assert_eq!(created(b).0, second);
}

/// A generator stuck on one value: every code is `AAAAAAAA`.
struct Stuck;
impl RngCore for Stuck {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        dest.fill(0);
        Ok(())
    }
}
impl CryptoRng for Stuck {}

#[test]
fn code_generation_gives_up_with_an_error() {
    let (_db, s) = store();
    let acct = AccountId::default();
    let set = PairingSettings::default();
    let (code, _) = created(
        s.issue_challenge_with_rng(&acct, &phone("+15551110001"), None, &set, T, &mut Stuck)
            .unwrap(),
    );
    assert_eq!(code, "AAAAAAAA");
    let err = s
        .issue_challenge_with_rng(&acct, &phone("+15552220002"), None, &set, T, &mut Stuck)
        .unwrap_err();
    assert!(matches!(err, AccessError::CodeGeneration { attempts: 500 }));
}

#[test]
fn codes_use_the_alphabet() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        let c = generate_code(&mut rng);
        assert_eq!(c.len(), 8);
        assert!(c.bytes().all(|b| wagw_access::ALPHABET.contains(&b)), "{c}");
        seen.extend(c.bytes());
    }
    assert_eq!(seen.len(), 32, "every symbol is drawn");
}

#[test]
fn allow_store_add_remove() {
    let (_db, s) = store();
    let acct = AccountId::default();
    let alice = AllowEntry::parse("+1 555 111 0001").unwrap();
    assert!(s.add_allowed(&acct, alice.clone(), None, T).unwrap());
    assert!(
        !s.add_allowed(
            &acct,
            AllowEntry::parse("15551110001@s.whatsapp.net").unwrap(),
            None,
            T
        )
        .unwrap()
    );
    assert!(matches!(
        s.add_allowed(&acct, AllowEntry::Any, None, T),
        Err(AccessError::WildcardInStore)
    ));
    let lid = AllowEntry::parse("800000000000009@lid").unwrap();
    assert!(s.add_allowed(&acct, lid.clone(), None, T).unwrap());
    let listed: Vec<String> = s
        .list_allowed(&acct)
        .unwrap()
        .iter()
        .map(|r| r.entry.to_string())
        .collect();
    assert_eq!(listed, ["+15551110001", "800000000000009@lid"]);
    assert!(
        s.list_allowed(&AccountId::parse("work").unwrap())
            .unwrap()
            .is_empty()
    );
    assert!(s.remove_allowed(&acct, &alice).unwrap());
    assert!(!s.remove_allowed(&acct, &alice).unwrap());
    assert!(s.remove_allowed(&acct, &lid).unwrap());
    assert!(s.list_allowed(&acct).unwrap().is_empty());
}

#[test]
fn removing_a_lid_removes_its_phone_record() {
    let (_db, s) = store();
    let acct = AccountId::default();
    let set = PairingSettings::default();
    let bob = Sender::both(
        Phone::parse("+15552220002").unwrap(),
        Lid::parse("800000000000002@lid").unwrap(),
    );
    let (code, _) = created(s.issue_challenge(&acct, &bob, None, &set, T).unwrap());
    s.approve(&acct, &code, &set, T).unwrap();
    assert!(
        s.remove_allowed(&acct, &AllowEntry::parse("800000000000002@lid").unwrap())
            .unwrap()
    );
    assert!(s.snapshot(&acct).unwrap().allowed.is_empty());
}

#[test]
fn activation_per_account_and_group() {
    let (_db, s) = store();
    let acct = AccountId::default();
    let work = AccountId::parse("work").unwrap();
    let g = Jid::parse("120363000000000001@g.us").unwrap();
    assert_eq!(s.get_activation(&acct, &g).unwrap(), None);
    s.set_activation(&acct, &g, Activation::Always, T).unwrap();
    assert_eq!(
        s.get_activation(&acct, &g).unwrap(),
        Some(Activation::Always)
    );
    assert_eq!(s.get_activation(&work, &g).unwrap(), None);
    assert_eq!(
        s.snapshot(&acct).unwrap().activation(&g),
        Some(Activation::Always)
    );
    assert!(
        s.set_activation(
            &acct,
            &Jid::parse("15551110001@s.whatsapp.net").unwrap(),
            Activation::Always,
            T
        )
        .is_err()
    );
    assert!(s.clear_activation(&acct, &g).unwrap());
    assert_eq!(s.get_activation(&acct, &g).unwrap(), None);
}

#[test]
fn follow_up_drives_the_pairing_flow() {
    let (_db, s) = store();
    let policy = AccessPolicy::default();
    let acct = policy.account.clone();
    let bob = phone("+15552220002");
    let req = AccessRequest::dm(acct.clone(), bob.clone(), T);

    let d = decide(&req, &policy, &s.snapshot(&acct).unwrap(), T);
    assert!(matches!(d, Decision::Challenge { .. }));
    let FollowUp::SendPairingReply { chat, text, code } =
        s.follow_up(&d, &req, &policy, Some("Bob"), T).unwrap()
    else {
        panic!("expected a reply");
    };
    assert_eq!(chat, bob.jid().unwrap());
    assert!(text.contains(&code));

    // The next message: the engine sees the pending code and stays silent.
    let d = decide(&req, &policy, &s.snapshot(&acct).unwrap(), T + MIN);
    assert_eq!(d.reason(), "pairing_pending");
    assert_eq!(
        s.follow_up(&d, &req, &policy, None, T + MIN).unwrap(),
        FollowUp::Nothing
    );
    // Even with a stale snapshot, the store gives no second reply.
    let stale = Decision::Challenge {
        sender: bob.clone(),
        rule: wagw_access::RuleKey::DmPolicy,
    };
    assert_eq!(
        s.follow_up(&stale, &req, &policy, None, T + MIN).unwrap(),
        FollowUp::Nothing
    );

    s.approve(&acct, &code, &policy.pairing, T + 2 * MIN)
        .unwrap();
    let d = decide(&req, &policy, &s.snapshot(&acct).unwrap(), T + 3 * MIN);
    assert_eq!(d.reason(), "paired");

    // A pairing_cap_reached drop is counted by follow_up.
    let mut tight = policy.clone();
    tight.pairing.max_pending = 0;
    let carol = AccessRequest::dm(acct.clone(), phone("+15553330003"), T);
    let d = decide(&carol, &tight, &s.snapshot(&acct).unwrap(), T);
    assert_eq!(d.reason(), "pairing_cap_reached");
    s.follow_up(&d, &carol, &tight, None, T).unwrap();
    assert_eq!(s.cap_reached_count(&acct), 1);
}

#[test]
fn reopened_store_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let acct = AccountId::default();
    let set = PairingSettings::default();
    let g = Jid::parse("120363000000000001@g.us").unwrap();
    let code;
    {
        let db =
            wagw_store::Db::open(dir.path().join("state.sqlite3"), &Default::default()).unwrap();
        let s = AccessStore::open(&db).unwrap();
        code = created(
            s.issue_challenge(&acct, &phone("+15552220002"), None, &set, T)
                .unwrap(),
        )
        .0;
        s.add_allowed(&acct, AllowEntry::parse("+15551110001").unwrap(), None, T)
            .unwrap();
        s.set_activation(&acct, &g, Activation::Always, T).unwrap();
    }
    let db = wagw_store::Db::open(dir.path().join("state.sqlite3"), &Default::default()).unwrap();
    let s = AccessStore::open(&db).unwrap();
    assert_eq!(s.list_pending(&acct, &set, T).unwrap()[0].code, code);
    assert_eq!(s.list_allowed(&acct).unwrap().len(), 1);
    assert_eq!(
        s.get_activation(&acct, &g).unwrap(),
        Some(Activation::Always)
    );
}
