//! This crate's error type: what went wrong setting up a socket or its store.

use std::path::PathBuf;

use thiserror::Error;

/// Why a [`crate::WhatsAppSocket`] or its [`crate::store::AccountStore`] could not be set up.
/// Operations on a live socket report [`wagw_core::SocketError`] instead.
#[derive(Debug, Error)]
pub enum Error {
    /// The account's protocol database could not be opened (another process holds it,
    /// or it is corrupt). Stop the other gateway, or move the folder aside to relink.
    #[error("cannot open the protocol store in {path}: {detail}")]
    StoreOpen {
        /// The account's authDir.
        path: PathBuf,
        /// What the store said.
        detail: String,
    },
    /// A filesystem operation on the account's authDir failed (permissions, disk).
    #[error("filesystem error on {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The account's authDir is not wagw's to use (it holds other files).
    #[error(transparent)]
    AuthDir(#[from] crate::auth_dir::AuthDirError),
    /// The configuration cannot work (the message says which field).
    #[error("invalid socket configuration: {0}")]
    Config(String),
}
