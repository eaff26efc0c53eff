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
}

impl CliError {
    /// 2 when the config is missing or invalid, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) => ExitCode::from(EXIT_INVALID),
            _ => ExitCode::FAILURE,
        }
    }
}
