//! `wagw channels login | logout | status`, over the running gateway's HTTP API.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use wagw_config::{AllowEntry, Config};

use super::{Context, block_on};
use crate::client::{Client, segment};
use crate::error::CliError;
use wagw_http::model::{
    AccountList, AccountView, LoginMethod, LoginRequest, LoginResponse, LoginState, LoginStatus,
    LogoutResponse,
};
use wagw_http::model_resources::{AccountResources, ProbeResult};
use wagw_http::qr;

/// `wagw channels ...`
#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// Link a WhatsApp account: shows a QR to scan (redrawn when it rotates), or with
    /// --code a pair code to type on the phone; waits until linked. When WhatsApp asks for
    /// a passkey it prints the request options; continue with --passkey-assertion, then
    /// --passkey-confirm.
    Login(LoginArgs),
    /// Unlink an account and delete its WhatsApp Web session.
    Logout(AccountArg),
    /// Per account: linked, running, connected, with what to do when something is off.
    Status(StatusArgs),
}

/// Options of `channels status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Also show each running account's transport: traffic, memory, store size, reconnects
    /// and the sizes of its caches and queues (`GET /v1/accounts/{id}/resources`).
    /// (`--verbose`/`-v` is the global log level.)
    #[arg(long)]
    pub resources: bool,
    /// Actively check each running connection: a ping WhatsApp must answer, with its
    /// round-trip time (`POST /v1/accounts/{id}/probe`).
    #[arg(long)]
    pub probe: bool,
    #[command(flatten)]
    pub channel: super::ChannelArg,
}

/// Options of `channels login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The account (default: the config's default account).
    #[arg(long)]
    pub account: Option<String>,
    /// Link with a pair code for this phone number instead of a QR (`--phone` is the
    /// seeds' spelling).
    #[arg(long, visible_alias = "phone", value_name = "PHONE")]
    pub code: Option<String>,
    /// Link again even if the account is linked.
    #[arg(long)]
    pub force: bool,
    /// Continue a link at its passkey step with the assertion JSON an authenticator
    /// returned for the printed options (a file, or - for stdin).
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["code", "force", "passkey_confirm"])]
    pub passkey_assertion: Option<String>,
    /// Finish a passkey link once the phone shows the same code as printed.
    #[arg(long, conflicts_with_all = ["code", "force"])]
    pub passkey_confirm: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    pub timeout: u64,
    #[command(flatten)]
    pub channel: super::ChannelArg,
}

/// `--account`.
#[derive(Debug, Args)]
pub struct AccountArg {
    /// The account (default: the config's default account).
    #[arg(long)]
    pub account: Option<String>,
    #[command(flatten)]
    pub channel: super::ChannelArg,
}

/// Runs a `channels` subcommand.
pub fn run(cmd: ChannelsCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    match &cmd {
        ChannelsCommand::Login(a) => a.channel.check()?,
        ChannelsCommand::Logout(a) => a.channel.check()?,
        ChannelsCommand::Status(a) => a.channel.check()?,
    }
    let config = ctx.load_config()?;
    let client = ctx.client(&config)?;
    let mut out = std::io::stdout();
    match cmd {
        ChannelsCommand::Login(args) => {
            let account = account_or_default(&config, args.account.as_deref());
            if let Ok(id) = wagw_core::AccountId::parse(&account)
                && config
                    .resolve_account(&id)
                    .is_ok_and(|a| a.transport == wagw_config::Transport::Cloud)
            {
                return Err(CliError::Usage(cloud_login_help(&id)));
            }
            let interactive = std::io::IsTerminal::is_terminal(&std::io::stdout());
            // No gateway answering (and none named by WAGW_URL): link directly, the seeds'
            // order (link first, then start the gateway).
            let direct = ctx.env.get(crate::client::WAGW_URL).is_none()
                && matches!(
                    block_on(client.healthy())?,
                    Err(CliError::Unreachable { .. })
                );
            if direct {
                let id = wagw_http::validate::account_id("--account", &account)?;
                return block_on(super::link::link(
                    &config,
                    &id,
                    &args,
                    interactive,
                    &mut out,
                ))?;
            }
            block_on(login(
                &client,
                &account,
                &args,
                interactive,
                Duration::from_secs(1),
                &mut out,
            ))?
        }
        ChannelsCommand::Logout(args) => {
            let account = account_or_default(&config, args.account.as_deref());
            let r: LogoutResponse = block_on(client.post(
                &format!("/v1/accounts/{}/logout", segment(&account)),
                &serde_json::json!({}),
            ))??;
            if ctx.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&r)?).ok();
            } else {
                writeln!(out, "{}", r.message).ok();
            }
            Ok(ExitCode::SUCCESS)
        }
        ChannelsCommand::Status(args) => {
            let now = now_ms();
            block_on(status(
                &client,
                &config,
                ctx.json,
                args.resources,
                args.probe,
                now,
                &mut out,
            ))?
        }
    }
}

