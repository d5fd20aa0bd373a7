//! The file-system rules the cassette, the store, the replay index and the state directory
//! share: names beside a file, durable renames, atomic writes, private key files, the state
//! directory's lock. Plain `std::io` errors: each caller says what the file was for.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The state directory's lock file. Named for the CA it first guarded; it guards every file of
/// the state directory that processes starting at once must agree on (the CA, its leaves, the
/// key that signs replayed JWTs).
const STATE_LOCK: &str = "ca.lock";

/// How long a start waits for a lock another process holds before it says so, and before it
/// gives up (a process stopped in a debugger, or anyone's `flock` on the file).
pub(crate) const LOCK_PATIENCE: Duration = Duration::from_secs(1);
pub(crate) const LOCK_GIVE_UP: Duration = Duration::from_secs(20);
const LOCK_POLL: Duration = Duration::from_millis(20);

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
        let mut w = BufWriter::new(create_new(&tmp, 0o644)?);
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

/// A new file at `path`, readable as `mode` says: whatever was there is removed first (a link
/// itself, never what it points to), and the file is made exclusively, not through a link, so a
/// link planted at a temporary name never has its target written.
pub(crate) fn create_new(path: &Path, mode: u32) -> std::io::Result<File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// `path` opened to read, not through a link (a link planted after a check is refused).
pub(crate) fn open_no_follow(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
}

/// A lock file at `path`, made if missing, never through a link and never truncated. A lock
/// another user made (and may not be written here) is opened to read: a flock needs no more.
pub(crate) fn open_lock(path: &Path) -> std::io::Result<File> {
    let open = |write: bool| {
        let mut options = OpenOptions::new();
        options.read(true);
        if write {
            options.write(true).create(true).truncate(false);
        }
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        options.open(path)
    };
    match open(true) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => open(false),
        opened => opened,
    }
}

/// Take `lock` (the file at `path`, guarding `what`), waiting while another process holds it:
/// after [`LOCK_PATIENCE`] the log says what it waits for, after `give_up` it is an error
/// naming the file.
pub(crate) fn wait_for_lock(
    lock: &File,
    path: &Path,
    what: &str,
    give_up: Duration,
) -> std::io::Result<()> {
    let start = Instant::now();
    let mut said = false;
    while let Err(e) = fs2::FileExt::try_lock_exclusive(lock) {
        if e.kind() != fs2::lock_contended_error().kind() {
            return Err(e);
        }
        let waited = start.elapsed();
        if waited >= give_up {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "{} has been locked by another process for {give_up:?} ({what}); if no other cognito-vcr is running, something else holds it",
                    path.display()
                ),
            ));
        }
        if waited >= LOCK_PATIENCE && !said {
            said = true;
            tracing::info!(lock = %path.display(), "waiting for another process ({what})");
        }
        std::thread::sleep(LOCK_POLL);
    }
    Ok(())
}

/// Raise this process's soft limit on open files to its hard limit (where the system allows):
/// each connection is a file, and a default soft limit of 256 would stall the 257th client.
/// Returns the soft limit in force after.
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write only the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            // macOS reports an unlimited hard limit but takes no more than OPEN_MAX.
            #[cfg(target_os = "macos")]
            let most = limit.rlim_max.min(10_240);
            #[cfg(not(target_os = "macos"))]
            let most = limit.rlim_max;
            if limit.rlim_cur < most {
                let raised = libc::rlimit {
                    rlim_cur: most,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        // rlim_t is u64 on the platforms built for today, but not by definition.
        #[allow(clippy::unnecessary_cast)]
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// The state directory (the CA, its leaves, the key that signs replayed JWTs): made readable by
/// this user alone when it is new, and checked as trusted state when it is not.
pub(crate) fn state_dir(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    check_trusted(dir)
}

/// The state directory's lock, held while a file of it is checked or made.
pub(crate) fn lock_state_dir(dir: &Path) -> std::io::Result<File> {
    let path = dir.join(STATE_LOCK);
    let lock = open_lock(&path)?;
    wait_for_lock(
        &lock,
        &path,
        "it makes or checks the state directory's CA and keys",
        LOCK_GIVE_UP,
    )?;
    Ok(lock)
}

/// The path of the state directory's lock (for error messages).
pub(crate) fn state_lock_path(dir: &Path) -> PathBuf {
    dir.join(STATE_LOCK)
}

/// A file or directory read as trusted state (a store, an index, the state directory, the CA's
/// certificate) must be this user's and not writable by everyone; it is not followed through
/// a link. A group-writable one is taken (umask 002 makes them so on many systems).
pub(crate) fn check_trusted(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = own(path, "it", "another user could have planted it")?;
        if meta.mode() & 0o002 != 0 {
            return Err(refused(format!(
                "anyone may write it (mode {:o}): `chmod o-w` it",
                meta.mode() & 0o777
            )));
        }
    }
    Ok(())
}

/// The directory `path` lies in must not let another user swap what is in it: it is this
/// user's or root's, and one anyone may write has the sticky bit (as `/tmp` has).
pub(crate) fn check_trusted_dir_of(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let dir = parent_dir(path);
        let meta = match std::fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me && meta.uid() != 0 {
            return Err(refused(format!(
                "its directory {} belongs to user {} and this process runs as {me}: another user could swap what is in it; use a directory of your own (--store)",
                dir.display(),
                meta.uid()
            )));
        }
        if meta.mode() & 0o002 != 0 && meta.mode() & 0o1000 == 0 {
            return Err(refused(format!(
                "anyone may write its directory {} (mode {:o}) and it has no sticky bit: `chmod o-w` it",
                dir.display(),
                meta.mode() & 0o7777
            )));
        }
    }
    Ok(())
}

