//! `/config` from a chat, for the daemon: the decision is `wagw_config::chat`'s; here the
//! file is read, the candidate checked with the checks of `wagw config check`
//! ([`crate::preflight::check`]), written atomically in place and reloaded, and the change
//! recorded in the event log with who made it.

use std::sync::{Arc, OnceLock, Weak};

use async_trait::async_trait;
use wagw_config::chat::{ChatConfigOutcome, ChatConfigRequest};
use wagw_config::{Config, Env};
use wagw_gateway::{ConfigCommandRequest, ConfigCommands};
use wagw_http::GatewayApi;

use super::Runtime;

/// The event log kind of a change made from a chat.
pub const CONFIG_CHANGED: &str = "config_changed";

/// The daemon's [`ConfigCommands`]. The gateway is built before the [`Runtime`] that holds
/// it, so the runtime is attached once started.
#[derive(Default)]
pub struct DaemonConfigCommands {
    runtime: OnceLock<Weak<Runtime>>,
    /// One change at a time: each reads the file the previous one wrote.
    writing: tokio::sync::Mutex<()>,
}

impl DaemonConfigCommands {
    /// Connects the handler to the started runtime.
    pub fn attach(&self, runtime: &Arc<Runtime>) {
        let _ = self.runtime.set(Arc::downgrade(runtime));
    }
}

/// What a contact may see when something on the host failed: details (paths, OS errors)
/// go to the log only.
const HOST_FAILURE: &str =
    "⚠️ The config file could not be changed (the gateway's log says why); nothing changed.";

#[async_trait]
impl ConfigCommands for DaemonConfigCommands {
    async fn run(&self, request: ConfigCommandRequest) -> Option<String> {
        let runtime = self.runtime.get().and_then(Weak::upgrade)?;
        let _one_at_a_time = self.writing.lock().await;
        let config = runtime.config();
        let Some(path) = runtime.config_path.clone() else {
            return request.owner.then(|| {
                "⚠️ The gateway was started without a config file: there is nothing to show or change.".to_owned()
            });
        };
        let text = match wagw_config::read_config_file(&path) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(target: "wagw::config", error = %e, "/config: cannot read the config file");
                return request.owner.then(|| HOST_FAILURE.to_owned());
            }
        };
        let env = Env::from_process();
        let validate = |candidate: &str| {
            let c = Config::parse(candidate, Some(&path), &env)?;
            crate::preflight::check(&c).map(|_| ())
        };
        let chat_request = ChatConfigRequest {
            account: &request.account,
            authorized: request.owner,
            args: &request.args,
        };
        let (new_text, reply, change) =
            match wagw_config::chat::run(&text, &config, &chat_request, validate) {
                ChatConfigOutcome::Ignored => {
                    tracing::debug!(target: "wagw::config", account = %request.account,
                        "/config from a sender who is not an owner: ignored");
                    return None;
                }
                ChatConfigOutcome::Reply(reply) => return Some(reply),
                ChatConfigOutcome::Write {
                    text,
                    reply,
                    change,
                } => (text, reply, change),
            };
        // Whether the change stops or restarts the account the command came on: then its
        // in-flight turn (this one) cannot wait for the reload, which waits for it.
        let restarts_own = Config::parse(&new_text, Some(&path), &env)
            .ok()
            .and_then(|c| crate::preflight::check(&c).ok())
            .is_none_or(|checked| {
                let old = runtime.gateway.settings();
                let before = old.accounts.iter().find(|a| a.id == request.account);
                let after = checked
                    .settings
                    .accounts
                    .iter()
                    .find(|a| a.id == request.account);
                match (before, after) {
                    (Some(b), Some(a)) => {
                        b.transport != a.transport
                            || !a.resolved.enabled
                            || !checked.settings.enabled
                    }
                    _ => true,
                }
            });
        let write_path = path.clone();
        let written = tokio::task::spawn_blocking(move || {
            crate::daemon::files::replace_atomically(&write_path, new_text.as_bytes())
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "wagw::config", file = %path.display(), error = %e,
                    "/config: the config file could not be written");
                return Some(HOST_FAILURE.to_owned());
            }
            Err(e) => {
                tracing::error!(target: "wagw::config", error = %e, "/config: the write task failed");
                return Some(HOST_FAILURE.to_owned());
            }
        }
        tracing::info!(target: "wagw::config", account = %request.account, by = %request.sender,
            path = %change.path, action = change.action, "config changed from a chat");
        let entry = serde_json::json!({
            "type": CONFIG_CHANGED,
            "account": request.account,
            "by": request.sender,
            "chat": request.chat.to_string(),
            "path": change.path,
            "action": change.action,
            "value": change.value,
            "previous": change.previous,
        });
        if let Err(e) = runtime.events.append(CONFIG_CHANGED, &entry).await {
            tracing::warn!(target: "wagw::config", error = %e, "event log append failed");
        }
        if restarts_own {
            tokio::spawn(async move {
                if let Err(e) = runtime.reload().await {
                    tracing::error!(target: "wagw::config", error = %e,
                        "/config: written, but the reload was refused");
                }
            });
            return Some(format!("{reply}\nThis account restarts to apply it."));
        }
        match runtime.reload().await {
            Ok(_) => Some(reply),
            Err(e) => {
                tracing::error!(target: "wagw::config", error = %e, "/config: written, but the reload was refused");
                Some(format!(
                    "{reply}\n⚠️ The file was written, but the running gateway did not reload it (the gateway's log says why)."
                ))
            }
        }
    }
}
