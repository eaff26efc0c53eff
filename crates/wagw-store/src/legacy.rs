//! Recognising what an earlier wagw (on the sled database) left behind, so `wagw doctor`
//! can say what to do with it. Nothing released used sled, so there is no migration: the
//! gateway state starts afresh and an account is linked again.

use std::path::Path;

/// The names sled leaves in its folder: `conf`, `db`, `blobs/` and `snap.*` files.
/// Returns the ones present in `dir` (empty when it is not an old sled folder).
///
/// ```
/// let dir = tempfile::tempdir().expect("tempdir");
/// assert!(wagw_store::sled_leftovers(dir.path()).is_empty());
/// std::fs::write(dir.path().join("conf"), b"").expect("write");
/// std::fs::write(dir.path().join("db"), b"").expect("write");
/// assert_eq!(wagw_store::sled_leftovers(dir.path()), ["conf", "db"]);
/// ```
pub fn sled_leftovers(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            let sled = match name.as_str() {
                "conf" | "db" => !is_dir,
                "blobs" => is_dir,
                n => n.starts_with("snap.") && !is_dir,
            };
            sled.then(|| if is_dir { format!("{name}/") } else { name })
        })
        .collect();
    // `conf` and `db` together mark sled; either alone could be anything.
    let marked = found.iter().any(|n| n == "conf") && found.iter().any(|n| n == "db");
    if !marked {
        return Vec::new();
    }
    found.sort();
    found
}
