//! The credentials backup (the seeds' `creds.json.bak`): a copy of the account's device
//! record — the keys and identity a link created — kept outside the protocol store, so a
//! damaged record does not mean scanning a QR code again.
//!
//! - **Where:** beside the SQLite store, `<authDir>/credentials.bak` (0600, replaced
//!   atomically); on PostgreSQL the namespace `backup/account/<id>` of the same database.
//! - **When:** at every open of the store (so before a migration too: a store whose schema
//!   is older is read before it is opened), when the gateway stops an account without
//!   logging out, and after `wagw accounts import`. Only a record that decodes is copied:
//!   a damaged one never replaces a good backup.
//! - **Restored:** when the store's device record is missing or does not decode and the
//!   backup does, the backup is written back, a warning is logged and the store records it
//!   (`wagw store status` shows it). Logout deletes the backup with the store.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::store::Device;

use crate::error::Error;

/// The backup file's name in an authDir.
pub const BACKUP_FILE: &str = "credentials.bak";

/// The tree and key of the backup in its PostgreSQL namespace.
const TREE: &str = "credentials";
const KEY: &[u8] = b"backup";

/// The key in the store's `meta` tree recording the last restore from the backup.
pub(crate) const RESTORED_KEY: &[u8] = b"restored_from_backup";

/// What the backup's first line says, for a human who finds the file.
const NOTICE: &str = "SECRET: a wagw account's WhatsApp credentials (the linked device's \
private keys). Anyone holding this can act as that device. Keep it private; wagw deletes it \
on logout.";

/// Where an account's backup lives.
#[derive(Debug, Clone)]
pub enum BackupPlace {
    /// A file beside the SQLite store.
    File(PathBuf),
    /// A namespace of the PostgreSQL database.
    Namespace(wagw_store::Location),
}

impl BackupPlace {
    /// The backup of the store at `location`.
    pub fn of(location: &wagw_store::Location) -> Result<BackupPlace, Error> {
        match location {
            wagw_store::Location::Sqlite(file) => {
                Ok(BackupPlace::File(file.with_file_name(BACKUP_FILE)))
            }
            wagw_store::Location::Postgres { url, namespace, .. } => {
                wagw_store::Location::postgres(url, &format!("backup/{namespace}"))
                    .map(BackupPlace::Namespace)
                    .map_err(|e| Error::StoreOpen {
                        path: location.describe().to_path_buf(),
                        detail: e.to_string(),
                    })
            }
        }
    }

    /// The file, or the namespace's name (without a password).
    pub fn describe(&self) -> &Path {
        match self {
            BackupPlace::File(p) => p,
            BackupPlace::Namespace(l) => l.describe(),
        }
    }

    fn err(&self, detail: impl std::fmt::Display) -> Error {
        Error::StoreOpen {
            path: self.describe().to_path_buf(),
            detail: format!("credentials backup: {detail}"),
        }
    }

    /// The backup, if there is one. A backup that does not decode is an error (it is never
    /// restored).
    pub fn read(&self) -> Result<Option<Backup>, Error> {
        let raw = match self {
            BackupPlace::File(p) => match std::fs::read(p) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(self.err(e)),
            },
            BackupPlace::Namespace(l) => match l.peek(TREE, KEY).map_err(|e| self.err(e))? {
                Some(b) => b,
                None => return Ok(None),
            },
        };
        let file: BackupFile = serde_json::from_slice(&raw).map_err(|e| self.err(e))?;
        let device = serde_json::to_vec(&file.device).map_err(|e| self.err(e))?;
        decodes(&device).map_err(|e| self.err(e))?;
        Ok(Some(Backup {
            device,
            taken_at_ms: file.taken_at_ms,
        }))
    }

    /// Replaces the backup with `device` (the store's raw device record), when it decodes.
    pub fn write(&self, device: &[u8], now_ms: i64) -> Result<(), Error> {
        decodes(device).map_err(|e| self.err(format!("not backed up: {e}")))?;
        let file = BackupFile {
            secret: NOTICE.to_owned(),
            taken_at_ms: now_ms,
            device: serde_json::from_slice(device).map_err(|e| self.err(e))?,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| self.err(e))?;
        bytes.push(b'\n');
        match self {
            BackupPlace::File(p) => write_private_atomically(p, &bytes).map_err(|e| self.err(e)),
            BackupPlace::Namespace(l) => {
                let db = l
                    .open(&wagw_store::OpenOptions {
                        create: true,
                        cache_kib: 64,
                    })
                    .map_err(|e| self.err(e))?;
                let tree = db.open_tree(TREE).map_err(|e| self.err(e))?;
                tree.insert(KEY, &bytes).map_err(|e| self.err(e))?;
                db.flush().map_err(|e| self.err(e))
            }
        }
    }

    /// Deletes the backup (logout); whether there was one.
    pub fn remove(&self) -> Result<bool, Error> {
        match self {
            BackupPlace::File(p) => match std::fs::remove_file(p) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(self.err(e)),
            },
            BackupPlace::Namespace(l) => l.remove().map_err(|e| self.err(e)),
        }
    }
}

/// A readable backup.
#[derive(Debug, Clone)]
pub struct Backup {
    /// The device record as the store keeps it.
    pub device: Vec<u8>,
    /// When it was taken (Unix ms).
    pub taken_at_ms: i64,
}

/// The backup's stored form; the notice comes first so a human reading the file sees it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BackupFile {
    secret: String,
    taken_at_ms: i64,
    device: serde_json::Value,
}

/// Whether a raw device record decodes as the library's device.
pub(crate) fn decodes(device: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<Device>(device).map(|_| ())
}

/// Whether two raw device records hold the same values (the backup keeps the record as
/// JSON, whose key order may differ from the store's bytes).
pub(crate) fn same_record(a: &[u8], b: &[u8]) -> bool {
    match (
        serde_json::from_slice::<serde_json::Value>(a),
        serde_json::from_slice::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes `bytes` to `path` through a temporary file created 0600, synced, then renamed
/// over the old one: a crash leaves the old backup or the new one, never half of one.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_file_name(format!("{BACKUP_FILE}.tmp"));
    // A leftover of a crash is ours: replaced, so the new file gets mode 0600.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_backup_file_is_private_round_trips_and_refuses_a_bad_record() {
        let dir = tempfile::tempdir().unwrap();
        let place = BackupPlace::of(&wagw_store::Location::Sqlite(
            dir.path().join("account.sqlite3"),
        ))
        .unwrap();
        assert_eq!(place.describe(), dir.path().join(BACKUP_FILE));
        assert!(place.read().unwrap().is_none());
        let mut device = Device::new();
        device.push_name = "Gateway".into();
        let record = serde_json::to_vec(&device).unwrap();
        place.write(&record, 1_234).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(place.describe())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(place.describe()).unwrap();
        assert!(text.starts_with("{\n  \"secret\": \"SECRET:"), "{text}");
        let back = place.read().unwrap().unwrap();
        assert_eq!(back.taken_at_ms, 1_234);
        assert!(same_record(&back.device, &record));

        // A record that does not decode never replaces the good backup.
        assert!(place.write(b"{\"truncated", 5_678).is_err());
        assert_eq!(place.read().unwrap().unwrap().taken_at_ms, 1_234);
        // A backup that does not decode is an error, never restored.
        std::fs::write(place.describe(), b"garbage").unwrap();
        assert!(place.read().is_err());
        assert!(place.remove().unwrap());
        assert!(!place.remove().unwrap());
    }
}
