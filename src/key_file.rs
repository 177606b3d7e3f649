//! The files that unlock a store, and the unlock parameters read from its slots: everything
//! tokman reads before it knows whether the key is right, so each read is bounded and checked
//! first.
//!
//! - A key file is a regular file of exactly [`KeyFileKey::ENCODED_LEN`] bytes (one more or
//!   one fewer for a CRLF or a missing final newline), readable by its owner alone: anything
//!   else is refused (exit 11) before more than that is read, so a FIFO never blocks and a
//!   300 MB file is never read.
//! - A passphrase file may be a pipe (`--passphrase-file <(pass show tokman)`), but like a key
//!   file it must not be readable or writable by group or others; only its first line is read,
//!   up to [`MAX_PASSPHRASE_LINE`] bytes.
//! - A new key file is written under a temporary name beside its target and linked into place
//!   (never over an existing file) only once the slot it opens has committed: a kill leaves
//!   either no file at the target or one that unlocks the store. A stale `.NAME.tmp-…` file
//!   left by a kill is never in the way of a rerun.
//! - Argon2 parameters read from a slot are checked against [`KdfParams::within_limits`]
//!   before Argon2 runs.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::{self, KdfParams, KeyFileKey, Passphrase};
use crate::error::{Error, Result};

/// The longest first line read from a passphrase file.
pub const MAX_PASSPHRASE_LINE: usize = 64 * 1024;

/// Mode bits that let group or others at a key: any of them refuses the file, as ssh does.
#[cfg(unix)]
const NOT_PRIVATE: u32 = 0o077;

fn locked(message: String, hint: Option<String>) -> Error {
    Error::locked(message, hint)
}

fn not_a_key_file(path: &Path, why: &str) -> Error {
    locked(
        format!("{} is not a tokman key file: {why}", path.display()),
        Some(
            "key files are made by `tokman init --new-key-file` or `tokman key add-file`; check which file was given"
                .into(),
        ),
    )
}

/// Refuse a file that group or others may read or write (`what`: "key file", …).
fn check_private(path: &Path, meta: &fs::Metadata, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & NOT_PRIVATE != 0 {
            return Err(locked(
                format!(
                    "the {what} {} is accessible by others (mode {mode:03o})",
                    path.display()
                ),
                Some(format!("run `chmod 600 {}`", path.display())),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta, what);
    Ok(())
}

/// Every check a key file's metadata must pass, before and again after it is opened.
fn check_key_meta(path: &Path, meta: &fs::Metadata) -> Result<()> {
    if !meta.is_file() {
        return Err(not_a_key_file(path, "it is not a regular file"));
    }
    check_private(path, meta, "key file")?;
    let len = meta.len();
    let expected = KeyFileKey::ENCODED_LEN as u64;
    if !(expected - 1..=expected + 1).contains(&len) {
        return Err(not_a_key_file(
            path,
            &format!("it is {len} bytes, a key file is {expected}"),
        ));
    }
    Ok(())
}

/// Open for reading without blocking on a FIFO swapped in after the check (the opened file is
/// checked again, so such a swap is refused, not waited on).
fn open_nonblocking(path: &Path) -> std::io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    opts.open(path)
}

/// Read a key file, refusing one that others may read or write (as ssh does), or that is not a
/// regular file of a key file's size, without reading more than that size.
pub fn read_key_file(path: &Path) -> Result<KeyFileKey> {
    let cannot = |e: std::io::Error| {
        locked(
            format!("cannot read the key file {}: {e}", path.display()),
            None,
        )
    };
    check_key_meta(path, &fs::metadata(path).map_err(cannot)?)?;
    let mut file = open_nonblocking(path).map_err(cannot)?;
    check_key_meta(path, &file.metadata().map_err(cannot)?)?;
    // One byte more than the largest accepted size: a file that grew since is seen to be too
    // long without reading the rest.
    let mut buf = Zeroizing::new([0u8; KeyFileKey::ENCODED_LEN + 2]);
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot(e)),
        }
    }
    if n > KeyFileKey::ENCODED_LEN + 1 {
        return Err(not_a_key_file(path, "it is longer than a key file"));
    }
    KeyFileKey::decode(&buf[..n]).ok_or_else(|| not_a_key_file(path, "its text is not a key"))
}

