//! Property tests: the engine never panics, and `open` + `"*"` admits every DM that is not
//! `fromMe` and not under `disabled`.

use proptest::prelude::*;
use wagw_access::{
    AccessPolicy, AccessRequest, AllowList, AllowSnapshot, Command, GroupRule, GroupRules,
    PendingPairing, SelfIdentity, decide, explain,
};
use wagw_core::{AccountId, Activation, DmPolicy, GroupPolicy, Jid, Lid, Phone, Sender};

const ENTRY_POOL: &[&str] = &[
    "*",
    " * ",
    "+15551110001",
    "+15552220002",
    "+15550000001",
    "15553330003@s.whatsapp.net",
    "800000000000001@lid",
    "800000000000002@lid",
    "garbage",
    "",
    "120363000000000001@g.us",
];
const PHONES: &[&str] = &[
    "+15551110001",
    "+15552220002",
    "+15550000001",
    "+15553330003",
];
const LIDS: &[&str] = &[
    "800000000000001@lid",
    "800000000000002@lid",
    "900000000000001@lid",
];
const CHATS: &[&str] = &[
    "120363000000000001@g.us",
    "120363000000000002@g.us",
    "status@broadcast",
    "123456@broadcast",
    "120363000000000099@newsletter",
    "0123456@s.whatsapp.net",
];
const TEXTS: &[&str] = &[
    "/activation always",
    "/activation",
    "/activation x",
    "/new",
    "hello",
];

fn dm_policy() -> impl Strategy<Value = DmPolicy> {
    prop_oneof![
        Just(DmPolicy::Pairing),
        Just(DmPolicy::Allowlist),
        Just(DmPolicy::Open),
        Just(DmPolicy::Disabled)
    ]
}

fn group_policy() -> impl Strategy<Value = GroupPolicy> {
    prop_oneof![
        Just(GroupPolicy::Open),
        Just(GroupPolicy::Allowlist),
        Just(GroupPolicy::Disabled)
    ]
}

fn entries() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(ENTRY_POOL, 0..ENTRY_POOL.len())
}

fn account() -> impl Strategy<Value = AccountId> {
    prop_oneof![
        Just(AccountId::default()),
        Just(AccountId::parse("work").unwrap())
    ]
}

fn policy() -> impl Strategy<Value = AccessPolicy> {
    (
        account(),
        dm_policy(),
        entries(),
        group_policy(),
        proptest::option::of(entries()),
        proptest::collection::vec(
            (
                prop_oneof![Just("*"), Just("120363000000000001@g.us"), Just("bad")],
                proptest::option::of(any::<bool>()),
            ),
            0..3,
        ),
        proptest::option::of(any::<bool>()),
        any::<bool>(),
        0usize..4,
        0u64..120,
    )
        .prop_map(|(account, dm, allow, gp, gaf, groups, scm, rr, max, ttl)| {
            let mut rules = GroupRules::new();
            for (k, rm) in groups {
                rules.insert(
                    k,
                    GroupRule {
                        require_mention: rm,
                    },
                );
            }
            let mut p = AccessPolicy::for_account(account);
            p.dm_policy = dm;
            p.allow_from = AllowList::parse(allow);
            p.group_policy = gp;
            p.group_allow_from = gaf.map(AllowList::parse);
            p.groups = rules;
            p.self_chat_mode = scm;
            p.send_read_receipts = rr;
            p.pairing.max_pending = max;
            p.pairing.ttl_minutes = ttl;
            p
        })
}

fn sender() -> impl Strategy<Value = Sender> {
    (
        proptest::option::of(proptest::sample::select(PHONES)),
        proptest::option::of(proptest::sample::select(LIDS)),
    )
        .prop_map(|(p, l)| Sender {
            phone: p.map(|p| Phone::parse(p).unwrap()),
            lid: l.map(|l| Lid::parse(l).unwrap()),
        })
}