/// What `channels login` says for a Cloud API account: there is nothing to link.
pub fn cloud_login_help(account: &wagw_core::AccountId) -> String {
    format!(
        "account {account} uses the WhatsApp Business Cloud API (transport: \"cloud\"), which \
         has no QR code or pair code: the number is registered in Meta's dashboard instead. \
         Set its cloud.accessToken and cloud.phoneNumberId (or WHATSAPP_ACCESS_TOKEN and \
         WHATSAPP_PHONE_NUMBER_ID), start `wagw gateway`, and in the app's WhatsApp → \
         Configuration set the callback URL to https://<your host>/v1/cloud/{account}/webhook \
         with cloud.verifyToken as the verify token, subscribed to the `messages` field. \
         `wagw config check` tells what is missing; docs/cloud-api.md walks through it"
    )
}

/// The account named, or the config's default.
pub fn account_or_default(config: &Config, account: Option<&str>) -> String {
    account
        .map(str::to_owned)
        .unwrap_or_else(|| config.default_account_id().to_string())
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Starts a login and follows it until linked, expired, failed or timed out.
pub async fn login(
    client: &Client,
    account: &str,
    args: &LoginArgs,
    interactive: bool,
    poll: Duration,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let path = format!("/v1/accounts/{}/login", segment(account));
    let mut shown = Shown::default();
    // A passkey step answers the prompt of a login already under way, then follows it.
    let passkey_step = if let Some(source) = &args.passkey_assertion {
        let assertion = read_assertion(source)?;
        let s: LoginStatus = client.post(&format!("{path}/passkey"), &assertion).await?;
        Some((s, "Passkey assertion sent"))
    } else if args.passkey_confirm {
        let s: LoginStatus = client
            .post(&format!("{path}/passkey/confirm"), &serde_json::json!({}))
            .await?;
        Some((s, "Passkey link confirmed"))
    } else {
        None
    };
    if let Some((s, said)) = passkey_step {
        writeln!(out, "{said} for account {account}.").ok();
        return follow(
            client,
            account,
            args,
            &path,
            s,
            interactive,
            poll,
            out,
            shown,
        )
        .await;
    }
    let request = LoginRequest {
        method: if args.code.is_some() {
            LoginMethod::Code
        } else {
            LoginMethod::Qr
        },
        phone: args.code.clone(),
        force: args.force,
    };
    let started: LoginResponse = client.post(&path, &request).await?;
    match (&started.qr, &started.code) {
        (Some(q), _) => {
            draw_qr(out, q, interactive)?;
            shown.qr = Some(q.clone());
        }
        (None, Some(code)) => {
            writeln!(out, "Pair code for account {account}: {code}").ok();
            writeln!(out, "{}", started.message).ok();
        }
        (None, None) => {}
    }
    writeln!(out, "Waiting for WhatsApp to link account {account}...").ok();
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    loop {
        tokio::time::sleep(poll).await;
        let s: LoginStatus = client.get(&path).await?;
        if let Some(done) = step(account, args, s, interactive, out, &mut shown)? {
            return Ok(done);
        }
        if Instant::now() >= deadline {
            return Err(CliError::Failed(format!(
                "not linked after {}s. Run `wagw channels login --account {account}` to try again (--timeout to wait longer)",
                args.timeout
            )));
        }
    }
}

/// What the login follower has printed already, so each prompt shows once.
#[derive(Debug, Default)]
struct Shown {
    qr: Option<String>,
    passkey_options: bool,
    passkey_code: Option<String>,
    error: Option<String>,
}

/// After a passkey step: shows the status it returned, then waits like a login.
#[allow(clippy::too_many_arguments)] // the login's context, passed through
async fn follow(
    client: &Client,
    account: &str,
    args: &LoginArgs,
    path: &str,
    first: LoginStatus,
    interactive: bool,
    poll: Duration,
    out: &mut dyn Write,
    mut shown: Shown,
) -> Result<ExitCode, CliError> {
    if let Some(done) = step(account, args, first, interactive, out, &mut shown)? {
        return Ok(done);
    }
    writeln!(out, "Waiting for WhatsApp to link account {account}...").ok();
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    loop {
        tokio::time::sleep(poll).await;
        let s: LoginStatus = client.get(path).await?;
        if let Some(done) = step(account, args, s, interactive, out, &mut shown)? {
            return Ok(done);
        }
        if Instant::now() >= deadline {
            return Err(CliError::Failed(format!(
                "not linked after {}s. Check `wagw channels status`, then continue with `wagw channels login --account {account}`",
                args.timeout
            )));
        }
    }
}

/// Reads a passkey assertion from a file or stdin (`-`) and checks it is JSON.
fn read_assertion(source: &str) -> Result<serde_json::Value, CliError> {
    let text = if source == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| CliError::Usage(format!("--passkey-assertion: cannot read stdin: {e}")))?
    } else {
        std::fs::read_to_string(source).map_err(|e| {
            CliError::Usage(format!("--passkey-assertion: cannot read {source}: {e}"))
        })?
    };
    serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "--passkey-assertion: {source} is not JSON ({e}); give the assertion your authenticator returned"
        ))
    })
}

