//! The SQLite database file: its folder is created when missing, and the
//! file is created readable and writable by its owner only (0600), whatever
//! the folder's mode or the umask. SQLite gives the `-wal` and `-shm` files
//! the mode of the database file, so they follow.

use super::StoreError;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Creates the folder of `path` and, when missing, an empty 0600 file.
pub(crate) fn prepare_sqlite_file(path: &str) -> Result<(), StoreError> {
    if path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    let path = Path::new(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Url(format!("cannot create {}: {e}", dir.display())))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Url(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_database_file_is_private_in_an_open_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let file = dir.path().join("sub/patgate.db");
        prepare_sqlite_file(file.to_str().unwrap()).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Existing files are left as they are.
        prepare_sqlite_file(file.to_str().unwrap()).unwrap();
    }
}
