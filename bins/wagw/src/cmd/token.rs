//! `wagw token`: print the API token agents and the CLI present.

use std::process::ExitCode;

use super::Context;
use crate::daemon::token::{self, TokenSource};
use crate::error::CliError;

/// Prints the token (creating `<dataDir>/token` when none is configured and none exists).
pub fn run(ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    let (token, source) = token::resolve(config.gateway())?;
    if ctx.json {
        let source = match source {
            TokenSource::Configured => serde_json::json!("configured"),
            TokenSource::File(p) => serde_json::json!(p),
        };
        outln!(
            "{:#}",
            serde_json::json!({ "token": token.expose(), "source": source })
        );
    } else {
        outln!("{}", token.expose());
    }
    Ok(ExitCode::SUCCESS)
}
