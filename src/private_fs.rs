//! Files only the portal's own user may read: the data directory (0700), and the database,
//! the generated key and the `.eml` files in it (0600). They hold password hashes, the
//! session key and registration links, so they are created private rather than left to the
//! umask; an existing database file that is readable by others is tightened at start.

use std::io;
use std::path::Path;

/// Mode of every folder the portal creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the portal creates.
pub const FILE_MODE: u32 = 0o600;

/// Create `dir` and any missing parents as 0700. A folder that exists already is left as it
/// is: it may be shared on purpose (such as `/var/lib`).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir)
}

/// Options that create a new file as 0600.
pub fn open_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options
}

/// Write `bytes` to `dir/name` through a temporary file that is renamed into place, so a
/// reader never sees half a file; the file is 0600 and `dir` is created 0700 when missing.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    create_dir(dir)?;
    let partial = dir.join(format!(".{name}.partial"));
    let mut file = open_options().write(true).create(true).truncate(true).open(&partial)?;
    // A partial file left by a crash may predate this code: make it private before writing.
    restrict(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, dir.join(name))
}

/// Prepare the SQLite database at `path` before SQLite opens it: its folder is created 0700
/// when missing, the file is created empty as 0600 (SQLite gives its `-wal` and `-shm` files
/// the database's mode), and an existing database, WAL or shared-memory file that others could
/// read is made 0600.
pub fn prepare_sqlite_file(path: &Path) -> io::Result<()> {
    // An in-memory database, or a URI SQLite resolves itself, has no file to prepare here.
    let name = path.to_string_lossy();
    if name == ":memory:" || name.starts_with("file:") {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            create_dir(parent)?;
        }
    }
    match open_options().write(true).create_new(true).open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if file.exists() {
            restrict(file)?;
        }
    }
    Ok(())
}

/// Make `file` 0600 when it is readable or writable by anyone but its owner.
pub fn restrict(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_created_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data/mail");
        write_atomically(&dir, "1.eml", b"hello").unwrap();
        assert_eq!(mode(&root.path().join("data")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("1.eml")), 0o600);
        assert_eq!(std::fs::read(dir.join("1.eml")).unwrap(), b"hello");
        // Written again: replaced, still private, no partial file left.
        write_atomically(&dir, "1.eml", b"again").unwrap();
        assert_eq!(std::fs::read(dir.join("1.eml")).unwrap(), b"again");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn an_existing_world_readable_database_is_tightened() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("orgportal.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::write(root.path().join("orgportal.db-wal"), b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(root.path().join("orgportal.db-wal"), std::fs::Permissions::from_mode(0o664)).unwrap();
        prepare_sqlite_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&root.path().join("orgportal.db-wal")), 0o600);

        let fresh = root.path().join("new/dir/orgportal.db");
        prepare_sqlite_file(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);
        assert_eq!(mode(&root.path().join("new/dir")), 0o700);
    }
}
