//! `wagw demo`: the real gateway on the simulated network with a built-in echo agent,
//! playing a scripted conversation and printing what each side sees. No phone, no network,
//! no config file; finishes in seconds.

use std::io::Cursor;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use wagw_core::{AccountId, SocketError, WaSocket};
use wagw_gateway::{
    Clock, Gateway, GatewaySettings, InboundTurn, MediaSource, Reply, TransportSettings, sink_fn,
};
use wagw_sim::{SimNetwork, SimPhone, SimSocket};

use super::Context;
use crate::error::CliError;

/// `wagw demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's data directory here instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
}

const BOT: &str = "+15550009999";
const OWNER: &str = "+15550001111";

/// The demo's configuration: the owner is allowlisted, strangers pair, groups answer when
/// mentioned. Pacing is loosened so the script runs in seconds (the defaults protect a real
/// number from being flagged for bulk sending).
const CONFIG: &str = r#"{
  identity: { name: "Demo" },
  channels: { whatsapp: {
    allowFrom: ["+15550001111"],
    groupPolicy: "open",
    pacing: { messagesPerMinute: 600, burst: 50, perChatMinIntervalMs: 0, typingIndicator: false },
  } },
}"#;

/// The gateway's clock on the simulator's, so message times and the gateway agree.
struct SimTime(wagw_sim::SimClock);

impl Clock for SimTime {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

/// Runs the demo.
pub fn run(args: DemoArgs, _ctx: &Context) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(demo(args))?;
    Ok(ExitCode::SUCCESS)
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(format!("demo: {e}"))
}

/// The built-in agent: echoes, and answers "long" and "photo" requests with a long text
/// and a big image (to show chunking and image shrinking).
fn agent(turn: &InboundTurn) -> Vec<Reply> {
    let text = turn.raw_body.to_lowercase();
    if text.contains("long") {
        let paragraph = "WhatsApp caps a message, so the gateway splits long replies at \
                         paragraph and sentence boundaries, never inside a word. ";
        let mut long = String::new();
        while long.chars().count() < 10_000 {
            long.push_str(paragraph);
        }
        let long: String = long.chars().take(10_000).collect();
        return vec![Reply::text(long)];
    }
    if text.contains("photo") {
        return vec![Reply::media(
            MediaSource::Bytes {
                data: big_photo().into(),
                mime: Some("image/png".to_owned()),
                file_name: Some("sunset.png".to_owned()),
            },
            Some("Here is the photo".to_owned()),
        )];
    }
    vec![Reply::text(format!("Echo: {}", turn.raw_body))]
}

/// A 1800×1800 PNG with noise (about 9 MB: over the 5 MB outbound image cap), made once.
fn big_photo() -> Vec<u8> {
    static PHOTO: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PHOTO.get_or_init(make_photo).clone()
}

