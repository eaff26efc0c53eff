//! Private files and folders: folders 0700, files 0600 (Unix), created that way rather
//! than tightened afterwards so no other user ever sees a window.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `dir` (and parents) as 0700 if missing. When it exists with group or other
/// permissions, tightens it to 0700 and says so in the log.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(target: "wagw::daemon", dir = %dir.display(), mode = format!("{mode:o}"),
                "data directory was readable by others; setting it to 0700");
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Writes `contents` to a new file `path` with mode 0600; fails if it exists.
pub fn write_private_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// The permission bits of `path` (Unix), for doctor and tests.
#[cfg(unix)]
pub fn mode(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

/// Replaces the contents of an existing file atomically: a sibling temporary file with the
/// same permission bits is written and synced, then renamed over it, so a reader (or a
/// crash) sees the old file or the new one, never half of one. A symlink is followed: its
/// target is replaced and the link stays.
pub fn replace_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&target)?.permissions();
    let name = target
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".wagw-tmp");
    let tmp = target.with_file_name(tmp_name);
    // A leftover of an interrupted write by wagw (the name is wagw's own).
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(permissions.mode() & 0o7777);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        // The creation mode is masked by the umask: set the original bits explicitly.
        file.set_permissions(permissions.clone())?;
        file.sync_all()
    });
    let placed = written.and_then(|()| std::fs::rename(&tmp, &target));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself is durable once the folder is synced.
    if let Some(dir) = target.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replace_keeps_mode_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json5");
        std::fs::write(&real, "{ a: 1 }").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("wagw.json5");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace_atomically(&link, b"{ a: 2 }").unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "{ a: 2 }");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(mode(&real).unwrap(), 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }
}