/// Shows one login status; `Some(exit)` once the login is over.
fn step(
    account: &str,
    args: &LoginArgs,
    s: LoginStatus,
    interactive: bool,
    out: &mut dyn Write,
    shown: &mut Shown,
) -> Result<Option<ExitCode>, CliError> {
    if s.error.is_some() && s.error != shown.error {
        writeln!(out, "⚠ {}", s.error.as_deref().unwrap_or_default()).ok();
        shown.error = s.error.clone();
    }
    if let Some(options) = s
        .passkey_options
        .as_ref()
        .filter(|_| !shown.passkey_options)
    {
        writeln!(
            out,
            "WhatsApp asks for a passkey to link account {account}. Request options for an authenticator \
             that holds this account's passkey (navigator.credentials.get):\n{options}\n\
             Then run: wagw channels login --account {account} --passkey-assertion <file|->\n\
             Or link with a pair code instead: wagw channels login --account {account} --code <phone>"
        )
        .ok();
        shown.passkey_options = true;
    }
    if let Some(code) = s
        .passkey_code
        .as_ref()
        .filter(|c| shown.passkey_code.as_ref() != Some(*c))
    {
        writeln!(
            out,
            "Passkey accepted. Passkey code for account {account}: {code}\n\
             When the phone shows the same code, run: wagw channels login --account {account} --passkey-confirm"
        )
        .ok();
        shown.passkey_code = Some(code.clone());
    }
    match s.status {
        LoginState::Connected => {
            let phone = s.phone.map(|p| format!(" as {p}")).unwrap_or_default();
            writeln!(
                out,
                "✅ Linked{phone}! WhatsApp account {account} is ready."
            )
            .ok();
            Ok(Some(ExitCode::SUCCESS))
        }
        LoginState::Pending => {
            // A QR login shows each new QR; a code login keeps its code.
            if let Some(q) =
                s.qr.filter(|q| shown.qr.is_some() && shown.qr.as_ref() != Some(q))
            {
                draw_qr(out, &q, interactive)?;
                writeln!(
                    out,
                    "(QR refreshed) Waiting for WhatsApp to link account {account}..."
                )
                .ok();
                shown.qr = Some(q);
            }
            Ok(None)
        }
        LoginState::Expired => Err(CliError::Failed(format!(
            "the login {} expired before it was used. Run `wagw channels login --account {account}` again",
            if args.code.is_some() { "code" } else { "QR" }
        ))),
        LoginState::Failed | LoginState::Idle => Err(CliError::Failed(format!(
            "WhatsApp login failed: {}",
            s.message
        ))),
    }
}

