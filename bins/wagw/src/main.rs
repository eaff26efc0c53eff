//! `wagw`: the daemon and operator CLI. Thin: it parses arguments, sets up logging and
//! dispatches to one module per command group under `cmd/`. Capabilities live in the
//! library crates (`wagw-config`, ...); a handler that grows logic should move it there.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod error;
mod http;
mod qr;

use cmd::Context;

/// wagw — a WhatsApp Web gateway for AI agents.
///
/// wagw links WhatsApp accounts as linked devices, decides who may reach your agent, hands
/// each accepted message to the agent and sends its replies back.
///
/// Start with `wagw config init` (writes a commented starter config), edit it, then
/// `wagw config check` to see exactly what each account will do.
#[derive(Debug, Parser)]
#[command(
    name = "wagw",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Examples:\n  wagw config init                      write a starter config\n  wagw config check                     validate it and show each account\n  wagw --json config check --config f   the same, as JSON, for another file\n  wagw config schema > wagw.schema.json JSON Schema for editors\n\nEnvironment: WAGW_CONFIG, WAGW_DATA_DIR, WAGW_TOKEN, WAGW_LOG. Docs: docs/configuration.md"
)]
struct Cli {
    /// Config file (default: $WAGW_CONFIG, else $XDG_CONFIG_HOME/wagw/wagw.json5).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// More log output on stderr (-v info, -vv debug). WAGW_LOG=<filter> overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, explain and create config files.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WAGW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let ctx = Context::new(cli.config, cli.json);
    let result = match cli.command {
        Command::Config(c) => cmd::config::run(c, &ctx),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            ctx.report_error(&e);
            e.exit_code()
        }
    }
}
