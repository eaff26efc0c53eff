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
