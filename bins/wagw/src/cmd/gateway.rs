//! `wagw gateway`: run the gateway and its HTTP API until SIGTERM/SIGINT; SIGHUP reloads.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::Context;
use crate::daemon::logging::LogFormat;
use crate::daemon::{files, token};
use crate::error::CliError;
use crate::runtime::{self, RuntimeOptions};
use wagw_http::{self, GatewayApi, RouterOptions};

/// `wagw gateway` options.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Run every account on the built-in WhatsApp simulator (no phone, no network) and
    /// serve /v1/sim/*.
    #[arg(long)]
    pub sim: bool,
    /// With --sim: start the simulated accounts unlinked, so `wagw channels login` (QR, or
    /// --phone for a pair code) links them; a simulated phone completes the link with
    /// `POST /v1/sim/scan`.
    #[arg(long, requires = "sim")]
    pub unlinked: bool,
    /// Log line format on stderr (and in --log-file).
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Also append logs to this file (created 0600).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

/// The checks that run before anything is written: a network-facing API needs a strong
/// token the operator chose, not one generated into a file on the host nor a word.
pub fn check_listen(listen: SocketAddr, configured_token: Option<&str>) -> Result<(), CliError> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    match configured_token {
        None => Err(CliError::NonLoopbackWithoutToken {
            addr: listen,
            port: listen.port(),
        }),
        Some(t) => match token::weakness(t) {
            Some(why) => Err(CliError::WeakToken {
                addr: listen,
                port: listen.port(),
                why,
            }),
            None => Ok(()),
        },
    }
}

/// Runs the gateway.
pub fn run(args: GatewayArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    for w in config.warnings() {
        tracing::warn!(target: "wagw::config", "{w}");
    }
    // Every start-time check before anything is written; `wagw config check` runs the
    // same ones (and warns about the listen rule, which depends on this environment).
    crate::preflight::check(&config)?;
    crate::preflight::listen_refusal(&config)?;
    let settings = config.gateway().clone();
    files::ensure_private_dir(&settings.data_dir).map_err(|source| CliError::Io {
        what: "the data directory",
        path: settings.data_dir.clone(),
        source,
    })?;
    let (token, source) = token::resolve(&settings)?;
    match &source {
        token::TokenSource::Configured => {
            tracing::info!(target: "wagw::daemon", "API token: configured (WAGW_TOKEN or gateway.token)")
        }
        token::TokenSource::File(p) => {
            tracing::info!(target: "wagw::daemon", path = %p.display(), "API token: generated file (print it with `wagw token`)")
        }
    }
    let limits =
        wagw_http::serve::Limits::for_open_files(wagw_http::serve::raise_open_file_limit());
    tracing::debug!(target: "wagw::daemon", max_connections = limits.max_connections, "HTTP limits");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        let started = runtime::start(
            &config,
            RuntimeOptions {
                sim: args.sim,
                sim_unlinked: args.unlinked,
            },
        )
        .await?;
        let api = started.api;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| CliError::Bind {
                addr: settings.listen,
                source,
            })?;
        let closing = CancellationToken::new();
        let app = wagw_http::router_until(
            api.clone(),
            token,
            RouterOptions { sim: started.sim },
            closing.clone(),
        );
        tracing::info!(target: "wagw::daemon", listen = %settings.listen, sim = args.sim,
            data_dir = %settings.data_dir.display(), "gateway listening");
        spawn_reload_on_sighup(api.clone());
        // When the signal came: the whole shutdown is measured from it.
        let (signalled_at, mut signal_seen) = tokio::sync::watch::channel(None);
        let signalled = {
            let closing = closing.clone();
            async move {
                shutdown_signal().await;
                signalled_at.send_replace(Some(tokio::time::Instant::now()));
                // Ends the event streams, so graceful shutdown only waits for requests.
                closing.cancel();
            }
        };
        let server = wagw_http::serve::serve(listener, app, limits, signalled);
        tokio::pin!(server);
        tokio::select! {
            () = &mut server => {}
            () = async {
                closing.cancelled().await;
                tokio::time::sleep(HTTP_DRAIN).await;
            } => {
                tracing::warn!(target: "wagw::daemon", secs = HTTP_DRAIN.as_secs(),
                    "HTTP requests still open after the drain period; closing them");
            }
        }
        let by = signal_seen
            .borrow_and_update()
            .unwrap_or_else(tokio::time::Instant::now)
            + SHUTDOWN_GRACE;
        tracing::info!(target: "wagw::daemon", "shutting down: finishing in-flight turns");
        api.shutdown(by)
            .await
            .map_err(|e| CliError::Runtime(format!("shutdown: {e}")))?;
        tracing::info!(target: "wagw::daemon", "stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// How long after SIGTERM the daemon may take to exit: HTTP requests, in-flight turns,
/// acknowledgements, the webhook worker's attempts and the store flush all end within it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long open HTTP requests may finish after SIGTERM before they are cut (event
/// streams end at once); the rest of [`SHUTDOWN_GRACE`] is for turns and stores.
const HTTP_DRAIN: Duration = Duration::from_secs(3);

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!(target: "wagw::daemon", "SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!(target: "wagw::daemon", "SIGINT received"),
                }
            }
            Err(e) => {
                tracing::warn!(target: "wagw::daemon", error = %e, "cannot watch SIGTERM; only Ctrl-C stops the gateway");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// SIGHUP → `GatewayApi::reload`, logged either way.
fn spawn_reload_on_sighup(api: Arc<dyn GatewayApi>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!(target: "wagw::daemon", "cannot watch SIGHUP; reload with POST /v1/reload");
            return;
        };
        while hup.recv().await.is_some() {
            match api.reload().await {
                Ok(r) => {
                    tracing::info!(target: "wagw::daemon", accounts = ?r.accounts, warnings = r.warnings.len(), "SIGHUP: config reloaded")
                }
                Err(e) => {
                    tracing::error!(target: "wagw::daemon", error = %e, "SIGHUP: reload refused; the running config stays in effect")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = api;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_needs_no_configured_token_other_addresses_a_strong_one() {
        let strong = "5f0c9a1e7b3d48c2a6e19f04d7b2c85e3a9f16d0c4e87b25f9a3d61c0e8b47a2";
        let ok = ["127.0.0.1:7420", "[::1]:7420", "127.0.0.2:1"];
        for a in ok {
            let addr: SocketAddr = a.parse().unwrap_or_else(|_| unreachable!());
            assert!(check_listen(addr, None).is_ok(), "{a}");
            assert!(check_listen(addr, Some("x")).is_ok(), "{a}");
        }
        for a in ["0.0.0.0:7420", "[::]:7420", "192.0.2.10:7420"] {
            let addr: SocketAddr = a.parse().unwrap_or_else(|_| unreachable!());
            let e = check_listen(addr, None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                e.contains("gateway.token") && e.contains("127.0.0.1:7420"),
                "{a}: {e}"
            );
            let e = check_listen(addr, Some("hunter2"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                e.contains("too weak") && e.contains("openssl rand -hex 32"),
                "{a}: {e}"
            );
            assert!(check_listen(addr, Some(strong)).is_ok(), "{a} with a token");
        }
    }
}
