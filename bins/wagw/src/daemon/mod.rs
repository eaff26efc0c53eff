//! What the `wagw gateway` process sets up around the runtime: the private data folder,
//! the API token, the listen-address safety check, logging.

pub mod files;
pub mod logging;
pub mod token;
