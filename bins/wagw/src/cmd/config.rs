//! `wagw config check | schema | init`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;
use wagw_config::{Config, ResolvedAccount};

use super::Context;
use crate::error::CliError;

/// `wagw config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config and show what each account will do.
    ///
    /// Every problem is listed with its line:column and dotted path. Exit status: 0 when
    /// valid, 2 when not. With --json, prints {"accounts": [...]} with every resolved
    /// setting (phones normalized to +E.164).
    Check,
    /// Print the JSON Schema of the config file (for editors; add "$schema" to your file).
    Schema,
    /// Write a commented starter config. Never overwrites an existing file.
    Init(InitArgs),
    /// Rewrite older layouts into channels.whatsapp, keeping comments: a top-level
    /// `whatsapp` object, Milady's `connectors.whatsapp` (its messagePrefix, an outgoing
    /// prefix there, becomes messages.responsePrefix). Prints the diff; the file is
    /// replaced atomically. Exit status: 0 when migrated or nothing to do.
    Migrate(MigrateArgs),
}

/// `wagw config migrate` options.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Print the diff and the notes without writing the file.
    #[arg(long)]
    dry_run: bool,
}

/// `wagw config init` options.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it (default: --config, else $WAGW_CONFIG, else
    /// $XDG_CONFIG_HOME/wagw/wagw.json5).
    #[arg(long, value_name = "FILE")]
    path: Option<PathBuf>,
}

/// Runs a `config` subcommand.
pub fn run(cmd: ConfigCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    match cmd {
        ConfigCommand::Check => check(ctx),
        ConfigCommand::Schema => {
            outln!("{:#}", wagw_config::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Init(args) => init(args, ctx),
        ConfigCommand::Migrate(args) => migrate(args, ctx),
    }
}

fn migrate(args: MigrateArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let path = ctx.config_path()?;
    let text = wagw_config::read_config_file(&path)?;
    let migration = wagw_config::migrate::migrate(&text)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let diff = wagw_config::migrate::line_diff(&text, &migration.text);
    let written = !diff.is_empty() && !args.dry_run;
    if written {
        crate::daemon::files::replace_atomically(&path, migration.text.as_bytes()).map_err(
            |source| CliError::Write {
                path: path.clone(),
                source,
            },
        )?;
    }
    if ctx.json {
        let doc = serde_json::json!({
            "file": path,
            "layouts": migration.layouts,
            "notes": migration.notes,
            "diff": diff,
            "written": written,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    if diff.is_empty() {
        outln!("{}: nothing to migrate.", path.display());
        for note in &migration.notes {
            outln!("note: {note}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    outln!("--- {}\n+++ {} (migrated)", path.display(), path.display());
    out!("{diff}");
    for note in &migration.notes {
        outln!("note: {note}");
    }
    if written {
        outln!(
            "{}: migrated. Check it with `wagw config check`.",
            path.display()
        );
    } else {
        outln!("--dry-run: {} was not changed.", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn check(ctx: &Context) -> Result<ExitCode, CliError> {
    // Warnings are part of the output (text or JSON), not logged.
    let config = ctx.load_config()?;
    // The checks the gateway runs at start, so "valid" means "the daemon starts".
    crate::preflight::check(&config)?;
    // Depends on the environment too (WAGW_TOKEN): a warning here, a refusal at start.
    let refusal = crate::preflight::listen_refusal(&config)
        .err()
        .map(|e| format!("in this environment `wagw gateway` refuses to start: {e}"));
    if ctx.json {
        let mut doc = serde_json::to_value(&config)?;
        if let Some(r) = &refusal {
            doc["startRefusal"] = Value::String(r.clone());
        }
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        out!("{}", human(&config)?);
        if let Some(r) = &refusal {
            outln!("\nwarning: {r}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The text form: a header, each account's settings as aligned `key value` lines, the
/// warnings.
fn human(config: &Config) -> Result<String, CliError> {
    let mut out = String::new();
    let source = config
        .source()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "config".to_string());
    let n = config.accounts().len();
    out.push_str(&format!(
        "{source}: valid. {n} account{} (default: {}).\n",
        if n == 1 { "" } else { "s" },
        config.default_account_id()
    ));
    for account in config.accounts() {
        out.push('\n');
        out.push_str(&account_block(account)?);
    }
    let gw = config.gateway();
    out.push_str(&format!(
        "\ngateway: listen {}, data dir {}, token {}, {} agent sink{}, {} binding{}\n",
        gw.listen,
        gw.data_dir.display(),
        if gw.token.is_some() { "set" } else { "not set" },
        gw.agents.len(),
        if gw.agents.len() == 1 { "" } else { "s" },
        config.bindings().len(),
        if config.bindings().len() == 1 {
            ""
        } else {
            "s"
        },
    ));
    let storage = config.storage();
    match &storage.url {
        // Redacted: the password is never printed.
        Some(url) => out.push_str(&format!(
            "storage: postgresql {url} ({})\n",
            match storage.source {
                wagw_config::StorageSource::Environment => "from WAGW_DATABASE_URL",
                _ => "storage.url",
            }
        )),
        None => out.push_str(&format!(
            "storage: sqlite files in {}\n",
            gw.data_dir.display()
        )),
    }
    if !config.warnings().is_empty() {
        out.push_str("\nwarnings:\n");
        for w in config.warnings() {
            out.push_str(&format!("  {w}\n"));
        }
    }
    Ok(out)
}

fn account_block(account: &ResolvedAccount) -> Result<String, CliError> {
    let mut out = format!("account {}", account.account_id);
    if let Some(name) = &account.name {
        out.push_str(&format!(" ({name})"));
    }
    out.push_str(if account.enabled { "" } else { " [disabled]" });
    out.push_str(if account.is_default { " [default]" } else { "" });
    out.push('\n');
    let mut lines = Vec::new();
    flatten("", &serde_json::to_value(account)?, &mut lines);
    let skip = ["accountId", "name", "enabled", "isDefault"];
    let lines: Vec<_> = lines
        .into_iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect();
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in lines {
        out.push_str(&format!("  {k:width$}  {v}\n"));
    }
    Ok(out)
}

/// Turns nested JSON into `a.b  value` lines; lists print comma-separated.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m)
            if !m.is_empty() && !prefix.ends_with("groups") && !prefix.ends_with("dms") =>
        {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        _ => out.push((prefix.to_string(), scalar(v))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "\"\"".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(none)".to_string(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        Value::Object(m) if m.is_empty() => "(none)".to_string(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k} {}", compact(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => scalar(other),
    }
}

fn init(args: InitArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let path = match args.path {
        Some(p) => p,
        None => ctx.config_path()?,
    };
    write_new(&path, wagw_config::STARTER_CONFIG)?;
    if ctx.json {
        outln!("{:#}", serde_json::json!({ "written": path }));
    } else {
        outln!(
            "Wrote a starter config to {}.\nNext: edit it, then run `wagw config check{}`.",
            path.display(),
            if ctx.config_flag.is_some() || ctx.env.get(wagw_config::WAGW_CONFIG).is_some() {
                format!(" --config {}", path.display())
            } else {
                String::new()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (and its folder) with `text`, failing if it exists. The file is private
/// (0600 on Unix) because a config may hold the API token.
fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    let write_err = |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        return Err(CliError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            write_err(e)
        }
    })?;
    file.write_all(text.as_bytes()).map_err(write_err)?;
    Ok(())
}
