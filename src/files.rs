//! The file-system rules the cassette, the store, the replay index and the state directory
//! share: names beside a file, durable renames, atomic writes, private key files, the state
//! directory's lock. Plain `std::io` errors: each caller says what the file was for.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The state directory's lock file. Named for the CA it first guarded; it guards every file of
/// the state directory that processes starting at once must agree on (the CA, its leaves, the
/// key that signs replayed JWTs).
const STATE_LOCK: &str = "ca.lock";

/// `path` with `suffix` added to its last component (`a.sled` → `a.sled.clean`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// The directory `path` is in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Make a change of `path`'s directory entry (a rename, a removal) durable.
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    File::open(parent_dir(path))?.sync_all()
}

/// Write `path` atomically: a temporary file in the same directory, fsync, rename, fsync the
/// directory. A reader sees the old contents or the new, never a part.
pub(crate) fn write_atomically(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.unwrap_or_else(|| "cassette".into()),
        std::process::id()
    ));
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        w.write_all(text)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_parent(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The state directory's lock, held while a file of it is checked or made.
pub(crate) fn lock_state_dir(dir: &Path) -> std::io::Result<File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(STATE_LOCK))?;
    fs2::FileExt::lock_exclusive(&lock)?;
    Ok(lock)
}

/// The path of the state directory's lock (for error messages).
pub(crate) fn state_lock_path(dir: &Path) -> PathBuf {
    dir.join(STATE_LOCK)
}

/// A private key file must be this user's and readable by no one else.
pub(crate) fn check_private(key: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::{Error, ErrorKind};
        use std::os::unix::fs::MetadataExt;
        // Not through a link: the file itself must be this user's and private.
        let meta = std::fs::symlink_metadata(key)?;
        if meta.file_type().is_symlink() {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "the key is a symbolic link: refused",
            ));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "the key is readable by others (mode {:o}): `chmod 600` it, or delete the state directory to make a new CA",
                    meta.mode() & 0o777
                ),
            ));
        }
        // This process's effective user: the owner of `/proc/self` (Linux; elsewhere the owner
        // check is left to the mode check above).
        if let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) {
            if meta.uid() != me {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "the key belongs to user {} and this process runs as {me}: use a state directory of your own (--state-dir)",
                        meta.uid()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Write a private key file, readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A new file each time: an existing one would keep its mode (and could be a link).
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).and_then(|mut f| f.write_all(bytes))
}
