//! The crate's error type and the problems (and warnings) found in a config file.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use thiserror::Error;

use crate::json5::Pos;

/// What sort of problem a [`Problem`] is. Stable snake_case names in JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file is not valid JSON5.
    Syntax,
    /// A key the schema does not know (often a typo; the message suggests the right one).
    UnknownKey,
    /// The same key twice in one object.
    DuplicateKey,
    /// A value of the wrong type (a string where a number belongs, ...).
    Type,
    /// A value of the right type that is out of range or not one of the allowed words.
    Value,
    /// A required key is missing.
    Missing,
    /// A phone number that `Phone::parse` rejects.
    Phone,
    /// A JID, LID or account id that does not parse.
    Identity,
    /// A regular expression that does not compile.
    Regex,
    /// A combination of settings that is not allowed (`dmPolicy: "open"` without `"*"`).
    Policy,
    /// A reference to something that is not configured (an unknown agent or account).
    Reference,
    /// Warning: a value was moved into its allowed range.
    Clamped,
    /// Warning: a key is accepted for compatibility but has no effect, or is deprecated.
    Deprecated,
}

/// One problem (or warning) in a config file: where, what kind, and what to do.
///
/// Displays as `line:column: path: message`, the form `wagw config check` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Dotted path of the offending key, e.g. `channels.whatsapp.allowFrom[1]`. Empty for
    /// the document as a whole.
    pub path: String,
    /// Where in the file, when known.
    #[serde(flatten, serialize_with = "serialize_pos")]
    pub pos: Option<Pos>,
    /// What sort of problem.
    pub kind: ProblemKind,
    /// What is wrong and what to do about it.
    pub message: String,
}

fn serialize_pos<S: serde::Serializer>(pos: &Option<Pos>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(None)?;
    if let Some(p) = pos {
        m.serialize_entry("line", &p.line)?;
        m.serialize_entry("column", &p.column)?;
    }
    m.end()
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.pos {
            write!(f, "{p}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Everything that can go wrong loading or writing a config.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read the config file {path}: {source} (create one with `wagw config init`, or pass --config)"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config path is not a regular file (a folder, a FIFO, a device): reading it could
    /// block forever or read without end.
    #[error(
        "the config file {path} is not a regular file ({kind}); point --config (or WAGW_CONFIG) at a JSON5 file"
    )]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`a folder`, `a FIFO`, ...).
        kind: &'static str,
    },
    /// The config file is larger than any real config.
    #[error(
        "the config file {path} is {size} bytes; a config is at most {limit} bytes (is --config pointing at the right file?)"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or the bytes read before giving up).
        size: u64,
        /// The cap, [`crate::MAX_CONFIG_BYTES`].
        limit: u64,
    },
    /// An account id was asked for that the config does not define.
    #[error(
        "no account {id:?} in the config (configured: {known}); check --account or channels.whatsapp.accounts"
    )]
    UnknownAccount {
        /// The id asked for.
        id: String,
        /// The configured ids, comma-separated.
        known: String,
    },
    /// Neither an explicit path nor the environment says where the config lives.
    #[error("cannot tell where the {what} is: set {hint}")]
    NoLocation {
        /// "config file" or "data directory".
        what: &'static str,
        /// Which variables or keys would settle it.
        hint: &'static str,
    },
    /// The file was read but is not a valid config. Holds every problem, in file order.
    #[error("{}", render_invalid(file.as_ref(), problems))]
    Invalid {
        /// The file, when the config came from one.
        file: Option<PathBuf>,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn render_invalid(file: Option<&PathBuf>, problems: &[Problem]) -> String {
    let name = file
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "the config".to_string());
    let mut out = format!(
        "{name} is not valid ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

impl ConfigError {
    /// The problems of an invalid config; empty for other errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}