fn snapshot() -> impl Strategy<Value = AllowSnapshot> {
    (
        entries(),
        proptest::collection::vec((sender(), any::<i64>(), any::<bool>()), 0..5),
        proptest::option::of(prop_oneof![
            Just(Activation::Mention),
            Just(Activation::Always)
        ]),
        any::<bool>(),
    )
        .prop_map(|(allowed, pairing, act, map)| {
            let mut s = AllowSnapshot::new();
            s.allowed = AllowList::parse(allowed.into_iter().filter(|e| e.trim() != "*"));
            s.pairing = pairing
                .into_iter()
                .map(|(sender, created_at_ms, rejected)| PendingPairing {
                    sender,
                    created_at_ms,
                    rejected,
                })
                .collect();
            if let Some(a) = act {
                s.set_activation(&Jid::parse("120363000000000001@g.us").unwrap(), a);
            }
            if map {
                s.lid_map.insert(
                    Lid::parse(LIDS[0]).unwrap(),
                    Phone::parse(PHONES[0]).unwrap(),
                );
                s.lid_map.insert(
                    Lid::parse(LIDS[2]).unwrap(),
                    Phone::parse(PHONES[2]).unwrap(),
                );
            }
            s
        })
}

fn own() -> impl Strategy<Value = SelfIdentity> {
    (any::<bool>(), any::<bool>()).prop_map(|(p, l)| SelfIdentity {
        phone: p.then(|| Phone::parse("+15550000001").unwrap()),
        lid: l.then(|| Lid::parse("900000000000001@lid").unwrap()),
    })
}

fn command() -> impl Strategy<Value = Option<Command>> {
    proptest::option::of(proptest::sample::select(TEXTS))
        .prop_map(|t| t.and_then(|t| wagw_access::parse_command(t, &SelfIdentity::default(), &[])))
}

/// Any request: DMs (chat derived from the sender), groups, status, broadcast, newsletters.
fn request() -> impl Strategy<Value = AccessRequest> {
    (
        account(),
        proptest::option::of(proptest::sample::select(CHATS)),
        sender(),
        any::<bool>(),
        own(),
        any::<i64>(),
        any::<i64>(),
        any::<bool>(),
        any::<bool>(),
        command(),
    )
        .prop_map(
            |(account, chat, sender, from_me, own, ts, conn, mentioned, reply, command)| {
                let chat = match chat {
                    Some(c) => Jid::parse(c).unwrap(),
                    None => sender
                        .jid()
                        .unwrap_or_else(|| Jid::parse(CHATS[5]).unwrap()),
                };
                AccessRequest {
                    account,
                    chat,
                    sender,
                    from_me,
                    own,
                    timestamp_ms: ts,
                    connected_at_ms: conn,
                    mentioned,
                    reply_to_bot: reply,
                    command,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_request_panics(req in request(), policy in policy(), snap in snapshot(), now in any::<i64>()) {
        let d = decide(&req, &policy, &snap, now);
        let e = explain(&req, &policy, &snap, now);
        prop_assert_eq!(d.kind(), e.decision);
        prop_assert_eq!(d.reason(), e.reason);
        prop_assert!(!e.rule.is_empty());
        prop_assert!(serde_json::to_string(&e).is_ok());
    }

    #[test]
    fn open_with_wildcard_admits_every_dm(
        mut req in request(),
        mut policy in policy(),
        snap in snapshot(),
        now in any::<i64>(),
        lid_chat in any::<bool>(),
    ) {
        prop_assume!(req.sender.phone.is_some() || req.sender.lid.is_some());
        policy.dm_policy = DmPolicy::Open;
        let mut entries = policy.allow_from.entries();
        entries.push(wagw_access::AllowEntry::Any);
        policy.allow_from = entries.into_iter().collect();
        req.account = policy.account.clone();
        req.from_me = false;
        // A DM in the sender's own chat (by phone or, when known, by LID).
        req.chat = match (&req.sender.lid, lid_chat) {
            (Some(l), true) => l.to_jid(),
            _ => req.sender.jid().unwrap(),
        };
        let d = decide(&req, &policy, &snap, now);
        prop_assert!(d.is_allowed(), "denied: {:?} for {:?}", d, req);
    }
}