/// The first line of a passphrase file, without its line ending. The file (or pipe) must not be
/// readable or writable by group or others.
pub fn read_passphrase_file(path: &Path) -> Result<Passphrase> {
    let cannot = |e: std::io::Error| {
        locked(
            format!("cannot read the passphrase file {}: {e}", path.display()),
            None,
        )
    };
    check_private(
        path,
        &fs::metadata(path).map_err(cannot)?,
        "passphrase file",
    )?;
    // A pipe is fine (and may block until its writer writes): no O_NONBLOCK here.
    let mut file = fs::File::open(path).map_err(cannot)?;
    check_private(path, &file.metadata().map_err(cannot)?, "passphrase file")?;
    let mut buf = Zeroizing::new(vec![0u8; MAX_PASSPHRASE_LINE + 1]);
    let mut n = 0;
    while n < buf.len() && !buf[..n].contains(&b'\n') {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot(e)),
        }
    }
    let read = &buf[..n];
    let first = match read.iter().position(|&b| b == b'\n') {
        Some(end) => &read[..end],
        None if n > MAX_PASSPHRASE_LINE => {
            return Err(locked(
                format!(
                    "the first line of the passphrase file {} is longer than {MAX_PASSPHRASE_LINE} bytes",
                    path.display()
                ),
                Some("put the passphrase alone on the file's first line".into()),
            ));
        }
        None => read,
    };
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let line = std::str::from_utf8(first).map_err(|_| {
        locked(
            format!("the passphrase file {} is not UTF-8 text", path.display()),
            None,
        )
    })?;
    if line.is_empty() {
        return Err(locked(
            format!(
                "the passphrase file {} has an empty first line",
                path.display()
            ),
            None,
        ));
    }
    Ok(Passphrase::new(line.to_owned()))
}

/// Refuse a key-file target that exists (a file, a directory, a dangling link): tokman never
/// overwrites a key file (exit 7).
pub fn ensure_absent(target: &Path) -> Result<()> {
    match fs::symlink_metadata(target) {
        Ok(_) => Err(exists(target)),
        Err(_) => Ok(()),
    }
}

fn exists(target: &Path) -> Error {
    Error::conflict(
        format!("{} already exists", target.display()),
        "tokman never overwrites a key file; choose a new path",
    )
}

/// A new key file written under a temporary name beside its target, 0600 and on disk, waiting
/// for [`StagedKeyFile::publish`] once the slot it opens has committed. Dropped unpublished
/// (the command failed), the temporary file is removed.
pub struct StagedKeyFile {
    tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

/// Write `key` to a temporary file beside `target` (which must not exist).
pub fn stage(target: &Path, key: &KeyFileKey) -> Result<StagedKeyFile> {
    ensure_absent(target)?;
    let name = target
        .file_name()
        .ok_or_else(|| Error::usage(format!("{} is not a file path", target.display())))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let suffix: String = crypto::random_bytes::<6>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tmp = dir.join(format!(".{}.tmp-{suffix}", name.to_string_lossy()));
    let mut file = crate::file_safety::create_new_private(&tmp).map_err(|e| {
        Error::unavailable(
            format!("cannot create the key file {}: {e}", target.display()),
            Some(format!(
                "tokman writes it as {} first and needs to create files in {}",
                tmp.display(),
                dir.display()
            )),
        )
    })?;
    // From here on, dropping `staged` removes the temporary file.
    let staged = StagedKeyFile {
        tmp,
        target: target.to_path_buf(),
        done: false,
    };
    let text = key.encode();
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            Error::unavailable(
                format!("cannot write the key file {}: {e}", target.display()),
                Some("check that the disk is not full; nothing was changed".into()),
            )
        })?;
    Ok(staged)
}

