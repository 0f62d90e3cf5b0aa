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
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Url(format!("cannot create {}: {e}", dir.display())))?;
            // Said, so a mistyped path does not go unnoticed.
            tracing::info!(folder = %dir.display(), "created the database's folder");
        }
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

/// Writes a consistent copy of the SQLite database to the new file `to`
/// (`VACUUM INTO`: a snapshot, taken while the server keeps running),
/// readable by its owner only: it is written inside a fresh folder only the
/// owner may enter, made 0600, then moved into place. Refused for
/// PostgreSQL (`pg_dump` does that).
pub fn backup_into(db: &super::Db, to: &Path) -> Result<(), StoreError> {
    use diesel::RunQueryDsl;
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let failed = |e: std::io::Error| StoreError::Url(format!("backup to {}: {e}", to.display()));
    if db.backend() != super::Backend::Sqlite {
        return Err(StoreError::Url(
            "a PostgreSQL database is backed up with pg_dump (see the README's Deploy section)"
                .into(),
        ));
    }
    if to.exists() {
        return Err(StoreError::Url(format!("{} exists", to.display())));
    }
    let dir = to
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let private = dir.join(format!(".patgate-backup-{}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(failed)?;
    let staged = private.join("backup.db");
    let result = (|| {
        let target = staged
            .to_str()
            .ok_or_else(|| StoreError::Url("the backup path is not UTF-8".into()))?;
        let mut conn = db.conn()?;
        let super::DbConnection::Sqlite(c) = &mut **conn else {
            unreachable!("checked above");
        };
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(target)
            .execute(c)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))
            .map_err(failed)?;
        std::fs::rename(&staged, to).map_err(failed)
    })();
    let _ = std::fs::remove_dir_all(&private);
    result
}

/// Checks the structure of every page of the SQLite file (`PRAGMA
/// quick_check`: b-trees, free list, record formats; not index contents
/// against their tables). `Ok(None)` when the file is sound or the backend
/// is PostgreSQL; `Ok(Some(problems))`, the first ten lines SQLite gave,
/// when it is damaged. Reads the whole file: on a 1 GB file it takes
/// seconds (the README gives the figure).
pub fn quick_check(db: &super::Db) -> Result<Option<String>, StoreError> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        quick_check: String,
    }
    let mut conn = db.conn()?;
    let super::DbConnection::Sqlite(c) = &mut **conn else {
        return Ok(None);
    };
    let lines = diesel::sql_query("PRAGMA quick_check(10)").load::<Line>(c);
    let lines = match lines {
        Ok(lines) => lines.into_iter().map(|l| l.quick_check).collect(),
        // A file too damaged to run the check at all says so in the error.
        Err(e) if super::says_storage_damaged(&e.to_string()) => vec![e.to_string()],
        Err(e) => return Err(e.into()),
    };
    Ok(match lines.as_slice() {
        [ok] if ok == "ok" => None,
        _ => Some(lines.join("; ")),
    })
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
