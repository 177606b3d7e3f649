//! Who may touch the store's files, checked before SQLite opens them, as ssh's `StrictModes`
//! checks `~/.ssh`.
//!
//! Anyone who can write the store file, its `-wal` or `-shm` file, or the directory that holds
//! them can change the rows (directly, or by planting a `-wal` that SQLite then reads and
//! writes) and so learn and change whatever the store's integrity checks do not cover. tokman
//! therefore refuses (exit 10, naming the file and the fix):
//! - a directory holding the store that is owned by another user than the one running tokman
//!   (root excepted) or that group or others may write, sticky or not: in a shared directory
//!   such as `/tmp` another user can create `store.db-wal` before the owner does, and the
//!   sticky bit then keeps the owner from removing it;
//! - a store, `-wal` or `-shm` file owned by another user (root included: root's files are
//!   not the user's own) or that group or others may write;
//! - a `-wal` or `-shm` file that is a symbolic link or not a regular file: tokman never makes
//!   one, and SQLite would follow it wherever it points.
//!
//! A store path that is itself a symbolic link is followed, as SQLite follows it (its `-wal` and
//! `-shm` files live beside the file the link points to): the link's own directory, the file it
//! resolves to, that file's directory and its `-wal`/`-shm` files are all checked, so swapping
//! the link is possible only for someone who could already write one of those.
//!
//! Reading is not restricted: a copy of the store reveals nothing without a key (group-readable
//! stores for backups are fine), and a key file or passphrase file has its own, stricter check.

use std::path::{Path, PathBuf};

use crate::error::Result;

