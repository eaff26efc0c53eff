//! The binary's error type: what went wrong, turned into a message and an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use thiserror::Error;
use wagw_config::ConfigError;

/// Exit code for "the config is not valid" (and clap's usage errors).
pub const EXIT_INVALID: u8 = 2;

/// Everything a command can fail with.
#[derive(Debug, Error)]
pub enum CliError {
    /// Loading or checking the config failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A `gateway.agents[]` entry breaks a sink rule (checked after the config loaded).
    #[error("config error: {0}")]
    Agents(#[from] wagw_agents::AgentsError),
    /// `config init` found a file already there.
    #[error("{} already exists; not overwriting it (edit it, remove it, or pick another file with --path)", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// A file or folder could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Output could not be produced.
    #[error("cannot print the result: {0}")]
    Output(#[from] serde_json::Error),
    /// A file or folder the daemon needs could not be read or created.
    #[error("cannot access {what} at {}: {source}", path.display())]
    Io {
        /// What it is (`the data directory`, `the API token file`).
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token file exists but is empty.
    #[error("the API token file {} is empty: delete it and run `wagw token` (or start the gateway) to generate a new one", path.display())]
    BadTokenFile {
        /// The file.
        path: PathBuf,
    },
    /// The gateway would listen on a network address with only a generated token.
    #[error(
        "refusing to listen on {addr}: it is not a loopback address and no token is configured. \
             Set gateway.token in the config (or WAGW_TOKEN) to a long random secret, \
             or set gateway.listen to 127.0.0.1:{port}"
    )]
    NonLoopbackWithoutToken {
        /// The address.
        addr: std::net::SocketAddr,
        /// Its port, for the suggestion.
        port: u16,
    },
    /// The gateway would listen on a network address with a guessable token.
    #[error(
        "refusing to listen on {addr}: the configured token is too weak for an API reachable \
             from the network ({why}). Set gateway.token (or WAGW_TOKEN) to the output of \
             `openssl rand -hex 32`, or set gateway.listen to 127.0.0.1:{port}"
    )]
    WeakToken {
        /// The address.
        addr: std::net::SocketAddr,
        /// Its port, for the suggestion.
        port: u16,
        /// What makes the token weak.
        why: String,
    },
    /// The listen address is taken or not allowed.
    #[error(
        "cannot listen on {addr}: {source}. Is another wagw gateway running? Change gateway.listen or stop the other process"
    )]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No gateway answers at the address.
    #[error(
        "cannot reach the gateway at {url}: {reason}. Start it with `wagw gateway` (or point WAGW_URL at a running one)"
    )]
    Unreachable {
        /// The base URL tried.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The gateway answered with an error.
    #[error("{message}{}", field.as_ref().map(|f| format!(" (field: {f})")).unwrap_or_default())]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The gateway's message.
        message: String,
        /// The field to blame.
        field: Option<String>,
    },
    /// A command-line value is wrong.
    #[error("{0}")]
    Usage(String),
    /// A check or operation did not succeed (the details were printed).
    #[error("{0}")]
    Failed(String),
    /// No gateway answers and the store is locked: a gateway process holds it.
    #[error(
        "no gateway answers at {url}, but the store {} is locked by another process \
         (a wagw gateway on this data directory that does not serve {url}?). Point WAGW_URL \
         at that gateway, or stop it and retry", path.display()
    )]
    StoreBusy {
        /// The base URL tried.
        url: String,
        /// The store's folder (`<dataDir>/state`).
        path: PathBuf,
    },
    /// The store could not be opened or read.
    #[error("the store {}: {reason}", path.display())]
    Store {
        /// The store's folder (`<dataDir>/state`).
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The gateway runtime failed.
    #[error("gateway: {0}")]
    Runtime(String),
}

impl CliError {
    /// 2 when the config is missing or invalid, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) | CliError::Agents(_) | CliError::Usage(_) => {
                ExitCode::from(EXIT_INVALID)
            }
            _ => ExitCode::FAILURE,
        }
    }
}

impl From<wagw_http::error::ApiError> for CliError {
    /// The same error the HTTP API would have answered, for the direct-store path.
    fn from(e: wagw_http::error::ApiError) -> Self {
        let body = e.body().error;
        CliError::Api {
            status: e.status().as_u16(),
            code: body.code,
            message: body.message,
            field: body.field,
        }
    }
}

/// True when `e` (or one of its sources) is a write to a closed pipe: stdout's reader went
/// away, which is not an error worth reporting.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        current = err.source();
    }
    false
}
