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
        cloud: Default::default(),
    }
    .create(
        account,
        &TransportSettings {
            auth_dir: resolved.auth_dir.clone(),
            name: resolved.name.clone(),
            kind: resolved.transport,
            cloud: resolved.cloud.clone(),
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
        follow(
            &*socket,
            account,
            phone.as_ref(),
            interactive,
            &mut std::io::stdin().lock(),
            out,
        ),
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

/// Drives one connection until it is linked or fails. The passkey steps read the
/// operator's answers from `input` (stdin).
async fn follow(
    socket: &dyn WaSocket,
    account: &AccountId,
    phone: Option<&Phone>,
    interactive: bool,
    input: &mut dyn BufRead,
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
            // Once paired, the pairing connection's QR rotation may still tick (and run
            // out) before WhatsApp restarts the stream: the link is made, so neither is
            // shown nor fatal.
            SocketEvent::QrCode { .. } | SocketEvent::QrCodesExhausted if paired => {}
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
                let assertion = read_line(input, "the passkey assertion")?;
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
                read_line(input, "the confirmation")?;
                socket
                    .confirm_passkey()
                    .await
                    .map_err(|e| CliError::Failed(format!("passkey confirmation refused: {e}")))?;
                writeln!(
                    out,
                    "Confirmed; waiting for the phone to finish the link..."
                )
                .ok();
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

/// One line of the operator's input, for the passkey steps.
fn read_line(input: &mut dyn BufRead, what: &str) -> Result<String, CliError> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read {what} from stdin: {e}")))?;
    if line.is_empty() {
        return Err(CliError::Failed(format!(
            "stdin closed before {what} was given"
        )));
    }
    Ok(line)
}

/// The success path of a direct link, against the in-process fake WhatsApp server: the
/// real client shows a QR code (or, with a number, a pair code), a fake phone scans it (or
/// the code is typed on it), and `follow` rides the pairing, the stream restart and the
/// first login through to "Linked as".
///
/// This runs in-process, not through the built `wagw`: the fake server is an in-process
/// transport (channels, no sockets) that a separate process cannot reach, and a shipped
/// `wagw` verifies WhatsApp's certificate chain, which the fake's self-made chain does not
/// pass. The binary tests (tests/cli/onboarding.rs) cover what `link` adds around `follow`:
/// the simulator refusal, argument checks and the failure paths over the real transport.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use bytes::Bytes;
    use tokio::sync::mpsc;
    use wagw_core::{
        ChatPresence, GroupMetadata, Jid, Lid, MediaKind, MediaRef, MessageId, MessageKey,
        OutboundMessage, OwnIdentity, SendReceipt, SocketError, SocketEvents, UploadedMedia,
    };
    use wagw_fakewa::{ConnKind, FakeConfig, FakeWhatsApp};
    use wagw_socket::{SocketConfig, WhatsAppSocket};

    use super::*;

    /// What [`Camera`] reports once the passkey assertion went through.
    const SUBMITTED: &str = "(passkey assertion submitted)";
    /// What [`Camera`] reports once the passkey confirmation went through.
    const CONFIRMED: &str = "(passkey confirmed)";

    /// Waits until the camera reports `marker` (what it shows meanwhile is skipped).
    async fn until_shown(shown: &mut mpsc::UnboundedReceiver<String>, marker: &str) {
        while let Some(seen) = shown.recv().await {
            if seen == marker {
                return;
            }
        }
        panic!("the socket went away before {marker}");
    }

    /// The real socket, with each QR string and pair code it shows copied to the test (the
    /// fake phone's camera, the user's eyes): `follow` draws the QR as terminal art.
    struct Camera {
        socket: WhatsAppSocket,
        shown: mpsc::UnboundedSender<String>,
    }

    #[async_trait::async_trait]
    impl WaSocket for Camera {
        async fn connect(&self) -> Result<SocketEvents, SocketError> {
            let mut inner = self.socket.connect().await?;
            let (tx, rx) = mpsc::channel(64);
            let shown = self.shown.clone();
            tokio::spawn(async move {
                while let Some(event) = inner.recv().await {
                    if let SocketEvent::QrCode { code, .. } | SocketEvent::PairCode { code, .. } =
                        &event
                    {
                        let _ = shown.send(code.clone());
                    }
                    if tx.send(event).await.is_err() {
                        break;
                    }
                }
            });
            Ok(rx)
        }
        async fn disconnect(&self) {
            self.socket.disconnect().await
        }
        async fn logout(&self) -> Result<(), SocketError> {
            self.socket.logout().await
        }
        async fn request_pair_code(&self, phone: &Phone) -> Result<String, SocketError> {
            self.socket.request_pair_code(phone).await
        }
        async fn submit_passkey_assertion(&self, assertion: &str) -> Result<(), SocketError> {
            let submitted = self.socket.submit_passkey_assertion(assertion).await;
            // WhatsApp continues once it has answered the prologue; the client takes the
            // continuation only from then on.
            let _ = self.shown.send(SUBMITTED.to_owned());
            submitted
        }
        async fn confirm_passkey(&self) -> Result<(), SocketError> {
            let confirmed = self.socket.confirm_passkey().await;
            // The phone may finish the link only once the client has the answer (it
            // commits its new adv secret then), as a person at the phone would.
            let _ = self.shown.send(CONFIRMED.to_owned());
            confirmed
        }
        fn own_identity(&self) -> Option<OwnIdentity> {
            self.socket.own_identity()
        }
        async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, SocketError> {
            self.socket.send(message).await
        }
        async fn upload_media(
            &self,
            data: Bytes,
            kind: MediaKind,
        ) -> Result<UploadedMedia, SocketError> {
            self.socket.upload_media(data, kind).await
        }
        async fn download_media(
            &self,
            media: &MediaRef,
            kind: MediaKind,
        ) -> Result<Bytes, SocketError> {
            self.socket.download_media(media, kind).await
        }
        async fn request_media_reupload(
            &self,
            message: &MessageKey,
            media: &MediaRef,
        ) -> Result<MediaRef, SocketError> {
            self.socket.request_media_reupload(message, media).await
        }
        async fn mark_read(
            &self,
            chat: &Jid,
            sender: Option<&Jid>,
            ids: &[MessageId],
        ) -> Result<(), SocketError> {
            self.socket.mark_read(chat, sender, ids).await
        }
        async fn send_chat_presence(
            &self,
            chat: &Jid,
            presence: ChatPresence,
        ) -> Result<(), SocketError> {
            self.socket.send_chat_presence(chat, presence).await
        }
        async fn group_metadata(&self, group: &Jid) -> Result<GroupMetadata, SocketError> {
            self.socket.group_metadata(group).await
        }
        async fn lid_for_phone(&self, phone: &Phone) -> Result<Option<Lid>, SocketError> {
            self.socket.lid_for_phone(phone).await
        }
        async fn phone_for_lid(&self, lid: &Lid) -> Result<Option<Phone>, SocketError> {
            self.socket.phone_for_lid(lid).await
        }
    }

    /// An unlinked account `default` on `server` behind a [`Camera`], with what it shows.
    fn unlinked(
        server: &FakeWhatsApp,
    ) -> (
        tempfile::TempDir,
        AccountId,
        wagw_store::Location,
        Camera,
        mpsc::UnboundedReceiver<String>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let account = AccountId::default_account();
        let mut config = SocketConfig::new(account.clone(), dir.path().join("accounts/default"));
        config.version = Some((2, 3000, 1_023_000_000));
        let location = config.store_location.clone();
        let (shown_tx, shown_rx) = mpsc::unbounded_channel();
        let camera = Camera {
            socket: WhatsAppSocket::with_test_transport(config, server.factory()).unwrap(),
            shown: shown_tx,
        };
        (dir, account, location, camera, shown_rx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scanned_qr_links_the_account_and_the_store_keeps_it() {
        let server = FakeWhatsApp::new(FakeConfig::default());
        let (_dir, account, location, camera, mut qr_rx) = unlinked(&server);

        let phone = async {
            let conn = server
                .next_connection()
                .await
                .expect("the CLI never connected");
            assert_eq!(conn.kind(), &ConnKind::Registration);
            let qr = tokio::time::timeout(Duration::from_secs(30), qr_rx.recv())
                .await
                .expect("no QR code within 30s")
                .expect("the socket went away");
            let device = conn.scan_qr(&qr, "15550001234").expect("the phone scans");
            // Kept until `follow` is done: dropping the handle ends the connection, and the
            // client still has to answer the pair-success on it.
            (conn, device)
        };
        let (mut out, mut no_input) = (Vec::new(), std::io::empty());
        let (result, (_conn, device)) = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(
                follow(&camera, &account, None, false, &mut no_input, &mut out),
                phone
            )
        })
        .await
        .expect("follow did not finish within 60s");
        let out = String::from_utf8(out).unwrap();
        let result = result.unwrap_or_else(|e| panic!("follow failed: {e:?}\n{out}"));
        assert_eq!(result, ExitCode::SUCCESS, "{out}");
        assert!(out.contains("Scan this QR"), "{out}");
        assert!(
            out.contains("Paired as +15550001234; finishing the link..."),
            "{out}"
        );
        assert!(out.contains("✅ Linked as +15550001234!"), "{out}");
        assert_eq!(server.linked_devices(), vec![device]);

        camera.disconnect().await;
        drop(camera);
        // What `wagw channels status` and the gateway read: the stored link.
        let stored = wagw_socket::linked_identity(&location)
            .expect("the store reopens")
            .expect("the link is stored");
        assert_eq!(stored.phone.to_string(), "+15550001234");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_typed_pair_code_links_the_account() {
        let server = FakeWhatsApp::new(FakeConfig::default());
        let (_dir, account, location, camera, mut shown_rx) = unlinked(&server);
        let number = Phone::parse("+15550001234").unwrap();

        let phone = async {
            let mut conn = server
                .next_connection()
                .await
                .expect("the CLI never connected");
            // The QR strings come first; the pair code is the 8-character one.
            let code = loop {
                let shown = tokio::time::timeout(Duration::from_secs(30), shown_rx.recv())
                    .await
                    .expect("no pair code within 30s")
                    .expect("the socket went away");
                if !shown.contains(',') {
                    break shown;
                }
            };
            let device = conn
                .enter_pair_code("15550001234", &code, Duration::from_secs(30))
                .await
                .expect("the phone completes the pair code");
            (conn, code, device)
        };
        let (mut out, mut no_input) = (Vec::new(), std::io::empty());
        let (result, (_conn, code, device)) =
            tokio::time::timeout(Duration::from_secs(90), async {
                tokio::join!(
                    follow(
                        &camera,
                        &account,
                        Some(&number),
                        false,
                        &mut no_input,
                        &mut out
                    ),
                    phone
                )
            })
            .await
            .expect("follow did not finish within 90s");
        let out = String::from_utf8(out).unwrap();
        let result = result.unwrap_or_else(|e| panic!("follow failed: {e:?}\n{out}"));
        assert_eq!(result, ExitCode::SUCCESS, "{out}");
        assert!(
            out.contains(&format!("Pair code for account default: {code}")),
            "{out}"
        );
        assert!(!out.contains("Scan this QR"), "{out}");
        assert!(out.contains("✅ Linked as +15550001234!"), "{out}");
        assert_eq!(server.linked_devices(), vec![device]);

        camera.disconnect().await;
        drop(camera);
        let stored = wagw_socket::linked_identity(&location)
            .expect("the store reopens")
            .expect("the link is stored");
        assert_eq!(stored.phone, number);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_passkey_link_takes_the_operators_answers_and_links_the_account() {
        let server = FakeWhatsApp::new(FakeConfig::default());
        let (_dir, account, location, camera, mut shown_rx) = unlinked(&server);
        let options = r#"{"challenge":"AAEC","rpId":"whatsapp.com","allowCredentials":[]}"#;
        // What the operator pastes: the authenticator's assertion, then Enter to confirm.
        let assertion = serde_json::json!({
            "id": "AQIDBA", "rawId": "AQIDBA", "type": "public-key",
            "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA",
                         "userHandle": null},
        });
        let mut input = std::io::Cursor::new(format!("{assertion}\n\n"));

        let phone = async {
            let mut conn = server
                .next_connection()
                .await
                .expect("the CLI never connected");
            // Registered (a QR is shown), WhatsApp asks this companion for a passkey.
            let first = tokio::time::timeout(Duration::from_secs(30), shown_rx.recv()).await;
            assert!(first.expect("no QR within 30s").is_some());
            conn.request_passkey(options);
            until_shown(&mut shown_rx, SUBMITTED).await;
            conn.continue_passkey_as_phone();
            until_shown(&mut shown_rx, CONFIRMED).await;
            let device = conn
                .finish_passkey("15550001234", Duration::from_secs(30))
                .await
                .expect("the phone finishes the passkey link");
            (conn, device)
        };
        let mut out = Vec::new();
        let joined = tokio::time::timeout(Duration::from_secs(90), async {
            tokio::join!(
                follow(&camera, &account, None, false, &mut input, &mut out),
                phone
            )
        })
        .await;
        let out = String::from_utf8(out).unwrap();
        let (result, (_conn, device)) =
            joined.unwrap_or_else(|_| panic!("follow did not finish within 90s\n{out}"));
        let result = result.unwrap_or_else(|e| panic!("follow failed: {e:?}\n{out}"));
        assert_eq!(result, ExitCode::SUCCESS, "{out}");
        assert!(
            out.contains("WhatsApp asks for a passkey to link account default"),
            "{out}"
        );
        assert!(
            out.contains(options),
            "the request options are shown: {out}"
        );
        assert!(
            out.contains("Passkey accepted. When the phone shows the code"),
            "{out}"
        );
        assert!(out.contains("Confirmed; waiting for the phone"), "{out}");
        assert!(out.contains("✅ Linked as +15550001234!"), "{out}");
        assert_eq!(server.linked_devices(), vec![device]);

        camera.disconnect().await;
        drop(camera);
        let stored = wagw_socket::linked_identity(&location)
            .expect("the store reopens")
            .expect("the link is stored");
        assert_eq!(stored.phone.to_string(), "+15550001234");
    }
}