fn make_photo() -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let image = image::RgbImage::from_fn(1800, 1800, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state & 0x3f) as u8;
        image::Rgb([
            (x / 10) as u8 ^ n,
            (y / 10) as u8 ^ n,
            ((x + y) / 20) as u8 ^ n,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    // Encoding into memory cannot fail for an RGB image; an empty result would simply be
    // reported by the gateway as a failed media item.
    let _ = image.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

async fn settle(net: &SimNetwork, account: &SimSocket) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if net.is_connected(account) && net.pending_inbound(account) == 0 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            if net.pending_inbound(account) == 0 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn said(who: &str, to: &str, text: &str) {
    let shown: String = text.chars().take(160).collect();
    let more = if text.chars().count() > 160 {
        " …"
    } else {
        ""
    };
    outln!(
        "  {who:<7} → {to:<7} {}{more}",
        shown.replace('\n', "\n                    ")
    );
}

/// Prints what `phone` received since `seen` entries, returns the new count.
fn show_received(phone: &SimPhone, name: &str, seen: usize) -> usize {
    let received = phone.received();
    for entry in received.iter().skip(seen) {
        match (&entry.media, &entry.text) {
            (Some(media), caption) => said(
                "bot",
                name,
                &format!(
                    "[{} {}, {:.2} MB{}{}]",
                    media.kind.as_str(),
                    media.mime,
                    media.size as f64 / 1_048_576.0,
                    media
                        .width
                        .zip(media.height)
                        .map(|(w, h)| format!(", {w}×{h}"))
                        .unwrap_or_default(),
                    caption
                        .as_deref()
                        .map(|c| format!(", caption \"{c}\""))
                        .unwrap_or_default()
                ),
            ),
            (None, Some(text)) => said("bot", name, text),
            (None, None) => said("bot", name, &format!("[{:?}]", entry.kind)),
        }
    }
    received.len()
}

async fn demo(args: DemoArgs) -> Result<(), CliError> {
    let tmp = tempfile_dir()?;
    let data_dir = args.data_dir.unwrap_or_else(|| tmp.clone());
    let net = SimNetwork::with_seed(42);
    let account = net.linked_account("default", BOT);
    let settings = GatewaySettings::from_json5(CONFIG, &data_dir).map_err(fail)?;

    let turns: Arc<std::sync::Mutex<Vec<InboundTurn>>> = Arc::default();
    let seen_turns = turns.clone();
    let sink = sink_fn(move |turn: InboundTurn| {
        let seen = seen_turns.clone();
        async move {
            let replies = agent(&turn);
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(turn);
            Ok(replies)
        }
    });
    let socket = account.clone();
    let gateway = Gateway::builder()
        .settings(settings)
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(socket.clone()))
            },
        )
        .clock(Arc::new(SimTime(net.clock().clone())))
        .sink_arc(sink)
        .start()
        .await
        .map_err(fail)?;
    settle(&net, &account).await;
    let id = AccountId::default_account();
    let last_turn = || {
        turns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
    };
    let show_turn = |turn: Option<InboundTurn>| {
        if let Some(turn) = turn {
            outln!("  agent sees:");
            for line in turn.body.lines().take(12) {
                outln!("    | {line}");
            }
        }
    };

    outln!("wagw demo — the gateway on a simulated WhatsApp network");
    outln!(
        "  bot account {BOT} (owner {OWNER}); policy: dmPolicy pairing, groups answer when mentioned\n"
    );

    let bob = net.phone("+15550002222").named("Bob");
    let carol = net.phone("+15550003333").named("Carol");
    let mut bob_seen = 0;

    outln!("1. An unknown sender gets a pairing code");
    said("Bob", "bot", "Hi, who are you?");
    bob.send_text(&account, "Hi, who are you?").await;
    settle(&net, &account).await;
    bob_seen = show_received(&bob, "Bob", bob_seen);
    let pending = gateway.pairing_pending(&id).map_err(fail)?;
    let code = pending
        .first()
        .map(|p| p.code.clone())
        .ok_or_else(|| fail("no pairing request was created"))?;

    outln!("\n2. The owner approves it");
    outln!("  owner   $ wagw pairing approve whatsapp {code}");
    let approved = gateway.approve_pairing(&id, &code).map_err(fail)?;
    outln!("  gateway   approved {}", approved.request.sender);

    outln!("\n3. The sender is answered");
    said("Bob", "bot", "Hi again!");
    bob.send_text(&account, "Hi again!").await;
    settle(&net, &account).await;
    show_turn(last_turn());
    bob_seen = show_received(&bob, "Bob", bob_seen);

    outln!("\n4. In a group, no mention: kept as context; a mention: answered with that history");
    let group = net
        .group("Weekend trip")
        .with(&[&bob, &carol])
        .with_account(&account);
    said("Carol", "group", "Who's driving on Saturday?");
    carol
        .send_group_text(&group, "Who's driving on Saturday?")
        .await;
    settle(&net, &account).await;
    outln!("  (no mention: nothing reaches the agent)");
    let bot = net
        .owner(&account)
        .ok_or_else(|| fail("the bot has no phone"))?;
    said("Bob", "group", "@Demo can you remind us at 8?");
    bob.message_in(&group)
        .text("@Demo can you remind us at 8?")
        .mention(&bot)
        .send()
        .await;
    settle(&net, &account).await;
    show_turn(last_turn());
    for entry in net.sent_to(&account, &group.jid()) {
        if let Some(text) = &entry.text {
            said("bot", "group", text);
        }
    }

    outln!("\n5. A quoted reply shows the [Replying to …] block");
    let quoted = bob
        .received()
        .last()
        .map(|e| e.key())
        .ok_or_else(|| fail("Bob has no message to quote"))?;
    said("Bob", "bot", "(replying to \"Echo: Hi again!\") thanks!");
    bob.reply_text(&account, &quoted, "thanks!").await;
    settle(&net, &account).await;
    show_turn(last_turn());
    bob_seen = show_received(&bob, "Bob", bob_seen);

    outln!("\n6. A 10,000-character reply arrives as chunks");
    said("Bob", "bot", "Tell me something long");
    bob.send_text(&account, "Tell me something long").await;
    settle(&net, &account).await;
    let received = bob.received();
    let chunks: Vec<usize> = received
        .iter()
        .skip(bob_seen)
        .filter_map(|e| e.text.as_ref().map(|t| t.chars().count()))
        .collect();
    outln!(
        "  bot     → Bob     {} message(s) of {:?} characters",
        chunks.len(),
        chunks
    );
    bob_seen = received.len();

    outln!("\n7. An image reply is shrunk under the cap");
    outln!(
        "  agent   replies with a {:.1} MB PNG",
        big_photo().len() as f64 / 1_048_576.0
    );
    said("Bob", "bot", "Send me a photo");
    bob.send_text(&account, "Send me a photo").await;
    settle(&net, &account).await;
    show_received(&bob, "Bob", bob_seen);

    let metrics = gateway.metrics();
    if let Some(m) = metrics.get(&id) {
        outln!(
            "\nmetrics: {} in, {} out, {} turns, {} pairing challenge(s), drops {:?}",
            m.messages_in,
            m.messages_out,
            m.turns_delivered,
            m.pairing_challenges,
            m.drops
        );
    }
    gateway.shutdown().await.map_err(fail)?;
    drop(gateway);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// A fresh private temporary directory for the demo's data.
fn tempfile_dir() -> Result<std::path::PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("wagw-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
        what: "the demo's data directory",
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}
