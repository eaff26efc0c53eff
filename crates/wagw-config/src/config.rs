//! [`Config`]: a loaded, checked configuration and its resolved accounts.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::ser::SerializeStruct;
use wagw_core::AccountId;

use crate::check::Checker;
use crate::de::{Collector, from_node, index_positions};
use crate::env::Env;
use crate::error::{ConfigError, Problem, ProblemKind};
use crate::file::ConfigFile;
use crate::json5;
use crate::resolve::{Built, build};
use crate::settings::{
    Binding, GatewaySettings, MediaSettings, MessageSettings, ResolvedAccount, SessionSettings,
    StorageSettings, WebSettings,
};

/// A valid configuration: the file as written plus every account resolved.
///
/// ```
/// use wagw_config::{Config, Env};
/// let env = Env::from_pairs([("WAGW_DATA_DIR", "/var/lib/wagw")]);
/// let config = Config::from_json5_str(r#"{
///     channels: { whatsapp: {
///         groupPolicy: "open",
///         accounts: { work: { dmPolicy: "allowlist", allowFrom: ["+1 (555) 123-4567"] } },
///     } },
/// }"#, &env)?;
/// let work = config.default_account();
/// assert_eq!(work.account_id.as_str(), "work");
/// assert_eq!(work.allow_from[0].to_string(), "+15551234567");
/// // The account did not set groupPolicy, so the channel's value applies (no shadowing).
/// assert_eq!(work.group_policy, wagw_core::GroupPolicy::Open);
/// assert_eq!(work.auth_dir, std::path::Path::new("/var/lib/wagw/accounts/work"));
/// # Ok::<(), wagw_config::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    source: Option<PathBuf>,
    file: ConfigFile,
    built: BuiltSettings,
    warnings: Vec<Problem>,
    /// Where each written path is in the file, so checks that run after loading (agent
    /// sinks, pairing templates) report line:column like the loader does.
    positions: Arc<HashMap<String, json5::Pos>>,
    /// `agents.defaults.heartbeat` and `agents.list[].heartbeat`, resolved.
    heartbeats: Vec<crate::heartbeat::HeartbeatSettings>,
}

#[derive(Debug, Clone)]
struct BuiltSettings {
    accounts: Vec<ResolvedAccount>,
    default_account: AccountId,
    web: WebSettings,
    gateway: GatewaySettings,
    session: SessionSettings,
    messages: MessageSettings,
    media: MediaSettings,
    bindings: Vec<Binding>,
    storage: StorageSettings,
}

impl From<Built> for BuiltSettings {
    fn from(b: Built) -> Self {
        BuiltSettings {
            accounts: b.accounts,
            default_account: b.default_account,
            web: b.web,
            gateway: b.gateway,
            session: b.session,
            messages: b.messages,
            media: b.media,
            bindings: b.bindings,
            storage: b.storage,
        }
    }
}

/// The largest config file read: a thousand accounts with long allowlists fit in far less;
/// anything bigger is a mistake (a log or a disk image passed as `--config`) that would
/// otherwise be parsed into gigabytes of memory.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a config file: a regular file (following symlinks) of at most
/// [`MAX_CONFIG_BYTES`], as UTF-8. A FIFO or device is refused before it is opened, since
/// opening a FIFO blocks until a writer appears.
pub fn read_config_file(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read as _;
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    let kind = file_kind(&meta);
    if !meta.is_file() {
        return Err(ConfigError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    let too_large = |size| ConfigError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: MAX_CONFIG_BYTES,
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    // The file may have grown since `metadata`: read one byte past the cap to notice.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
    })
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "a regular file"
    }
}

impl Config {
    /// Reads and checks a JSON5 file. Relative paths inside it (`authDir`, `dataDir`,
    /// `localRoots`) are taken relative to the file's folder.
    pub fn load(path: &Path, env: &Env) -> Result<Config, ConfigError> {
        let text = read_config_file(path)?;
        Config::parse(&text, Some(path), env)
    }

    /// Checks a JSON5 document that did not come from a file (relative paths stay relative).
    pub fn from_json5_str(text: &str, env: &Env) -> Result<Config, ConfigError> {
        Config::parse(text, None, env)
    }

