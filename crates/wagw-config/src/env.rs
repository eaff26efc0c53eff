//! The environment wagw reads, passed in as a value so tests can pin it.
//!
//! `WAGW_CONFIG`, `WAGW_DATA_DIR` and `WAGW_TOKEN` override the file, `WAGW_DATABASE_URL`
//! applies when the file sets no `storage.url`; the XDG base
//! directories give the defaults (`$XDG_CONFIG_HOME/wagw/wagw.json5`, `$XDG_DATA_HOME/wagw`,
//! falling back to `~/.config` and `~/.local/share`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// Environment variables, captured once. Build it with [`Env::from_process`] in a binary and
/// with [`Env::from_pairs`] in tests.
///
/// ```
/// use wagw_config::Env;
/// let env = Env::from_pairs([("XDG_CONFIG_HOME", "/cfg"), ("HOME", "/home/ann")]);
/// assert_eq!(env.default_config_path().unwrap(), std::path::Path::new("/cfg/wagw/wagw.json5"));
/// assert_eq!(env.default_data_dir().unwrap(), std::path::Path::new("/home/ann/.local/share/wagw"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

/// Overrides the config file path.
pub const WAGW_CONFIG: &str = "WAGW_CONFIG";
/// Overrides `gateway.dataDir`.
pub const WAGW_DATA_DIR: &str = "WAGW_DATA_DIR";
/// Overrides `gateway.token`.
pub const WAGW_TOKEN: &str = "WAGW_TOKEN";
/// The PostgreSQL URL used when the file sets no `storage.url` (the file wins).
pub const WAGW_DATABASE_URL: &str = "WAGW_DATABASE_URL";

impl Env {
    /// The process environment (variables that are not valid UTF-8 are skipped).
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    /// An environment holding exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// This environment plus `extra` names it does not set (the config's `env` section).
    pub(crate) fn with_fallbacks(&self, extra: impl IntoIterator<Item = (String, String)>) -> Env {
        let mut vars = self.vars.clone();
        for (k, v) in extra {
            vars.entry(k).or_insert(v);
        }
        Env { vars }
    }

    /// A variable's value; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }

    /// Where the config file is when `--config` is not given: `WAGW_CONFIG`, else
    /// [`Env::default_config_path`].
    pub fn config_path(&self) -> Result<PathBuf, ConfigError> {
        match self.get(WAGW_CONFIG) {
            Some(p) => Ok(self.expand(p)),
            None => self.default_config_path(),
        }
    }

    /// `$XDG_CONFIG_HOME/wagw/wagw.json5`, else `~/.config/wagw/wagw.json5`.
    pub fn default_config_path(&self) -> Result<PathBuf, ConfigError> {
        let base = match self.get("XDG_CONFIG_HOME") {
            Some(x) => PathBuf::from(x),
            None => self
                .home()
                .map(|h| h.join(".config"))
                .ok_or(ConfigError::NoLocation {
                    what: "config file",
                    hint: "WAGW_CONFIG, XDG_CONFIG_HOME or HOME, or pass --config",
                })?,
        };
        Ok(base.join("wagw").join("wagw.json5"))
    }

    /// `$XDG_DATA_HOME/wagw`, else `~/.local/share/wagw`.
    pub fn default_data_dir(&self) -> Result<PathBuf, ConfigError> {
        let base = match self.get("XDG_DATA_HOME") {
            Some(x) => PathBuf::from(x),
            None => self.home().map(|h| h.join(".local").join("share")).ok_or(
                ConfigError::NoLocation {
                    what: "data directory",
                    hint: "WAGW_DATA_DIR, gateway.dataDir, XDG_DATA_HOME or HOME",
                },
            )?,
        };
        Ok(base.join("wagw"))
    }

    /// Expands a leading `~/` with `HOME`; other paths are returned as written.
    pub fn expand(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), self.home()) {
            (Some(rest), Some(home)) => home.join(rest),
            _ if path == "~" => self.home().unwrap_or_else(|| PathBuf::from(path)),
            _ => PathBuf::from(path),
        }
    }

    /// Expands `~` and makes a relative path relative to `base` (the config file's folder).
    pub(crate) fn resolve_path(&self, path: &str, base: Option<&Path>) -> PathBuf {
        let p = self.expand(path);
        let joined = match base {
            Some(b) if p.is_relative() => b.join(p),
            _ => p,
        };
        // Drop `.` components so `./auth` reads as `<base>/auth` in output.
        joined
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn overrides_and_fallbacks() {
        let env = Env::from_pairs([("WAGW_CONFIG", "~/w.json5"), ("HOME", "/h")]);
        assert_eq!(env.config_path().unwrap(), PathBuf::from("/h/w.json5"));
        let env = Env::from_pairs([("HOME", "/h"), ("XDG_CONFIG_HOME", "")]);
        assert_eq!(
            env.config_path().unwrap(),
            PathBuf::from("/h/.config/wagw/wagw.json5")
        );
        let env = Env::from_pairs([("XDG_DATA_HOME", "/d")]);
        assert_eq!(env.default_data_dir().unwrap(), PathBuf::from("/d/wagw"));
        assert!(Env::default().config_path().is_err());
        assert!(Env::default().default_data_dir().is_err());
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let env = Env::from_pairs([("HOME", "/h")]);
        let base = Path::new("/etc/wagw");
        assert_eq!(
            env.resolve_path("./auth/a", Some(base)),
            PathBuf::from("/etc/wagw/auth/a")
        );
        assert_eq!(env.resolve_path("~/a", Some(base)), PathBuf::from("/h/a"));
        assert_eq!(env.resolve_path("/abs", Some(base)), PathBuf::from("/abs"));
        assert_eq!(env.resolve_path("rel", None), PathBuf::from("rel"));
    }
}