/// [`check_trusted`] on a file already open (what was checked is what is read: a name swapped
/// after the check is not).
pub(crate) fn check_trusted_open(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata()?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(refused(format!(
                "it belongs to user {} and this process runs as {me}: another user could have planted it",
                meta.uid()
            )));
        }
        if meta.mode() & 0o002 != 0 {
            return Err(refused(format!(
                "anyone may write it (mode {:o})",
                meta.mode() & 0o777
            )));
        }
    }
    Ok(())
}

/// A private key file must be this user's and readable by no one else.
pub(crate) fn check_private(key: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let hint = "use a state directory of your own (--state-dir)";
        let meta = own(key, "the key", hint)?;
        if meta.mode() & 0o077 != 0 {
            return Err(refused(format!(
                "the key is readable by others (mode {:o}): `chmod 600` it, or delete the state directory to make a new CA",
                meta.mode() & 0o777
            )));
        }
    }
    Ok(())
}

/// The metadata of `path` itself, if it is no link and belongs to this process's user; else
/// why not (`what` names it, `foreign` says what to do about another user's).
#[cfg(unix)]
fn own(path: &Path, what: &str, foreign: &str) -> std::io::Result<std::fs::Metadata> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(refused(format!("{what} is a symbolic link: refused")));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(refused(format!(
            "{what} belongs to user {} and this process runs as {me}: {foreign}",
            meta.uid()
        )));
    }
    Ok(meta)
}

#[cfg(unix)]
fn refused(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, message)
}

/// Write a private key file, readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A new file each time: an existing one would keep its mode (and could be a link).
    create_new(path, 0o600).and_then(|mut f| f.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn writes_never_go_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let cassette = dir.path().join("c.json");
        // A link planted at the temporary name and at a key's name.
        let tmp = dir
            .path()
            .join(format!(".c.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        write_atomically(&cassette, b"{}").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&cassette)
            .unwrap()
            .file_type()
            .is_symlink());
        let key = dir.path().join("key.pem");
        std::os::unix::fs::symlink(&victim, &key).unwrap();
        write_private(&key, b"secret").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        // A lock file that is a link is refused, not followed.
        let lock = dir.path().join("x.lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        assert!(open_lock(&lock).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[cfg(unix)]
    #[test]
    fn trusted_state_is_this_users_and_not_writable_by_all() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o775)).unwrap();
        check_trusted(&state).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_trusted(&state).unwrap_err();
        assert!(err.to_string().contains("mode 777"), "{err}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&state, &link).unwrap();
        assert!(check_trusted(&link).is_err());
        // Another user's file: only root can make one here.
        let theirs = dir.path().join("theirs");
        std::fs::write(&theirs, b"").unwrap();
        if std::os::unix::fs::chown(&theirs, Some(65534), None).is_ok() {
            let err = check_trusted(&theirs).unwrap_err();
            assert!(err.to_string().contains("belongs to user 65534"), "{err}");
        } else {
            eprintln!("not root: the other user's file is not checked here");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_could_swap_files_in_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store").join("c.sled");
        let mode = |m: u32| {
            std::fs::set_permissions(dir.path().join("store"), std::fs::Permissions::from_mode(m))
                .unwrap()
        };
        // Not made yet: nothing to swap.
        check_trusted_dir_of(&store).unwrap();
        std::fs::create_dir(dir.path().join("store")).unwrap();
        mode(0o775);
        check_trusted_dir_of(&store).unwrap();
        mode(0o1777);
        check_trusted_dir_of(&store).unwrap();
        mode(0o777);
        let err = check_trusted_dir_of(&store).unwrap_err();
        assert!(err.to_string().contains("no sticky bit"), "{err}");
        // An open file is checked as it is, whatever its name points to later.
        let index = dir.path().join("index");
        std::fs::write(&index, b"").unwrap();
        std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = check_trusted_open(&File::open(&index).unwrap()).unwrap_err();
        assert!(err.to_string().contains("mode 666"), "{err}");
    }

    #[test]
    fn a_lock_held_elsewhere_is_waited_for_then_named_in_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.lock");
        let holder = open_lock(&path).unwrap();
        fs2::FileExt::lock_exclusive(&holder).unwrap();
        let waiter = open_lock(&path).unwrap();
        let err = wait_for_lock(&waiter, &path, "a test", Duration::from_millis(100)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("held.lock"), "{err}");
        drop(holder);
        wait_for_lock(&waiter, &path, "a test", Duration::from_millis(100)).unwrap();
    }
}
