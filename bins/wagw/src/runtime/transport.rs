//! The transport of each account: the simulator (`wagw gateway --sim`, or
//! `accounts.<id>.transport: "sim"`), Meta's Cloud API (`transport: "cloud"`, `wagw-cloud`)
//! or real WhatsApp Web (`wagw-socket`, protocol state in the account's `authDir`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wagw_cloud::{CloudConfig, CloudSocket, Secret};
use wagw_config::{Config, Transport};
use wagw_core::{AccountId, Phone, SocketError, WaSocket};
use wagw_gateway::{TransportFactory, TransportSettings};
use wagw_sim::{SimConfig, SimNetwork};
use wagw_socket::{SocketConfig, WhatsAppSocket};

use crate::error::CliError;

/// Overrides the WebSocket URL of WhatsApp's servers for the real transport (a proxy in
/// front of WhatsApp; tests that need the connection to fail). Default: the library's.
pub const WAGW_WHATSAPP_URL: &str = "WAGW_WHATSAPP_URL";

/// The simulated number of the n-th configured account (1-based): `+1 555 019 nnnn`.
pub fn sim_owner_number(index: usize) -> String {
    format!("+1555019{:04}", index + 1)
}

/// The Cloud API socket of each running cloud account, for the webhook routes (Meta posts
/// to the daemon, which hands the body to the account's socket).
#[derive(Clone, Default)]
pub struct CloudSockets(Arc<Mutex<HashMap<AccountId, CloudSocket>>>);

impl CloudSockets {
    /// The account's socket, if it is a cloud account the gateway created.
    pub fn get(&self, account: &AccountId) -> Option<CloudSocket> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
    }

    fn put(&self, account: &AccountId, socket: CloudSocket) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.clone(), socket);
    }
}

/// The `wagw-cloud` config of a cloud account.
pub fn cloud_config(account: &AccountId, cloud: &wagw_config::CloudSettings) -> CloudConfig {
    let mut c = CloudConfig::new(
        account.clone(),
        Secret::new(cloud.access_token.expose()),
        cloud.phone_number_id.clone(),
    );
    c.business_account_id = cloud.business_account_id.clone();
    c.verify_token = cloud.verify_token.as_ref().map(|s| Secret::new(s.expose()));
    c.app_secret = cloud.app_secret.as_ref().map(|s| Secret::new(s.expose()));
    c.api_base = cloud.api_base.clone();
    c
}

/// Builds each account's socket.
pub struct Transports {
    /// The simulated network, when any account runs on it.
    pub sim: Option<SimNetwork>,
    /// `--sim`: every account on the simulator.
    pub force_sim: bool,
    /// The PostgreSQL database of the protocol stores (`storage.url`); `None`: a file in
    /// each authDir.
    pub database: Option<wagw_config::DatabaseUrl>,
    /// The cloud accounts' sockets, shared with the webhook routes.
    pub cloud: CloudSockets,
}

impl Transports {
    /// The transports for `config`. Every account on the simulator gets a linked simulated
    /// phone ([`sim_owner_number`]); with `unlinked` the phone exists but the account is not
    /// linked to it yet (it links by `wagw channels login` and `POST /v1/sim/scan`).
    pub fn for_config(
        config: &Config,
        force_sim: bool,
        unlinked: bool,
        now_ms: i64,
    ) -> Result<Transports, CliError> {
        let on_sim = |t: Transport| force_sim || t == Transport::Sim;
        let sim = config
            .accounts()
            .iter()
            .any(|a| on_sim(a.transport))
            .then(|| {
                SimNetwork::with_config(SimConfig {
                    // Simulated timestamps follow the wall clock, like the gateway's.
                    start_ms: now_ms,
                    // Fresh each run: the gateway's dedupe store outlives the process, so a
                    // restarted simulator must not hand out the previous run's ids again.
                    message_id_seed: Some(rand::random()),
                    ..SimConfig::default()
                })
            });
        if let Some(net) = &sim {
            for (i, a) in config.accounts().iter().enumerate() {
                if !on_sim(a.transport) {
                    continue;
                }
                let owner = Phone::parse(&sim_owner_number(i))
                    .map_err(|e| CliError::Runtime(format!("simulated number: {e}")))?;
                let sim_error =
                    |e: wagw_sim::SimError| CliError::Runtime(format!("simulator: {e}"));
                if unlinked {
                    // The phone that will scan the QR or type the pair code.
                    net.try_phone(&owner.to_string()).map_err(sim_error)?;
                    net.add_account(a.account_id.clone(), None)
                        .map_err(sim_error)?;
                } else {
                    net.add_account(a.account_id.clone(), Some(owner))
                        .map_err(sim_error)?;
                }
            }
        }
        Ok(Transports {
            sim,
            force_sim,
            database: config.storage().url.clone(),
            cloud: CloudSockets::default(),
        })
    }
}