    /// Checks a JSON5 document; `file` names it in errors and anchors relative paths.
    pub fn parse(text: &str, file: Option<&Path>, env: &Env) -> Result<Config, ConfigError> {
        let invalid = |problems| ConfigError::Invalid {
            file: file.map(Path::to_path_buf),
            problems,
        };
        let root = json5::parse(text).map_err(|e| {
            invalid(vec![Problem {
                path: String::new(),
                pos: Some(e.pos),
                kind: ProblemKind::Syntax,
                message: e.message,
            }])
        })?;
        let collector = Collector::default();
        let raw: Option<ConfigFile> = from_node(&root, &collector);
        let mut problems = collector.into_problems();
        let Some(raw) = raw else {
            return Err(invalid(sorted(problems)));
        };
        let positions = index_positions(&root);
        let bad: BTreeSet<String> = problems.iter().map(|p| p.path.clone()).collect();
        let mut checker = Checker::new(&positions, bad.clone());
        let base = file.and_then(Path::parent).map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        });
        let built = build(&raw, &mut checker, env, base);
        let heartbeats = crate::heartbeat::resolve(&raw, &mut checker);
        // A value that already failed its type check holds a placeholder; checks of the
        // placeholder would only repeat the problem.
        problems.extend(
            checker
                .problems
                .into_iter()
                .filter(|p| !bad.iter().any(|b| is_under(&p.path, b))),
        );
        if !problems.is_empty() {
            return Err(invalid(sorted(problems)));
        }
        Ok(Config {
            source: file.map(Path::to_path_buf),
            file: raw,
            built: built.into(),
            warnings: sorted(checker.warnings),
            positions: Arc::new(positions),
            heartbeats,
        })
    }

    /// The position of `path` (dotted, as in [`Problem::path`]) in the file, or of its
    /// nearest written ancestor; `None` for a config that came from no text.
    pub fn position(&self, path: &str) -> Option<json5::Pos> {
        Checker::new(&self.positions, BTreeSet::new()).pos(path)
    }

    /// True when the file wrote `path` (dotted).
    pub fn written(&self, path: &str) -> bool {
        self.positions.contains_key(path)
    }

    /// A problem at `path` found by a check that runs after loading (the agent sinks, the
    /// pairing reply template), positioned like the loader's own problems.
    pub fn problem(&self, path: &str, kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            path: path.to_string(),
            pos: self.position(path),
            kind,
            message: message.into(),
        }
    }

    /// [`ConfigError::Invalid`] for this config's file with `problems` in file order, so
    /// later checks fail the same way loading does.
    pub fn invalid(&self, problems: Vec<Problem>) -> ConfigError {
        ConfigError::Invalid {
            file: self.source.clone(),
            problems: sorted(problems),
        }
    }

    /// The file this config was loaded from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The file as written (before merging and defaults).
    pub fn file(&self) -> &ConfigFile {
        &self.file
    }

    /// Every account, resolved, in id order (one implicit `default` account when the file
    /// configures none). Disabled accounts are included; check `enabled`.
    pub fn accounts(&self) -> &[ResolvedAccount] {
        &self.built.accounts
    }

    /// The accounts with `enabled: true`.
    pub fn enabled_accounts(&self) -> impl Iterator<Item = &ResolvedAccount> {
        self.built.accounts.iter().filter(|a| a.enabled)
    }

    /// One account by id.
    pub fn resolve_account(&self, id: &AccountId) -> Result<&ResolvedAccount, ConfigError> {
        self.built
            .accounts
            .iter()
            .find(|a| &a.account_id == id)
            .ok_or_else(|| ConfigError::UnknownAccount {
                id: id.to_string(),
                known: self
                    .built
                    .accounts
                    .iter()
                    .map(|a| a.account_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The account used when none is named: `default` if configured, else the first id in
    /// sorted order.
    pub fn default_account(&self) -> &ResolvedAccount {
        // `build` always produces at least one account and picks the default among them.
        self.built
            .accounts
            .iter()
            .find(|a| a.is_default)
            .unwrap_or(&self.built.accounts[0])
    }

    /// The default account's id.
    pub fn default_account_id(&self) -> &AccountId {
        &self.built.default_account
    }

    /// `web`: enabled, heartbeat and the clamped reconnect policy.
    pub fn web(&self) -> &WebSettings {
        &self.built.web
    }

    /// `gateway`, with `WAGW_DATA_DIR` and `WAGW_TOKEN` applied.
    pub fn gateway(&self) -> &GatewaySettings {
        &self.built.gateway
    }

    /// `session`.
    pub fn session(&self) -> &SessionSettings {
        &self.built.session
    }

    /// `messages`, `identity` and `agents.list` (mention patterns compiled).
    pub fn messages(&self) -> &MessageSettings {
        &self.built.messages
    }

    /// `media`.
    pub fn media(&self) -> &MediaSettings {
        &self.built.media
    }

    /// `storage`: the PostgreSQL URL every store lives in (`storage.url`, else
    /// `WAGW_DATABASE_URL`), or none for SQLite files in the data directory.
    pub fn storage(&self) -> &StorageSettings {
        &self.built.storage
    }

    /// `bindings`, in file order (first match wins).
    pub fn bindings(&self) -> &[Binding] {
        &self.built.bindings
    }

    /// The agents' heartbeats (`agents.defaults.heartbeat`, `agents.list[].heartbeat`).
    pub fn heartbeats(&self) -> &[crate::heartbeat::HeartbeatSettings] {
        &self.heartbeats
    }

    /// `commands`: chat commands the gateway runs (`/config`), and how command
    /// authorization is decided.
    pub fn commands(&self) -> crate::chat::CommandSettings {
        let c = self.file.commands.as_ref();
        crate::chat::CommandSettings {
            config: c.and_then(|c| c.config).unwrap_or(false),
            use_access_groups: c.and_then(|c| c.use_access_groups).unwrap_or(true),
        }
    }

    /// Warnings: clamped values, deprecated or ignored keys. The config is valid anyway.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }
}

/// `{accounts, defaultAccount, web, gateway, session, messages, media, bindings, storage,
/// warnings}`: what `wagw config check --json` prints. Secrets are redacted (the token, sink
/// secrets, the database URL's password).
impl Serialize for Config {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Config", 10)?;
        st.serialize_field("accounts", &self.built.accounts)?;
        st.serialize_field("defaultAccount", &self.built.default_account)?;
        st.serialize_field("web", &self.built.web)?;
        st.serialize_field("gateway", &self.built.gateway)?;
        st.serialize_field("session", &self.built.session)?;
        st.serialize_field("messages", &self.built.messages)?;
        st.serialize_field("media", &self.built.media)?;
        st.serialize_field("bindings", &self.built.bindings)?;
        st.serialize_field("storage", &self.built.storage)?;
        st.serialize_field("warnings", &self.warnings)?;
        st.end()
    }
}

/// True when `path` is `ancestor` or lies inside it.
fn is_under(path: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// File order: by position, problems without one last.
fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| (p.pos.is_none(), p.pos));
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wagw_core::{DmPolicy, GroupPolicy};

    fn env() -> Env {
        Env::from_pairs([("WAGW_DATA_DIR", "/data"), ("HOME", "/home/u")])
    }

    #[test]
    fn reconnect_deadlines_are_keys_with_floors() {
        let c = Config::from_json5_str(
            "{ web: { reconnect: { idleProbeAfterMs: 0, probeTimeoutMs: 5, connectTimeoutMs: 7000, banDefaultWaitMs: 9 } } }",
            &env(),
        )
        .unwrap();
        let r = c.web().reconnect;
        assert_eq!(r.idle_probe_after_ms, 0, "0 turns probing off");
        assert_eq!(r.probe_timeout_ms, 1_000);
        assert_eq!(r.connect_timeout_ms, 7_000);
        assert_eq!(r.ban_default_wait_ms, 60_000);
        let warned: Vec<&str> = c.warnings().iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            warned,
            [
                "web.reconnect.probeTimeoutMs",
                "web.reconnect.banDefaultWaitMs"
            ]
        );
        let p = &c.warnings()[0];
        assert_eq!(p.pos.map(|p| (p.line, p.column)), Some((1, 44)));
        let d = Config::from_json5_str("{}", &env()).unwrap();
        assert_eq!(d.web().reconnect.idle_probe_after_ms, 1_800_000);
        assert_eq!(d.web().reconnect.connect_timeout_ms, 60_000);
    }

    #[test]
    fn a_position_is_found_for_later_checks() {
        let c = Config::from_json5_str(
            "{\n  gateway: { agents: [ { id: \"a\", type: \"echo\" } ] } }",
            &env(),
        )
        .unwrap();
        assert_eq!(
            c.position("gateway.agents[0].id")
                .map(|p| (p.line, p.column)),
            Some((2, 26))
        );
        // An unwritten key is placed at its nearest written ancestor.
        assert_eq!(
            c.position("gateway.agents[0].secret"),
            c.position("gateway.agents[0]")
        );
        assert!(c.written("gateway.agents") && !c.written("gateway.token"));
        let e = c.invalid(vec![c.problem(
            "gateway.agents[0].id",
            ProblemKind::Value,
            "no",
        )]);
        assert!(
            e.to_string().ends_with("2:26: gateway.agents[0].id: no"),
            "{e}"
        );
    }

    #[test]
    fn an_auth_dir_must_be_a_folder_of_its_own() {
        let file = Path::new("/etc/wagw/wagw.json5");
        let check = |dir: &str| {
            let text = format!("{{channels:{{whatsapp:{{accounts:{{a:{{authDir:{dir:?}}}}}}}}}}}");
            Config::parse(&text, Some(file), &env())
                .err()
                .map(|e| e.problems()[0].message.clone())
        };
        for (dir, what) in [
            ("/", "a filesystem root"),
            ("~", "the home folder"),
            ("/home", "the home folder (or contains it)"),
            (".", "the config file's folder"),
            ("..", "the config file's folder (or contains it)"),
            ("/data", "the data dir"),
            ("/data/accounts/..", "the data dir"),
        ] {
            let got = check(dir).unwrap_or_else(|| panic!("{dir} accepted"));
            assert!(got.contains(what), "{dir}: {got}");
            assert!(got.contains("logout deletes"), "{dir}: {got}");
        }
        for dir in ["./auth", "~/wagw-auth", "/data/accounts/a", "/srv/wagw/a"] {
            assert_eq!(check(dir), None, "{dir}");
        }
        // Without a file, `.` is the working directory.
        let e = Config::from_json5_str(
            r#"{channels:{whatsapp:{accounts:{a:{authDir:"."}}}}}"#,
            &env(),
        )
        .err()
        .map(|e| e.problems()[0].message.clone())
        .unwrap_or_default();
        assert!(e.contains("the current folder"), "{e}");
    }

    #[test]
    fn only_regular_files_under_the_cap_are_read_as_config() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_config_file(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file (a folder)"), "{e}");
        let big = dir.path().join("big.json5");
        std::fs::write(&big, vec![b' '; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        let e = read_config_file(&big).unwrap_err().to_string();
        assert!(e.contains("at most 4194304 bytes"), "{e}");
        let bad = dir.path().join("bad.json5");
        std::fs::write(&bad, b"{a:\xff}").unwrap();
        let e = read_config_file(&bad).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
    }

    fn problems(src: &str) -> Vec<String> {
        match Config::from_json5_str(src, &env()) {
            Ok(_) => panic!("accepted {src}"),
            Err(e) => e.problems().iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn empty_object_is_one_default_account() {
        let c = Config::from_json5_str("{}", &env()).unwrap();
        assert_eq!(c.accounts().len(), 1);
        let a = c.default_account();
        assert!(a.account_id.is_default() && a.is_default && a.enabled);
        assert_eq!(a.dm_policy, DmPolicy::Pairing);
        assert_eq!(a.group_policy, GroupPolicy::Allowlist);
        assert_eq!(a.text_chunk_limit, 4000);
        assert_eq!(a.auth_dir, Path::new("/data/accounts/default"));
    }

    #[test]
    fn account_does_not_shadow_channel_values() {
        let c = Config::from_json5_str(
            "{channels: {whatsapp: {groupPolicy: 'open', dmPolicy: 'allowlist', allowFrom: ['+15551234567'],
              accounts: {default: {}, work: {dmPolicy: 'pairing'}}}}}",
            &env(),
        )
        .unwrap();
        let d = c
            .resolve_account(&AccountId::parse("default").unwrap())
            .unwrap();
        assert_eq!(d.group_policy, GroupPolicy::Open);
        assert_eq!(d.dm_policy, DmPolicy::Allowlist);
        let w = c
            .resolve_account(&AccountId::parse("work").unwrap())
            .unwrap();
        assert_eq!(w.dm_policy, DmPolicy::Pairing);
        assert_eq!(w.group_policy, GroupPolicy::Open);
        assert_eq!(w.allow_from.len(), 1);
    }

    #[test]
    fn every_problem_is_reported() {
        let p = problems(
            "{\n channels: {whatsapp: {\n  dmPolicy: 'opne',\n  allowFrom: ['abc', 42],\n  textChunkLimit: 'x',\n  bogus: 1,\n }}\n}",
        );
        assert_eq!(p.len(), 5, "{p:#?}");
        assert!(
            p[0].starts_with("3:13: channels.whatsapp.dmPolicy: unknown value \"opne\""),
            "{p:#?}"
        );
        assert!(p[0].contains("did you mean \"open\"?"), "{p:#?}");
        assert!(
            p[1].starts_with("4:15: channels.whatsapp.allowFrom[0]: \"abc\""),
            "{p:#?}"
        );
        assert!(
            p[2].starts_with("4:22: channels.whatsapp.allowFrom[1]: expected a string"),
            "{p:#?}"
        );
        assert!(
            p[3].starts_with("5:19: channels.whatsapp.textChunkLimit: expected a whole number"),
            "{p:#?}"
        );
        assert!(
            p[4].starts_with("6:3: channels.whatsapp.bogus: unknown key"),
            "{p:#?}"
        );
    }

    #[test]
    fn path_ancestry() {
        assert!(is_under("a.b[0]", "a.b"));
        assert!(is_under("a.b", "a.b"));
        assert!(!is_under("a.bc", "a.b"));
        assert!(is_under("x", ""));
    }

    #[test]
    fn unknown_account_names_the_known_ones() {
        let c =
            Config::from_json5_str("{channels: {whatsapp: {accounts: {a: {}, b: {}}}}}", &env())
                .unwrap();
        let e = c
            .resolve_account(&AccountId::parse("z").unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("configured: a, b"), "{e}");
        assert_eq!(c.default_account_id().as_str(), "a");
    }

    #[test]
    fn storage_url_comes_from_the_file_else_the_environment() {
        let text = "{\n  storage: { url: 'postgres://wagw:filepw@db/wagw' },\n}";
        let c = Config::from_json5_str(text, &env()).unwrap();
        let url = c.storage().url.as_ref().unwrap();
        assert_eq!(url.expose(), "postgres://wagw:filepw@db/wagw");
        assert_eq!(c.storage().source, crate::StorageSource::Config);
        assert_eq!(c.storage().engine(), "postgresql");
        // The file wins over the environment.
        let both = Env::from_pairs([
            ("WAGW_DATA_DIR", "/data"),
            ("WAGW_DATABASE_URL", "postgresql://other:envpw@h/x"),
        ]);
        let c2 = Config::from_json5_str(text, &both).unwrap();
        assert_eq!(
            c2.storage().url.as_ref().unwrap().expose(),
            "postgres://wagw:filepw@db/wagw"
        );
        let c3 = Config::from_json5_str("{}", &both).unwrap();
        assert_eq!(
            c3.storage().url.as_ref().unwrap().expose(),
            "postgresql://other:envpw@h/x"
        );
        assert_eq!(c3.storage().source, crate::StorageSource::Environment);
        let c4 = Config::from_json5_str("{}", &env()).unwrap();
        assert!(c4.storage().url.is_none());
        assert_eq!(c4.storage().engine(), "sqlite");
        // Printed (config check --json) without the password.
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("filepw"), "{json}");
        assert!(json.contains("postgres://wagw:***@db/wagw"), "{json}");
    }

    #[test]
    fn a_storage_url_that_is_not_postgres_is_an_error_at_its_position() {
        for (value, want) in [
            (
                "mysql://root:topsecret@db/wagw",
                "a mysql:// URL; must be a PostgreSQL URL",
            ),
            ("topsecret", "not a URL"),
            ("", "must not be empty"),
            ("postgres://u:top secret@h/db", "must not contain spaces"),
            ("POSTGRES://u:topsecret@h/db", "a POSTGRES:// URL"),
        ] {
            let text = format!("{{\n  storage: {{\n    url: {value:?},\n  }},\n}}");
            let e = Config::from_json5_str(&text, &env()).unwrap_err();
            let shown = e.to_string();
            assert!(shown.contains("3:5: storage.url"), "{shown}");
            assert!(shown.contains("storage.url"), "{shown}");
            assert!(shown.contains(want), "{value}: {shown}");
            assert!(
                !shown.contains("topsecret") && !shown.contains("top secret"),
                "{shown}"
            );
        }
        // From the environment: the message says so.
        let bad = Env::from_pairs([
            ("WAGW_DATA_DIR", "/d"),
            ("WAGW_DATABASE_URL", "sqlite:///x"),
        ]);
        let e = Config::from_json5_str("{}", &bad).unwrap_err().to_string();
        assert!(
            e.contains("storage.url") && e.contains("WAGW_DATABASE_URL"),
            "{e}"
        );
        // A wrong type is the loader's type error, also positioned.
        let e = Config::from_json5_str("{storage: {url: 5}}", &env())
            .unwrap_err()
            .to_string();
        assert!(e.contains("1:17") && e.contains("storage.url"), "{e}");
        let e = Config::from_json5_str("{storage: {uri: 'postgres://h'}}", &env())
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean") || e.contains("url"), "{e}");
    }
}
