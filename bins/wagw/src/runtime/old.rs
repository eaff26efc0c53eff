//! The gateway runtime behind the HTTP API: [`start`] builds the [`GatewayApi`] the
//! daemon serves.
//!
//! The runtime itself is the `wagw-gateway` crate (accounts, pipeline, pairing, event log,
//! metrics). Until it is part of this workspace, `wagw gateway` stops here with an error
//! that says so, after the config, data dir, token and listen checks have run.

use std::sync::Arc;

use wagw_config::Config;

use crate::error::CliError;
use crate::http::GatewayApi;

/// How the runtime is started.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeOptions {
    /// Every account on the simulator (`wagw gateway --sim`).
    pub sim: bool,
}

/// Starts every enabled account and returns the API the HTTP layer serves.
pub async fn start(
    config: &Config,
    options: RuntimeOptions,
) -> Result<Arc<dyn GatewayApi>, CliError> {
    tracing::debug!(target: "wagw::daemon", accounts = config.accounts().len(), sim = options.sim, "starting the runtime");
    Err(CliError::Runtime(
        "this build has no gateway runtime yet: the wagw-gateway crate is not part of the \
         workspace. The HTTP API, token handling and operator CLI are ready and wait for it"
            .to_owned(),
    ))
}
