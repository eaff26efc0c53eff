//! An account's `authDir` as a folder wagw owns: it is claimed with a marker file when wagw
//! creates (or first uses) it, refused when it holds files wagw did not create, and on
//! logout only wagw's own files are deleted — never the folder's other contents, whatever
//! `authDir` points at.
//!
//! The configuration already refuses the obvious mistakes (a filesystem root, the home
//! folder, the data dir, the config's folder); this is the check that needs the filesystem:
//! a non-empty folder that is not wagw's.

use std::path::{Path, PathBuf};

/// The marker wagw writes into every authDir it owns.
pub const MARKER: &str = ".wagw-authdir";

/// What the marker says, for a human who finds it.
const MARKER_TEXT: &str = "This folder holds a wagw account's WhatsApp protocol state \
(keys and device identity: secrets). wagw created it and deletes its own files here on \
logout. Do not put other files here.\n";

/// The protocol store's files, relative to the authDir (the SQLite database, the files
/// SQLite keeps beside it, the store's lock file and the credentials backup).
pub const STORE_FILES: &[&str] = &[
    "account.sqlite3",
    "account.sqlite3-wal",
    "account.sqlite3-shm",
    "account.sqlite3-journal",
    "account.sqlite3.lock",
    // The credentials backup (store/backup.rs) and its temporary file while it is replaced.
    "credentials.bak",
    "credentials.bak.tmp",
];

/// What an earlier wagw (on sled) left in an authDir: recognised, so such a folder is
/// adopted and its files removed on logout.
const OLD_STORE_FILES: &[&str] = &["conf", "db", "blobs"];

/// Whether `name` is a file wagw puts into an authDir.
fn is_own(name: &str) -> bool {
    name == MARKER
        || STORE_FILES.contains(&name)
        || OLD_STORE_FILES.contains(&name)
        || name.starts_with("snap.")
}

/// Why an authDir cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthDirError {
    /// The folder holds files wagw did not create.
    #[error(
        "{} holds files wagw did not create ({}); an account's authDir must be a folder of \
         its own, because logout deletes the account's files there. Point authDir at a new \
         folder (or remove it to use <dataDir>/accounts/<id>)",
        dir.display(),
        examples.join(", ")
    )]
    Foreign {
        /// The authDir.
        dir: PathBuf,
        /// Up to three of the foreign names.
        examples: Vec<String>,
    },
    /// The path exists and is not a folder.
    #[error("{} is not a folder; point authDir at a folder", dir.display())]
    NotAFolder {
        /// The authDir.
        dir: PathBuf,
    },
    /// Reading or writing the folder failed.
    #[error("cannot use the authDir {}: {source}", dir.display())]
    Io {
        /// The authDir.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io(dir: &Path) -> impl FnOnce(std::io::Error) -> AuthDirError + '_ {
    move |source| AuthDirError::Io {
        dir: dir.to_path_buf(),
        source,
    }
}

/// Checks that `dir` is wagw's to use, without changing anything: missing, empty, marked,
/// or holding only wagw's own files.
pub fn check(dir: &Path) -> Result<(), AuthDirError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(AuthDirError::NotAFolder {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(io(dir)(e)),
    };
    if dir.join(MARKER).is_file() {
        return Ok(());
    }
    let mut foreign = Vec::new();
    for entry in entries {
        let name = entry
            .map_err(io(dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !is_own(&name) {
            foreign.push(name);
        }
    }
    if foreign.is_empty() {
        Ok(())
    } else {
        foreign.sort();
        foreign.truncate(3);
        Err(AuthDirError::Foreign {
            dir: dir.to_path_buf(),
            examples: foreign,
        })
    }
}

/// Makes `dir` wagw's: [`check`]s it, creates it (0700) when missing, and writes the
/// marker (0600) when absent.
pub fn claim(dir: &Path) -> Result<(), AuthDirError> {
    check(dir)?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))?;
    let marker = dir.join(MARKER);
    if !marker.is_file() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        use std::io::Write as _;
        options
            .open(&marker)
            .and_then(|mut f| f.write_all(MARKER_TEXT.as_bytes()))
            .map_err(io(dir))?;
    }
    Ok(())
}

/// Deletes wagw's own files in `dir` (the store, what an earlier store left, the marker),
/// then the folder if nothing else is left in it. Returns the names it left alone. A
/// missing folder is not an error.
pub fn remove_own(dir: &Path) -> Result<Vec<String>, AuthDirError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut left = Vec::new();
    let mut marker = false;
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MARKER {
            // Last: a logout interrupted half-way leaves a folder still marked as wagw's.
            marker = true;
        } else if is_own(&name) {
            let path = entry.path();
            let removed = if entry.file_type().map_err(io(dir))?.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(dir)(e)),
            }
        } else {
            left.push(name);
        }
    }
    if left.is_empty() {
        if marker {
            std::fs::remove_file(dir.join(MARKER)).map_err(io(dir))?;
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(dir)(e)),
        }
    } else {
        left.sort();
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_new_folder_is_claimed_and_removed_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("accounts/a");
        claim(&dir).unwrap();
        assert!(dir.join(MARKER).is_file());
        std::fs::write(dir.join("account.sqlite3"), b"x").unwrap();
        std::fs::write(dir.join("account.sqlite3-wal"), b"x").unwrap();
        check(&dir).unwrap();
        assert_eq!(remove_own(&dir).unwrap(), Vec::<String>::new());
        assert!(!dir.exists());
        // Again: nothing to do.
        assert_eq!(remove_own(&dir).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_folder_with_other_files_is_refused_and_never_emptied() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        std::fs::create_dir(dir.join("photos")).unwrap();
        let e = claim(dir).unwrap_err().to_string();
        assert!(e.contains("notes.txt") && e.contains("photos"), "{e}");
        assert!(!dir.join(MARKER).exists(), "claimed a foreign folder");
        // Even if asked to (a logout WhatsApp starts), only wagw's files go.
        std::fs::write(dir.join("account.sqlite3"), b"x").unwrap();
        let left = remove_own(dir).unwrap();
        assert_eq!(left, vec!["notes.txt".to_owned(), "photos".to_owned()]);
        assert!(dir.join("notes.txt").is_file() && dir.join("photos").is_dir());
        assert!(!dir.join("account.sqlite3").exists());
    }

    #[test]
    fn an_unmarked_folder_of_store_files_is_adopted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("old");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("conf"), b"x").unwrap();
        std::fs::create_dir(dir.join("blobs")).unwrap();
        std::fs::write(dir.join("snap.0000000000001234"), b"x").unwrap();
        claim(&dir).unwrap();
        assert!(dir.join(MARKER).is_file());
        assert!(remove_own(&dir).unwrap().is_empty());
        assert!(!dir.exists());
    }

    #[test]
    fn a_file_is_not_a_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(check(&file), Err(AuthDirError::NotAFolder { .. })));
    }
}