pub(crate) fn draw_qr(
    out: &mut dyn Write,
    payload: &str,
    interactive: bool,
) -> Result<(), CliError> {
    let art = qr::terminal(payload).map_err(|e| CliError::Failed(e.to_string()))?;
    if interactive {
        // Clear the screen so the refreshed QR replaces the old one.
        write!(out, "\x1b[2J\x1b[H").ok();
    }
    writeln!(
        out,
        "Scan this QR in WhatsApp → Settings → Linked devices → Link a device:\n\n{art}"
    )
    .ok();
    Ok(())
}

/// The `--probe` lines: each running account's ping and its round-trip time.
fn render_probes(probes: &[ProbeResult]) -> String {
    let mut out = String::from("\nProbe (a ping WhatsApp must answer):\n");
    if probes.is_empty() {
        out.push_str("  no account is running\n");
    }
    for p in probes {
        match (p.ok, p.rtt_ms, &p.error) {
            (true, Some(ms), _) => out.push_str(&format!("  {}: ok, {ms} ms\n", p.account)),
            (_, _, Some(e)) => out.push_str(&format!("  {}: failed: {e}\n", p.account)),
            _ => out.push_str(&format!("  {}: failed\n", p.account)),
        }
    }
    out
}

/// `channels status`: the gateway's view, or the config's when no gateway answers.
pub async fn status(
    client: &Client,
    config: &Config,
    json: bool,
    resources_too: bool,
    probe: bool,
    now_ms: i64,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    match client.get::<AccountList>("/v1/accounts").await {
        Ok(list) => {
            let mut resources = Vec::new();
            if resources_too {
                for a in list.accounts.iter().filter(|a| a.running) {
                    let path = format!("/v1/accounts/{}/resources", segment(&a.id));
                    resources.push(client.get::<AccountResources>(&path).await?);
                }
            }
            let mut probes = Vec::new();
            if probe {
                for a in list.accounts.iter().filter(|a| a.running) {
                    let path = format!("/v1/accounts/{}/probe", segment(&a.id));
                    probes.push(
                        client
                            .post::<_, ProbeResult>(&path, &serde_json::json!({}))
                            .await?,
                    );
                }
            }
            if json {
                let mut doc =
                    serde_json::json!({"gateway": "reachable", "accounts": list.accounts});
                if resources_too {
                    doc["resources"] = serde_json::to_value(&resources)?;
                }
                if probe {
                    doc["probes"] = serde_json::to_value(&probes)?;
                }
                writeln!(out, "{}", serde_json::to_string_pretty(&doc)?).ok();
            } else {
                write!(
                    out,
                    "{}",
                    render_status(client.base(), &list.accounts, now_ms)
                )
                .ok();
                if resources_too {
                    write!(out, "{}", render_resources(&list.accounts, &resources)).ok();
                }
                if probe {
                    write!(out, "{}", render_probes(&probes)).ok();
                }
            }
            // `--probe` answers "is every running connection alive?" for scripts too.
            Ok(if probes.iter().all(|p| p.ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Err(CliError::Unreachable { url, reason }) if probe => Err(CliError::Unreachable {
            url,
            reason: format!("{reason}; --probe pings through the running gateway"),
        }),
        Err(CliError::Unreachable { url, reason }) => {
            if json {
                let accounts: Vec<_> = config
                    .accounts()
                    .iter()
                    .map(|a| {
                        let link = offline_link(config, a);
                        serde_json::json!({
                            "id": a.account_id, "enabled": a.enabled, "linked": link.linked(),
                            "selfPhone": link.phone(), "linkError": link.error(),
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&serde_json::json!({"gateway": "unreachable", "error": reason, "accounts": accounts}))?).ok();
            } else {
                writeln!(
                    out,
                    "Gateway not reachable at {url} ({reason}); showing config-only status."
                )
                .ok();
                for a in config.accounts() {
                    let name = a
                        .name
                        .as_ref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default();
                    let auth = offline_link(config, a).describe(&a.account_id);
                    writeln!(
                        out,
                        "- WhatsApp {}{name}: {}, {auth}, dm:{}{}",
                        a.account_id,
                        if a.enabled { "enabled" } else { "disabled" },
                        serde_json::to_value(a.dm_policy)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        allow_bit(
                            &a.allow_from
                                .iter()
                                .map(AllowEntry::to_string)
                                .collect::<Vec<_>>()
                        )
                    )
                    .ok();
                }
                writeln!(out, "Start it with `wagw gateway`.").ok();
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e),
    }
}

/// Whether an account is linked, read from its transport's own record (the protocol
/// store's device identity) while no gateway holds the store.
pub enum OfflineLink {
    /// Runs on the simulator, which links its accounts when the gateway starts.
    Simulated,
    /// Linked as this phone.
    Linked(String),
    /// Never linked, or logged out.
    NotLinked,
    /// The store could not be read (held by another process, damaged).
    Unknown(String),
}

impl OfflineLink {
    fn linked(&self) -> Option<bool> {
        match self {
            OfflineLink::Simulated | OfflineLink::Linked(_) => Some(true),
            OfflineLink::NotLinked => Some(false),
            OfflineLink::Unknown(_) => None,
        }
    }

    fn phone(&self) -> Option<&str> {
        match self {
            OfflineLink::Linked(p) => Some(p),
            _ => None,
        }
    }

    fn error(&self) -> Option<&str> {
        match self {
            OfflineLink::Unknown(e) => Some(e),
            _ => None,
        }
    }

    /// A status fragment with the next step.
    pub fn describe(&self, id: &wagw_core::AccountId) -> String {
        match self {
            OfflineLink::Simulated => "simulated (linked when the gateway starts)".to_owned(),
            OfflineLink::Linked(p) => format!("linked as {p}"),
            OfflineLink::NotLinked => {
                format!("not linked (run: wagw channels login --account {id})")
            }
            OfflineLink::Unknown(e) => format!("link state unknown ({e})"),
        }
    }
}

/// [`OfflineLink`] of `account`.
pub fn offline_link(
    config: &wagw_config::Config,
    account: &wagw_config::ResolvedAccount,
) -> OfflineLink {
    if account.transport == wagw_config::Transport::Sim {
        return OfflineLink::Simulated;
    }
    let location = match crate::storage::account(config, account) {
        Ok(l) => l,
        Err(e) => return OfflineLink::Unknown(e.to_string()),
    };
    match wagw_socket::linked_identity(&location) {
        Ok(Some(identity)) => OfflineLink::Linked(identity.phone.to_string()),
        Ok(None) => OfflineLink::NotLinked,
        Err(e) => OfflineLink::Unknown(e.to_string()),
    }
}

fn allow_bit(allow: &[String]) -> String {
    if allow.is_empty() {
        String::new()
    } else {
        format!(
            ", allow:{}",
            allow.iter().take(2).cloned().collect::<Vec<_>>().join(",")
        )
    }
}

/// `just now`, `<m>m ago`, `<h>h ago` (under 48 h), `<d>d ago`.
pub fn age(now_ms: i64, at_ms: i64) -> String {
    let secs = (now_ms - at_ms).max(0) / 1000;
    match secs {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 48 * 3600 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86400),
    }
}

/// `1.5 MB`, `820 kB`, `12 B` (decimal units, like the reference's status).
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1} GB", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0} kB", n as f64 / 1e3),
        n => format!("{n} B"),
    }
}

/// The `--resources` part of `channels status`: per running account, its reconnects and its
/// transport's traffic, memory, store and cache/queue sizes.
pub fn render_resources(accounts: &[AccountView], resources: &[AccountResources]) -> String {
    let mut s = String::new();
    if resources.is_empty() {
        return s;
    }
    s.push_str("\nTransport resources:\n");
    for r in resources {
        let view = accounts.iter().find(|a| a.id == r.account);
        s.push_str(&format!("- WhatsApp {}:", r.account));
        if let Some(a) = view {
            s.push_str(&format!(
                " reconnects {} in a row, {} total;",
                a.reconnect_attempts, a.reconnects_total
            ));
        }
        let Some(t) = &r.resources else {
            s.push_str(" the transport reports no resources\n");
            continue;
        };
        s.push_str(&format!(
            " {}, messages {} out / {} in, wire {} out / {} in, memory ~{}, store {}, undecryptable {}, events dropped {}\n",
            if t.connected { "connected" } else { "disconnected" },
            t.messages_sent,
            t.messages_received,
            bytes(t.bytes_sent),
            bytes(t.bytes_received),
            bytes(t.estimated_memory_bytes),
            bytes(t.store_bytes_on_disk),
            t.undecryptable,
            t.events_dropped,
        ));
        if !t.sizes.is_empty() {
            let sizes: Vec<String> = t.sizes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("    {}\n", sizes.join(", ")));
        }
    }
    s
}

