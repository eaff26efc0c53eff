//! The API token: `WAGW_TOKEN`, else `gateway.token`, else `<dataDir>/token`, generated on
//! first use (32 random bytes, hex) with mode 0600.

use std::path::{Path, PathBuf};

use rand::RngCore;
use wagw_config::GatewaySettings;

use crate::error::CliError;
use wagw_http::ApiToken;

/// Where the token in effect came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `WAGW_TOKEN` or `gateway.token` (wagw-config resolves which).
    Configured,
    /// The generated file.
    File(PathBuf),
}

/// The token file in a data directory.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("token")
}

/// The token the gateway uses (and the CLI presents), creating the file when neither
/// `WAGW_TOKEN` nor `gateway.token` is set and it does not exist yet.
pub fn resolve(settings: &GatewaySettings) -> Result<(ApiToken, TokenSource), CliError> {
    if let Some(t) = settings
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Ok((ApiToken::new(t), TokenSource::Configured));
    }
    let path = token_path(&settings.data_dir);
    let token = load_or_create(&settings.data_dir)?;
    Ok((token, TokenSource::File(path)))
}

/// The token a client presents: the configured one, else the file's, else None (a gateway
/// never ran with this data dir; nothing is created).
pub fn existing(settings: &GatewaySettings) -> Option<ApiToken> {
    if let Some(t) = settings
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Some(ApiToken::new(t));
    }
    let text = std::fs::read_to_string(token_path(&settings.data_dir)).ok()?;
    let t = text.trim();
    (!t.is_empty()).then(|| ApiToken::new(t))
}

/// Reads `<dataDir>/token`, or creates it (and the 0700 data dir) with a fresh token.
pub fn load_or_create(data_dir: &Path) -> Result<ApiToken, CliError> {
    let path = token_path(data_dir);
    let io = |source| CliError::Io {
        what: "the API token file",
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim();
            if token.is_empty() {
                return Err(CliError::BadTokenFile { path: path.clone() });
            }
            #[cfg(unix)]
            if super::files::mode(&path).map_err(io)? & 0o077 != 0 {
                use std::os::unix::fs::PermissionsExt;
                tracing::warn!(target: "wagw::daemon", path = %path.display(),
                    "token file was readable by others; setting it to 0600 (consider rotating: delete it and restart)");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            Ok(ApiToken::new(token))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            super::files::ensure_private_dir(data_dir).map_err(|source| CliError::Io {
                what: "the data directory",
                path: data_dir.to_path_buf(),
                source,
            })?;
            let token = generate();
            match super::files::write_private_new(&path, format!("{token}\n").as_bytes()) {
                Ok(()) => {
                    tracing::info!(target: "wagw::daemon", path = %path.display(), "generated the API token");
                    Ok(ApiToken::new(token))
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(data_dir),
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

/// 32 random bytes from the OS, as 64 lowercase hex digits.
/// Estimated strength a token needs before the API may listen off loopback: 256 bits, as
/// much as the generated token (32 random bytes).
pub const STRONG_TOKEN_BITS: f64 = 256.0;

/// Why `token` is too weak to guard an API reachable from the network, or None when it is
/// strong enough. The estimate is the length times the bits per character of the character
/// classes it uses; a token that repeats few characters (a word, a pattern) fails even when
/// long, since a guesser tries those first. `openssl rand -hex 32` passes.
pub fn weakness(token: &str) -> Option<String> {
    let chars: Vec<char> = token.chars().collect();
    let mut alphabet = 0u32;
    if chars.iter().any(char::is_ascii_lowercase) {
        alphabet += 26;
    }
    if chars.iter().any(char::is_ascii_uppercase) {
        alphabet += 26;
    }
    if chars.iter().any(char::is_ascii_digit) {
        alphabet += 10;
    }
    if chars.iter().any(|c| !c.is_ascii_alphanumeric()) {
        alphabet += 33;
    }
    let bits = chars.len() as f64 * f64::from(alphabet.max(1)).log2();
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let most = distinct
        .iter()
        .map(|d| chars.iter().filter(|c| *c == d).count())
        .max()
        .unwrap_or(0);
    if bits < STRONG_TOKEN_BITS {
        Some(format!(
            "it has about {} bits of strength ({} characters); at least {} are needed",
            bits as u32,
            chars.len(),
            STRONG_TOKEN_BITS as u32
        ))
    } else if distinct.len() < 12 || most * 4 > chars.len() {
        Some(format!(
            "it repeats too few characters ({} distinct in {}) to be random",
            distinct.len(),
            chars.len()
        ))
    } else {
        None
    }
}

fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn only_random_looking_tokens_of_256_bits_are_strong() {
        assert_eq!(weakness(&generate()), None);
        // `openssl rand -base64 32`
        assert_eq!(
            weakness("q3Vw0Zc8yT+fL2mN7pR1sX4bK9dJ6hG5aE0uI8oY/Cg="),
            None
        );
        for weak in [
            "x",
            "correcthorsebatterystaple",
            "password1234567890password1234567890",
            &"ab".repeat(40),
            &"0123456789".repeat(8),
            "deadbeefdeadbeefdeadbeefdeadbeef",
        ] {
            assert!(weakness(weak).is_some(), "{weak} passed");
        }
    }

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested/data");
        let a = load_or_create(&data).unwrap();
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().chars().all(|c| c.is_ascii_hexdigit()));
        let b = load_or_create(&data).unwrap();
        assert_eq!(a.expose(), b.expose());
        #[cfg(unix)]
        {
            assert_eq!(
                super::super::files::mode(&token_path(&data)).unwrap(),
                0o600
            );
            assert_eq!(super::super::files::mode(&data).unwrap(), 0o700);
        }
    }

    #[test]
    fn an_empty_token_file_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(token_path(dir.path()), "\n").unwrap();
        let e = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(e.contains("token"), "{e}");
    }
}