/// Check the store at `path` and its directory before it is opened. A missing store, or a path
/// that is not a regular file, passes: opening it reports that with its own message.
pub fn check_store_files(path: &Path) -> Result<()> {
    #[cfg(unix)]
    unix::check_store_files(path)?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Check the directory a new store is about to be made in (it exists by then).
pub fn check_new_store_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    unix::check_dir(dir)?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its file name (`store.db` → `store.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(unix)]
mod unix {
    use std::fs::{self, Metadata};
    use std::io::ErrorKind;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use super::{parent_of, with_suffix};
    use crate::error::{Error, Result};

    /// Written by group or others.
    const GROUP_OTHER_WRITE: u32 = 0o022;

    fn euid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    pub(super) fn check_store_files(path: &Path) -> Result<()> {
        let link = match fs::symlink_metadata(path) {
            Ok(m) => m,
            // Missing or unreadable: `Store::open` says which, with its own hint.
            Err(_) => return Ok(()),
        };
        // The directory holding the name given; for a link also the directory of its target,
        // where SQLite keeps the -wal and -shm files.
        check_dir(&parent_of(path))?;
        let real = if link.file_type().is_symlink() {
            match fs::canonicalize(path) {
                Ok(real) => {
                    check_dir(&parent_of(&real))?;
                    real
                }
                Err(_) => return Ok(()),
            }
        } else {
            path.to_path_buf()
        };
        let meta = match fs::metadata(&real) {
            Ok(m) if m.is_file() => m,
            _ => return Ok(()),
        };
        check_file(&real, &meta, "the store file")?;
        for suffix in ["-wal", "-shm"] {
            let side = with_suffix(&real, suffix);
            match fs::symlink_metadata(&side) {
                Ok(m) => check_side_file(&side, &m, suffix)?,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::unavailable(
                        format!("cannot check {}: {e}", side.display()),
                        Some("tokman needs to read the directory holding the store".into()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The directory holding a store: ours or root's, and written by nobody else.
    pub(super) fn check_dir(dir: &Path) -> Result<()> {
        let meta = fs::metadata(dir).map_err(|e| {
            Error::unavailable(
                format!("cannot check the store's directory {}: {e}", dir.display()),
                None,
            )
        })?;
        let me = euid();
        if meta.uid() != me && meta.uid() != 0 {
            return Err(Error::unavailable(
                format!(
                    "the store's directory {} is owned by another user (uid {}, not {me}): they could replace or plant the store's files",
                    dir.display(),
                    meta.uid()
                ),
                Some(format!(
                    "keep the store in a directory of your own, or make this one yours: `sudo chown {me} {}`",
                    dir.display()
                )),
            ));
        }
        let mode = meta.mode() & 0o7777;
        if mode & GROUP_OTHER_WRITE != 0 {
            return Err(Error::unavailable(
                format!(
                    "the store's directory {} may be written by {} (mode {:03o}): another user could plant the store's -wal or -shm file there",
                    dir.display(),
                    who(mode),
                    mode
                ),
                // A sticky directory is shared on purpose (`/tmp`): never suggest opening it up.
                Some(if mode & 0o1000 != 0 {
                    "keep the store in a private directory: `mkdir -m 700 DIR`, and the store in it as DIR/store.db"
                        .to_owned()
                } else {
                    format!(
                        "run `chmod go-w {}`, or keep the store in a private directory",
                        dir.display()
                    )
                }),
            ));
        }
        Ok(())
    }

    /// The store file itself (followed, already known to be a regular file).
    fn check_file(path: &Path, meta: &Metadata, what: &str) -> Result<()> {
        let me = euid();
        if meta.uid() != me {
            return Err(Error::unavailable(
                format!(
                    "{what} {} is owned by another user (uid {}, not {me})",
                    path.display(),
                    meta.uid()
                ),
                Some(format!(
                    "run tokman as the user that owns it, or make it yours: `sudo chown {me} {}`",
                    path.display()
                )),
            ));
        }
        let mode = meta.mode() & 0o7777;
        if mode & GROUP_OTHER_WRITE != 0 {
            return Err(Error::unavailable(
                format!(
                    "{what} {} may be written by {} (mode {:03o})",
                    path.display(),
                    who(mode),
                    mode
                ),
                Some(format!("run `chmod 600 {}`", path.display())),
            ));
        }
        Ok(())
    }

    /// A `-wal` or `-shm` file: SQLite makes them as regular files with the store's owner and
    /// mode; anything else was put there by someone.
    fn check_side_file(path: &Path, meta: &Metadata, suffix: &str) -> Result<()> {
        let planted_hint = || {
            Some(format!(
                "tokman and SQLite never make it so: with no tokman command running, look at it and remove it (`rm {}`)",
                path.display()
            ))
        };
        if meta.file_type().is_symlink() {
            return Err(Error::unavailable(
                format!(
                    "{} is a symbolic link: SQLite would write the store's pages wherever it points",
                    path.display()
                ),
                planted_hint(),
            ));
        }
        if !meta.is_file() {
            return Err(Error::unavailable(
                format!("{} is not a regular file", path.display()),
                planted_hint(),
            ));
        }
        if meta.uid() != euid() {
            return Err(Error::unavailable(
                format!(
                    "{} is owned by another user (uid {}, not {}): they could read and change the store through it",
                    path.display(),
                    meta.uid(),
                    euid()
                ),
                planted_hint(),
            ));
        }
        check_file(path, meta, &format!("the store's {suffix} file"))
    }

    fn who(mode: u32) -> &'static str {
        match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            _ => "others",
        }
    }
}

/// Create a new file that only its owner may read or write (mode 0600), never over an existing
/// one: the store file, a backup, a key file. The one place tokman creates a private file.
pub fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_file_names() {
        assert_eq!(
            with_suffix(Path::new("/a/store.db"), "-wal"),
            PathBuf::from("/a/store.db-wal")
        );
        assert_eq!(parent_of(Path::new("store.db")), PathBuf::from("."));
        assert_eq!(parent_of(Path::new("/a/store.db")), PathBuf::from("/a"));
    }

    #[cfg(unix)]
    #[test]
    fn private_directories_pass_and_shared_ones_do_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store.db");
        std::fs::write(&store, b"").unwrap();
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o600)).unwrap();
        check_store_files(&store).unwrap();
        check_new_store_dir(dir.path()).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let e = check_store_files(&store).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::StoreUnavailable);
        assert!(e.to_string().contains("others"), "{e}");
        assert!(check_new_store_dir(dir.path()).is_err());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        // A missing store is for `Store::open` to report.
        check_store_files(&dir.path().join("missing.db")).unwrap();
    }
}
