//! How the gateway gets a [`WaSocket`] for each account.

use std::path::PathBuf;
use std::sync::Arc;

use wagw_core::{AccountId, SocketError, WaSocket};

/// The settings a transport is built from. When these change on a config reload, the
/// account's connection is restarted; any other change is applied live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSettings {
    /// Where the transport keeps this account's protocol state (keys, device identity).
    pub auth_dir: PathBuf,
    /// The account's display name, if configured.
    pub name: Option<String>,
    /// Which network: WhatsApp Web, the Cloud API or the simulator
    /// (`accounts.<id>.transport`).
    pub kind: wagw_config::Transport,
    /// The Cloud API credentials, for `kind` cloud (a rotated token restarts the account).
    pub cloud: Option<wagw_config::CloudSettings>,
}

/// Creates the transport of each account: the real WhatsApp socket, the simulator, or a
/// test double.
///
/// Called once when an account starts and again when its [`TransportSettings`] change.
pub trait TransportFactory: Send + Sync + 'static {
    /// The socket for `account`. It is not connected yet: the gateway's supervisor calls
    /// [`WaSocket::connect`] and owns reconnecting.
    fn create(
        &self,
        account: &AccountId,
        settings: &TransportSettings,
    ) -> Result<Arc<dyn WaSocket>, SocketError>;
}

impl<F> TransportFactory for F
where
    F: Fn(&AccountId, &TransportSettings) -> Result<Arc<dyn WaSocket>, SocketError>
        + Send
        + Sync
        + 'static,
{
    fn create(
        &self,
        account: &AccountId,
        settings: &TransportSettings,
    ) -> Result<Arc<dyn WaSocket>, SocketError> {
        self(account, settings)
    }
}
