//! `wagw completions <shell>` and `wagw man`: what a package or an operator installs next
//! to the binary, generated from the CLI definition itself so they never drift from it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use crate::error::CliError;

/// The shells `wagw completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Bash (`/usr/share/bash-completion/completions/wagw`).
    Bash,
    /// Zsh (`_wagw` in a folder on `$fpath`).
    Zsh,
    /// Fish (`~/.config/fish/completions/wagw.fish`).
    Fish,
    /// Elvish.
    Elvish,
    /// PowerShell.
    Powershell,
}

impl From<CompletionShell> for Shell {
    fn from(s: CompletionShell) -> Shell {
        match s {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
            CompletionShell::Elvish => Shell::Elvish,
            CompletionShell::Powershell => Shell::PowerShell,
        }
    }
}

/// `wagw completions <shell>`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// `wagw man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `wagw.1` and one page per subcommand (`wagw-channels-login.1`, ...) into this
    /// folder instead of printing `wagw.1` on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell` on stdout.
pub fn completions(args: CompletionsArgs, mut cli: clap::Command) -> Result<ExitCode, CliError> {
    let mut out = Vec::new();
    clap_complete::generate(Shell::from(args.shell), &mut cli, "wagw", &mut out);
    print(&out)
}

/// Prints `wagw.1`, or writes every page into `args.dir`.
pub fn man(args: ManArgs, cli: clap::Command) -> Result<ExitCode, CliError> {
    match args.dir {
        None => {
            let mut out = Vec::new();
            render(&cli, &mut out).map_err(|source| CliError::Write {
                path: PathBuf::from("<stdout>"),
                source,
            })?;
            print(&out)
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|source| CliError::Write {
                path: dir.clone(),
                source,
            })?;
            let mut cli = cli;
            cli.build();
            let written = write_pages(&cli, "wagw", &dir)?;
            println!("wrote {written} man pages to {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn render(cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    clap_mangen::Man::new(cmd.clone()).render(out)
}

/// Writes the page of `cmd` (named `name`, e.g. `wagw-channels`) and of each subcommand.
fn write_pages(cmd: &clap::Command, name: &str, dir: &Path) -> Result<usize, CliError> {
    let page = cmd.clone().name(name.to_owned());
    let path = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    render(&page, &mut out)
        .and_then(|()| std::fs::write(&path, &out))
        .map_err(|source| CliError::Write {
            path: path.clone(),
            source,
        })?;
    let mut written = 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        written += write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(written)
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) is not an error.
fn print(bytes: &[u8]) -> Result<ExitCode, CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(source) => Err(CliError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        }),
    }
}
