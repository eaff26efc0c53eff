//! Logging setup: stderr in human or JSON form, optionally also appended to a file.
//! `WAGW_LOG` (an `EnvFilter` like `wagw=debug`) overrides the level.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per line (for log shippers).
    Json,
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber. `default_level` applies when `WAGW_LOG` is unset.
pub fn init(default_level: &str, format: LogFormat, file: Option<&Path>) -> std::io::Result<()> {
    let filter =
        EnvFilter::try_from_env("WAGW_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let stderr_layer: BoxedLayer = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let mut layers = vec![stderr_layer];
    if let Some(path) = file {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let f = options.open(path)?;
        let layer: BoxedLayer = match format {
            LogFormat::Human => tracing_subscriber::fmt::layer()
                .with_writer(Mutex::new(f))
                .with_ansi(false)
                .boxed(),
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_writer(Mutex::new(f))
                .boxed(),
        };
        layers.push(layer);
    }
    // A second init (tests) is not an error worth failing for.
    let _ = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
    Ok(())
}