impl TransportFactory for Transports {
    fn create(
        &self,
        account: &AccountId,
        settings: &TransportSettings,
    ) -> Result<Arc<dyn WaSocket>, SocketError> {
        if (self.force_sim || settings.kind == Transport::Sim)
            && let Some(net) = &self.sim
        {
            let socket = match net.socket(account) {
                Some(s) => s,
                // An account added by a config reload.
                None => net
                    .add_account(account.clone(), None)
                    .map_err(|e| SocketError::Other(e.to_string()))?,
            };
            return Ok(Arc::new(socket));
        }
        if settings.kind == Transport::Cloud {
            let cloud = settings.cloud.as_ref().ok_or_else(|| {
                SocketError::Other(format!(
                    "account {account}: transport \"cloud\" without cloud settings"
                ))
            })?;
            let socket = CloudSocket::new(cloud_config(account, cloud))?;
            // A restarted account (new token, say) replaces its socket for the webhooks too.
            self.cloud.put(account, socket.clone());
            return Ok(Arc::new(socket));
        }
        let mut config = SocketConfig::new(account.clone(), settings.auth_dir.clone());
        if let Some(url) = &self.database {
            let namespace = wagw_socket::store::AccountStore::namespace(account);
            config.store_location = wagw_store::Location::postgres(url.expose(), &namespace)
                .map_err(|e| SocketError::Other(format!("account {account}: {e}")))?;
        }
        let store = config.store_location.describe().display().to_string();
        if let Some(name) = &settings.name {
            config.device_name = name.clone();
        }
        config.server_url = std::env::var(WAGW_WHATSAPP_URL)
            .ok()
            .filter(|u| !u.is_empty());
        let backup = wagw_socket::store::BackupPlace::of(&config.store_location).ok();
        let postgres = config.store_location.is_postgres();
        let socket = WhatsAppSocket::open(config).map_err(|e| {
            let fix = if e.is_store_damaged() {
                match backup
                    .as_ref()
                    .filter(|b| b.read().ok().flatten().is_some())
                {
                    // The link survives in the backup: a fresh store restores it.
                    Some(b) => format!(
                        ". This account is stopped, the others run. Its credentials backup \
                         {} is intact: stop wagw, move {store} aside and start wagw; the \
                         account's link is restored from the backup (no new QR scan; \
                         chats' encryption sessions are rebuilt as messages arrive)",
                        b.describe().display()
                    ),
                    None if postgres => format!(
                        ". This account is stopped, the others run. To use it again: stop \
                         wagw, then import a good copy with `wagw accounts import FILE \
                         --force`, or delete the namespace {namespace} from the database and \
                         relink with `wagw channels login --account {account}`",
                        namespace = wagw_socket::store::AccountStore::namespace(account)
                    ),
                    None => format!(
                        ". This account is stopped, the others run. To use it again: stop \
                         wagw, move {store} aside, start wagw and relink with \
                         `wagw channels login --account {account}`"
                    ),
                }
            } else {
                String::new()
            };
            SocketError::Other(format!(
                "account {account}: cannot open the WhatsApp session in {store}: {e}{fix}"
            ))
        })?;
        Ok(Arc::new(socket))
    }
}
