//! `wagw`: the daemon and operator CLI. Thin: it parses arguments, sets up logging and
//! dispatches to one module per command group under `cmd/`. Capabilities live in the
//! library crates (`wagw-config`, ...); a handler that grows logic should move it there.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// `print!` to stdout that never panics: on a closed stdout (`wagw … | head`) the output
/// just stops and the command finishes quietly.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!` to stdout that never panics (see `out!`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod access;
mod client;
mod cmd;
mod daemon;
mod error;
mod preflight;
mod runtime;
mod storage;

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
    after_help = "Examples:\n  wagw config init                      write a starter config\n  wagw gateway                          run the gateway and its HTTP API\n  wagw channels login                   link WhatsApp (scan the QR)\n  wagw pairing approve K7PQ2MZX         let a new sender in\n  wagw channels status                  is everything linked and connected?\n  wagw config check                     validate it and show each account\n  wagw --json config check --config f   the same, as JSON, for another file\n  wagw config schema > wagw.schema.json JSON Schema for editors\n\nEnvironment: WAGW_CONFIG, WAGW_DATA_DIR, WAGW_TOKEN, WAGW_URL, WAGW_LOG. Docs: docs/configuration.md, docs/cli.md, docs/http-api.md"
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
    /// Run the gateway: every enabled account plus the HTTP API on gateway.listen.
    ///
    /// SIGHUP reloads the config; SIGTERM/SIGINT shut down gracefully.
    Gateway(cmd::gateway::GatewayArgs),
    /// Print the HTTP API token (generated into the data dir on first use).
    Token,
    /// Link, unlink and inspect WhatsApp accounts (talks to the running gateway).
    #[command(subcommand)]
    Channels(cmd::channels::ChannelsCommand),
    /// List, approve and reject pairing requests from unknown senders.
    #[command(subcommand)]
    Pairing(cmd::pairing::PairingCommand),
    /// Why is a sender answered, challenged or dropped? (`access explain`)
    #[command(subcommand)]
    Access(cmd::access::AccessCommand),
    /// List, add and remove senders in the allow-store.
    #[command(subcommand)]
    Allow(cmd::allow::AllowCommand),
    /// List and replay webhook deliveries (the durable outbox).
    #[command(subcommand)]
    Deliveries(cmd::deliveries::DeliveriesCommand),
    /// Send messages through the running gateway.
    #[command(subcommand)]
    Message(cmd::message::MessageCommand),
    /// Check the config, data dir, token, gateway and each account, with the fix for each problem.
    Doctor,
    /// The databases wagw keeps: engine, file and schema version (`status`); `migrate`.
    #[command(subcommand)]
    Store(cmd::store::StoreCommand),
    /// Tail the running gateway's event stream: `wagw logs --follow [--json]`.
    Logs(cmd::logs::LogsArgs),
    /// Run the gateway on a simulated WhatsApp network with an echo agent and a scripted
    /// conversation (pairing, groups, quotes, long replies, images). No phone needed.
    Demo(cmd::demo::DemoArgs),
    /// Print a shell completion script: `wagw completions bash > /etc/bash_completion.d/wagw`.
    Completions(cmd::install::CompletionsArgs),
    /// Print the man page (roff): `wagw man | man -l -`; `--dir` writes one page per command.
    Man(cmd::install::ManArgs),
}

/// Logging: warnings by default for CLI commands, info for the daemon; -v/-vv raise it.
fn init_logging(cli: &Cli) -> Result<(), error::CliError> {
    let daemon = matches!(cli.command, Command::Gateway(_));
    let level = match (cli.verbose, daemon) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        _ => "debug",
    };
    let (format, file) = match &cli.command {
        Command::Gateway(g) => (g.log_format, g.log_file.as_deref()),
        _ => (daemon::logging::LogFormat::Human, None),
    };
    daemon::logging::init(level, format, file).map_err(|source| error::CliError::Io {
        what: "the log file",
        path: file.map(std::path::Path::to_path_buf).unwrap_or_default(),
        source,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Context::new(cli.config.clone(), cli.json);
    if let Err(e) = init_logging(&cli) {
        ctx.report_error(&e);
        return e.exit_code();
    }
    let result = match cli.command {
        Command::Config(c) => cmd::config::run(c, &ctx),
        Command::Gateway(g) => cmd::gateway::run(g, &ctx),
        Command::Token => cmd::token::run(&ctx),
        Command::Channels(c) => cmd::channels::run(c, &ctx),
        Command::Pairing(c) => cmd::pairing::run(c, &ctx),
        Command::Access(c) => cmd::access::run(c, &ctx),
        Command::Allow(c) => cmd::allow::run(c, &ctx),
        Command::Deliveries(c) => cmd::deliveries::run(c, &ctx),
        Command::Message(c) => cmd::message::run(c, &ctx),
        Command::Doctor => cmd::doctor::run(&ctx),
        Command::Store(c) => cmd::store::run(c, &ctx),
        Command::Logs(l) => cmd::logs::run(l, &ctx),
        Command::Demo(d) => cmd::demo::run(d, &ctx),
        Command::Completions(c) => cmd::install::completions(c, Cli::command()),
        Command::Man(m) => cmd::install::man(m, Cli::command()),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`wagw … | head`): nothing to report to anyone.
        Err(e) if error::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            ctx.report_error(&e);
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod cli_tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        // Duplicate argument ids, bad defaults and the like panic here, not at a user.
        super::Cli::command().debug_assert();
    }
}