impl StagedKeyFile {
    /// Where the key waits until it is published.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Link the key file into place, never over a file that appeared meanwhile. Call only after
    /// the transaction adding its slot committed; `committed` says what the key now unlocks
    /// ("slot 3", "the new store") for the message should this fail. On failure the temporary
    /// file is kept and named: it is then the only copy of a working key.
    pub fn publish(mut self, committed: impl std::fmt::Display) -> Result<()> {
        self.done = true;
        let kept = |why: String| {
            format!(
                "{committed} is unlocked by the new key file, but {why}, so the key file was kept as {}",
                self.tmp.display()
            )
        };
        let hint = format!(
            "move it where you want it (`mv {} NEWPATH`) and keep it private: it unlocks the store",
            self.tmp.display()
        );
        match self.link() {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::conflict(
                kept(format!("{} appeared meanwhile", self.target.display())),
                hint,
            )),
            Err(e) => Err(Error::unavailable(
                kept(format!("{} could not be made: {e}", self.target.display())),
                Some(hint),
            )),
        }
    }

    /// Give the file its real name (a hard link fails if the target exists: never an
    /// overwrite), then drop the temporary name.
    fn link(&self) -> std::io::Result<()> {
        fs::hard_link(&self.tmp, &self.target)?;
        // The target is a second name of the same file; dropping the temporary one cannot
        // lose the key. A kill just here leaves both names, which is harmless.
        let _ = fs::remove_file(&self.tmp);
        let dir = match self.target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for StagedKeyFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Write a new key file at once, 0600, never over an existing file: for a key that nothing
/// needs to commit first. A key for a new slot goes through [`stage`] and
/// [`StagedKeyFile::publish`] instead.
pub fn write_key_file(path: &Path, key: &KeyFileKey) -> Result<()> {
    let mut staged = stage(path, key)?;
    // On failure `staged` is dropped unpublished, which removes the temporary file.
    match staged.link() {
        Ok(()) => {
            staged.done = true;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(exists(path)),
        Err(e) => Err(Error::unavailable(
            format!("cannot create the key file {}: {e}", path.display()),
            None,
        )),
    }
}

/// A passphrase slot's Argon2 parameters, as stored (`kdf` column). `Ok(None)` when they do not
/// parse (the slot cannot open); exit 12 when they exceed [`KdfParams::within_limits`]: tokman
/// never writes such a slot, so it was edited, and Argon2 must not run on it (minutes and
/// gigabytes per unlock). Refusing, rather than skipping the slot, says what happened instead
/// of a misleading "wrong passphrase".
pub fn slot_kdf_params(slot: i64, kdf: Option<&str>) -> Result<Option<KdfParams>> {
    let Some(params) = kdf.and_then(|k| serde_json::from_str::<KdfParams>(k).ok()) else {
        return Ok(None);
    };
    if !params.within_limits() {
        return Err(Error::corrupt(format!(
            "integrity check failed: slot {slot} asks for Argon2 parameters beyond what tokman ever writes ({params}; at most m={} KiB, t={}, p={}): the slot was altered",
            KdfParams::MAX_M_KIB,
            KdfParams::MAX_T,
            KdfParams::MAX_P
        )));
    }
    Ok(Some(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_published_key_file_reads_back_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.key");
        let key = KeyFileKey::generate();
        let staged = stage(&target, &key).unwrap();
        let tmp = staged.tmp_path().to_path_buf();
        assert!(tmp.exists() && !target.exists());
        staged.publish("slot 2").unwrap();
        assert!(!tmp.exists());
        let back = read_key_file(&target).unwrap();
        assert_eq!(*back.encode(), *key.encode());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_unpublished_key_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.key");
        drop(stage(&target, &KeyFileKey::generate()).unwrap());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_target_that_appears_before_publishing_keeps_the_key_under_its_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.key");
        let key = KeyFileKey::generate();
        let staged = stage(&target, &key).unwrap();
        let tmp = staged.tmp_path().to_path_buf();
        fs::write(&target, "someone else's").unwrap();
        let e = staged.publish("slot 2").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Conflict);
        let msg = e.to_string();
        assert!(
            msg.contains("slot 2") && msg.contains(&*tmp.to_string_lossy()),
            "{msg}"
        );
        assert!(e.hint().unwrap().contains("mv "), "{:?}", e.hint());
        assert_eq!(fs::read(&target).unwrap(), b"someone else's");
        #[cfg(unix)]
        chmod(&tmp, 0o600);
        assert_eq!(*read_key_file(&tmp).unwrap().encode(), *key.encode());
        // An existing target is refused before anything is written.
        assert_eq!(
            stage(&target, &key).err().map(|e| e.kind()),
            Some(crate::error::ErrorKind::Conflict)
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_files_of_the_wrong_size_or_kind_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyFileKey::generate();
        let text: String = key.encode().to_string();
        let ok = |body: &[u8]| {
            let p = dir.path().join("k");
            let _ = fs::remove_file(&p);
            fs::write(&p, body).unwrap();
            chmod(&p, 0o600);
            read_key_file(&p)
        };
        assert!(ok(text.as_bytes()).is_ok());
        assert!(ok(text.trim_end().as_bytes()).is_ok());
        assert!(ok(format!("{}\r\n", text.trim_end()).as_bytes()).is_ok());
        for bad in [
            format!("{text}\n\n"),
            format!("{text}{text}"),
            String::new(),
            text[..20].to_owned(),
        ] {
            let e = ok(bad.as_bytes()).expect_err("refused");
            assert_eq!(e.kind(), crate::error::ErrorKind::Locked);
        }
        let e = read_key_file(dir.path()).expect_err("a directory");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn slot_parameters_over_the_caps_are_tampering() {
        let text = |m: u32, t: u32, p: u32| format!(r#"{{"m_kib":{m},"t":{t},"p":{p}}}"#);
        assert_eq!(
            slot_kdf_params(1, Some(&text(65536, 3, 1))).unwrap(),
            Some(KdfParams::DEFAULT)
        );
        assert_eq!(slot_kdf_params(1, Some("nonsense")).unwrap(), None);
        assert_eq!(slot_kdf_params(1, None).unwrap(), None);
        for (m, t, p) in [(4 * 1024 * 1024, 3, 1), (65536, 11, 1), (65536, 3, 17)] {
            let e = slot_kdf_params(4, Some(&text(m, t, p))).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Corrupt);
            assert!(e.to_string().contains("slot 4"), "{e}");
        }
        assert!(slot_kdf_params(1, Some(&text(1024 * 1024, 10, 16))).is_ok());
    }
}