/// The text of `channels status` for a reachable gateway: one line per account, then the
/// warnings with the command that fixes each.
pub fn render_status(base: &str, accounts: &[AccountView], now_ms: i64) -> String {
    let mut s = format!("Gateway reachable ({base}).\n");
    for a in accounts {
        let name = a
            .name
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let mut bits = vec![
            if a.enabled { "enabled" } else { "disabled" }.to_owned(),
            if a.linked { "linked" } else { "not linked" }.to_owned(),
            if a.state == "failed" {
                "failed"
            } else if a.running {
                "running"
            } else {
                "stopped"
            }
            .to_owned(),
            if a.connected {
                "connected"
            } else {
                "disconnected"
            }
            .to_owned(),
        ];
        if let Some(t) = a.last_inbound_at_ms {
            bits.push(format!("in:{}", age(now_ms, t)));
        }
        if let Some(t) = a.last_outbound_at_ms {
            bits.push(format!("out:{}", age(now_ms, t)));
        }
        bits.push(format!("dm:{}", a.dm_policy));
        if !a.allow_from.is_empty() {
            bits.push(format!(
                "allow:{}",
                a.allow_from
                    .iter()
                    .take(2)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        if let Some(e) = &a.last_error {
            bits.push(format!("error:{e}"));
        }
        s.push_str(&format!("- WhatsApp {}{name}: {}\n", a.id, bits.join(", ")));
    }
    let mut warnings = Vec::new();
    for a in accounts.iter().filter(|a| a.enabled) {
        if !a.linked {
            warnings.push(format!(
                "- whatsapp {id}: Not linked (no WhatsApp Web session). (Run: wagw channels login --account {id} (scan the QR on the gateway host).)",
                id = a.id
            ));
        } else if a.running && !a.connected {
            let err = a
                .last_error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_else(|| ".".to_owned());
            warnings.push(format!(
                "- whatsapp {id}: Linked but disconnected (reconnectAttempts={n}){err} (Run: wagw doctor (or restart the gateway). If it persists, relink via wagw channels login --account {id} and check the logs.)",
                id = a.id,
                n = a.reconnect_attempts
            ));
        }
    }
    if !warnings.is_empty() {
        s.push_str("\nWarnings:\n");
        for w in warnings {
            s.push_str(&w);
            s.push('\n');
        }
        s.push_str("- Run: wagw doctor\n");
    }
    s
}
