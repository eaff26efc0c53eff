//! `wagw channels login` with no gateway running (the seeds' order: link, then start): the
//! CLI opens the account's transport itself, shows the QR (or requests a pair code with
//! `--phone`, or walks through the passkey steps), stores the credentials in the account's
//! `authDir` and exits once WhatsApp confirms the link. The gateway started afterwards finds
//! the account linked.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use wagw_config::{Config, Transport};
use wagw_core::{AccountId, Phone, SocketEvent, WaSocket};
use wagw_gateway::{TransportFactory, TransportSettings};

use super::channels::LoginArgs;
use crate::error::CliError;
use crate::runtime::transport::Transports;

/// Links `account` directly; `interactive` redraws the QR in place.
pub async fn link(
    config: &Config,
    account: &AccountId,
    args: &LoginArgs,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let resolved = config.resolve_account(account)?;
    if resolved.transport == Transport::Sim {
        return Err(CliError::Usage(format!(
            "account {account} runs on the simulator, which lives inside the gateway: start \
             `wagw gateway --sim --unlinked`, then run `wagw channels login --account {account}` \
             (a simulated phone scans with POST /v1/sim/scan)"
        )));
    }
    if args.passkey_assertion.is_some() || args.passkey_confirm {
        return Err(CliError::Usage(
            "--passkey-assertion and --passkey-confirm continue a link the running gateway \
             holds; without a gateway, `wagw channels login` asks for the passkey steps itself"
                .to_owned(),
        ));
    }
    let phone = args
        .code
        .as_deref()
        .map(|p| Phone::parse(p).map_err(|e| CliError::Usage(format!("--phone: {e} (use +E.164)"))))
        .transpose()?;
    let socket = Transports {
        sim: None,
        force_sim: false,
        database: config.storage().url.clone(),
    }
    .create(
        account,
        &TransportSettings {
            auth_dir: resolved.auth_dir.clone(),
            name: resolved.name.clone(),
            kind: resolved.transport,
        },
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    if let Some(me) = socket.own_identity().filter(|_| !args.force) {
        writeln!(
            out,
            "Account {account} is already linked as {}. Start the gateway with `wagw gateway`; \
             relink with `wagw channels login --account {account} --force`.",
            me.phone
        )
        .ok();
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "No gateway is running: linking account {account} directly (credentials go to {}).",
        resolved.auth_dir.display()
    )
    .ok();
    let result = tokio::time::timeout(
        Duration::from_secs(args.timeout),
        follow(&*socket, account, phone.as_ref(), interactive, out),
    )
    .await;
    socket.disconnect().await;
    match result {
        Ok(r) => r,
        Err(_) => Err(CliError::Failed(format!(
            "not linked after {}s. Run `wagw channels login --account {account}` to try again (--timeout to wait longer)",
            args.timeout
        ))),
    }
}

/// Drives one connection until it is linked or fails.
async fn follow(
    socket: &dyn WaSocket,
    account: &AccountId,
    phone: Option<&Phone>,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let connect = || async {
        socket.connect().await.map_err(|e| {
            CliError::Failed(format!(
                "cannot connect account {account} to WhatsApp: {e}. Check that this host reaches WhatsApp (DNS, firewall, proxy), then run `wagw channels login --account {account}` again"
            ))
        })
    };
    let mut events = connect().await?;
    let mut requested = false;
    // After `Paired` WhatsApp closes the stream (515, restart required) and the saved link
    // connects again; a couple of such restarts are part of linking.
    let mut paired = false;
    let mut restarts = 0;
    loop {
        let Some(event) = events.recv().await else {
            break;
        };
        match event {
            SocketEvent::QrCode { code, expires_in } => match phone {
                // The connection is ready for linking: ask for the pair code once.
                Some(p) if !requested => {
                    requested = true;
                    let code = socket.request_pair_code(p).await.map_err(|e| {
                        CliError::Failed(format!("WhatsApp refused a pair code for {p}: {e}"))
                    })?;
                    writeln!(
                        out,
                        "Pair code for account {account}: {code}\nOn the phone with {p}: WhatsApp → Settings → Linked devices → Link a device → Link with phone number instead, then type the code."
                    )
                    .ok();
                }
                Some(_) => {}
                None => {
                    super::channels::draw_qr(out, &code, interactive)?;
                    writeln!(
                        out,
                        "(valid for {}s; a new one follows)",
                        expires_in.as_secs()
                    )
                    .ok();
                }
            },
            SocketEvent::PairCode { .. } => {}
            SocketEvent::QrCodesExhausted => {
                return Err(CliError::Failed(format!(
                    "no QR was scanned in time. Run `wagw channels login --account {account}` again (or link with --phone <number>)"
                )));
            }
            SocketEvent::PairCodeError { detail } => {
                return Err(CliError::Failed(format!(
                    "the pair code request failed: {detail}. Check the number, or link with the QR (without --phone)"
                )));
            }
            SocketEvent::PasskeyRequired { options_json } => {
                writeln!(
                    out,
                    "WhatsApp asks for a passkey to link account {account}. Request options for an \
                     authenticator that holds this account's passkey (navigator.credentials.get):\n{options_json}\n\
                     Paste the assertion JSON it returns on one line (or link with --phone <number> instead):"
                )
                .ok();
                let assertion = read_line("the passkey assertion")?;
                socket
                    .submit_passkey_assertion(assertion.trim())
                    .await
                    .map_err(|e| CliError::Failed(format!("passkey assertion refused: {e}")))?;
            }
            SocketEvent::PasskeyConfirmation { code, .. } => {
                writeln!(
                    out,
                    "Passkey accepted. When the phone shows the code {code}, press Enter to confirm (Ctrl-C to stop)."
                )
                .ok();
                read_line("the confirmation")?;
                socket
                    .confirm_passkey()
                    .await
                    .map_err(|e| CliError::Failed(format!("passkey confirmation refused: {e}")))?;
            }
            SocketEvent::PasskeyError { detail } => {
                return Err(CliError::Failed(format!(
                    "the passkey step failed: {detail}. Link with --phone <number> or the QR instead"
                )));
            }
            // Paired: the credentials are being stored; the first full connection
            // confirms them.
            SocketEvent::Paired { identity } => {
                paired = true;
                writeln!(out, "Paired as {}; finishing the link...", identity.phone).ok();
            }
            SocketEvent::Connected { identity } => {
                writeln!(
                    out,
                    "✅ Linked as {}! WhatsApp account {account} is ready; start the gateway with `wagw gateway`.",
                    identity.phone
                )
                .ok();
                return Ok(ExitCode::SUCCESS);
            }
            SocketEvent::Closed(_) if paired && restarts < 3 => {
                restarts += 1;
                events = connect().await?;
            }
            SocketEvent::Closed(reason) => {
                return Err(CliError::Failed(format!(
                    "WhatsApp closed the connection before account {account} was linked: {reason}. \
                     Check that this host reaches WhatsApp (DNS, firewall, proxy), then run \
                     `wagw channels login --account {account}` again"
                )));
            }
            // Messages and receipts before the link completes are not ours to handle;
            // unacknowledged, WhatsApp delivers them again to the gateway.
            _ => {}
        }
    }
    Err(CliError::Failed(format!(
        "the connection of account {account} ended before it was linked; run `wagw channels login --account {account}` again"
    )))
}

/// One line from stdin, for the passkey steps.
fn read_line(what: &str) -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read {what} from stdin: {e}")))?;
    if line.is_empty() {
        return Err(CliError::Failed(format!(
            "stdin closed before {what} was given"
        )));
    }
    Ok(line)
}
