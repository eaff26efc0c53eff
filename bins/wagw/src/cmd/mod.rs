//! One module per command group. Each exposes a clap `Subcommand`/`Args` type and a
//! `run(args, &Context) -> Result<ExitCode, CliError>`; `main.rs` only dispatches.

use std::path::PathBuf;

use wagw_config::{Config, Env};

use crate::error::CliError;

pub mod access;
pub mod accounts;
pub mod allow;
pub mod channels;
pub mod config;
pub mod deliveries;
pub mod demo;
pub mod direct;
pub mod doctor;
pub mod dry_run;
pub mod gateway;
pub mod install;
pub mod link;
pub mod logs;
pub mod message;
pub mod pairing;
pub mod store;
pub mod token;

#[cfg(test)]
mod tests;

/// `--channel whatsapp`, as the seeds' CLI writes it on `channels`, `pairing` and `message`
/// commands. WhatsApp is the only channel; any other value is refused, naming it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ChannelArg {
    /// The channel: `whatsapp` (the only one wagw serves; accepted for the seeds' CLI).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
}

impl ChannelArg {
    /// Refuses a channel other than `whatsapp`.
    pub fn check(&self) -> Result<(), CliError> {
        pairing::channel_ok(self.channel.as_deref().map(|c| ("--channel", c)))
    }
}

/// What every command gets: the global flags and the environment, read once.
#[derive(Debug)]
pub struct Context {
    /// `--config`, when given.
    pub config_flag: Option<PathBuf>,
    /// `--json`.
    pub json: bool,
    /// The process environment.
    pub env: Env,
}

impl Context {
    /// Captures the global flags and the process environment.
    pub fn new(config_flag: Option<PathBuf>, json: bool) -> Context {
        Context {
            config_flag,
            json,
            env: Env::from_process(),
        }
    }

    /// The config file: `--config`, else `WAGW_CONFIG`, else the XDG default. Made
    /// absolute, so relative paths inside the file resolve the same from any folder.
    pub fn config_path(&self) -> Result<PathBuf, CliError> {
        let path = match &self.config_flag {
            Some(p) => p.clone(),
            None => self.env.config_path()?,
        };
        Ok(std::path::absolute(&path).unwrap_or(path))
    }

    /// Loads and checks the config file.
    pub fn load_config(&self) -> Result<Config, CliError> {
        let path = self.config_path()?;
        Ok(Config::load(&path, &self.env)?)
    }

    /// A client for the running gateway this config describes (`WAGW_URL` overrides).
    pub fn client(&self, config: &Config) -> Result<crate::client::Client, CliError> {
        crate::client::Client::for_config(config, self.env.get(crate::client::WAGW_URL))
    }

    /// Prints an error the way the output mode asks: JSON on stdout, or text on stderr.
    pub fn report_error(&self, e: &CliError) {
        if self.json {
            let problems = match e {
                CliError::Config(c) => c.problems().to_vec(),
                _ => Vec::new(),
            };
            let out = serde_json::json!({
                "error": e.to_string(),
                "problems": problems,
            });
            outln!("{out:#}");
        } else {
            eprintln!("error: {e}");
        }
    }
}

/// Runs `fut` to completion on a small runtime (the CLI's HTTP calls).
pub fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(fut))
}
