//! Where the daemon's stores live: SQLite files in the data directory and each authDir
//! (default), or namespaces of the PostgreSQL database of `storage.url` /
//! `WAGW_DATABASE_URL` (`state` for the gateway's state, `account/<id>` for each account's
//! protocol state). Every command that opens a store asks here, so the gateway, the direct
//! commands and `wagw store` agree.

use wagw_config::{Config, ConfigError, ProblemKind, ResolvedAccount, StorageSource};
use wagw_core::AccountId;
use wagw_store::Location;

/// The namespace `namespace` of the configured database, or `None` on SQLite. The URL's
/// syntax beyond its scheme is checked here (the config crate does not parse URLs): a
/// problem is a config error at `storage.url`, without the URL.
fn postgres(config: &Config, namespace: &str) -> Result<Option<Location>, ConfigError> {
    let Some(url) = &config.storage().url else {
        return Ok(None);
    };
    Location::postgres(url.expose(), namespace)
        .map(Some)
        .map_err(|e| {
            let from = if config.storage().source == StorageSource::Environment {
                " (from WAGW_DATABASE_URL)"
            } else {
                ""
            };
            // The error names the store as `postgres (namespace …)`, never the URL.
            let detail =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string);
            config.invalid(vec![config.problem(
                "storage.url",
                ProblemKind::Value,
                format!("not a usable PostgreSQL URL: {detail}{from}"),
            )])
        })
}

/// Where the gateway's state lives.
pub fn state(config: &Config) -> Result<Location, ConfigError> {
    Ok(
        postgres(config, wagw_gateway::GatewayStore::NAMESPACE)?.unwrap_or_else(|| {
            Location::Sqlite(crate::cmd::direct::state_file(&config.gateway().data_dir))
        }),
    )
}

/// Where account `account`'s protocol state lives.
pub fn account(config: &Config, account: &ResolvedAccount) -> Result<Location, ConfigError> {
    account_by_id(config, &account.account_id, &account.auth_dir)
}

/// [`account`] from its parts.
pub fn account_by_id(
    config: &Config,
    id: &AccountId,
    auth_dir: &std::path::Path,
) -> Result<Location, ConfigError> {
    Ok(
        postgres(config, &wagw_socket::store::AccountStore::namespace(id))?
            .unwrap_or_else(|| Location::Sqlite(auth_dir.join(wagw_socket::store::STORE_FILE))),
    )
}

/// The config's URL is usable (for `wagw config check` and the start checks).
pub fn check(config: &Config) -> Result<(), ConfigError> {
    state(config).map(|_| ())
}
