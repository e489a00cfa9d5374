//! The single-writer lock: an exclusive advisory lock on `<state_path>.lock` that holds the
//! holder's pid, so that two processes never write to apps from the same state at once.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fs4::fs_std::FileExt;

use crate::error::StateError;

/// How often `acquire_wait` tries again.
const POLL: Duration = Duration::from_millis(100);

/// The lock file that guards a state database (beside the database itself, symlinks followed).
pub fn lock_path(state_path: &Path) -> PathBuf {
    let mut name = crate::path::resolve_links(state_path).into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Proof that this process is the only writer of a state database; released on drop.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock now or fails with [`StateError::Locked`] naming the holder's pid.
    pub fn acquire(state_path: &Path) -> Result<WriterLock, StateError> {
        let path = lock_path(state_path);
        let mut file = open_lock_file(&path)?;
        if !try_lock(&file, &path)? {
            let holder = read_holder(&mut file);
            return Err(StateError::Locked { path, holder });
        }
        write_pid(&mut file).map_err(|source| StateError::Io {
            op: "write the pid into the lock file",
            path: path.clone(),
            source,
        })?;
        tracing::debug!(path = %path.display(), "Took the state writer lock.");
        Ok(WriterLock { file, path })
    }

    /// Takes the lock, waiting up to `timeout` for the holder to let go.
    pub async fn acquire_wait(
        state_path: &Path,
        timeout: Duration,
    ) -> Result<WriterLock, StateError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let err = match WriterLock::acquire(state_path) {
                Ok(lock) => return Ok(lock),
                Err(err @ StateError::Locked { .. }) => err,
                Err(other) => return Err(other),
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(err);
            }
            tokio::time::sleep(POLL.min(deadline - now)).await;
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Clear the pid while still holding the lock, so nobody reads a stale holder.
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

/// Who holds the writer lock, as seen by `Store::open` before it marks crashed cycles.
pub(crate) enum WriterProbe {
    /// Nobody: the probe holds the lock until it is dropped.
    Free(#[allow(dead_code)] File),
    /// This process.
    Ours,
    /// Another live process (its pid when readable).
    Other(Option<u32>),
}

/// Finds out whether another process is writing to this state right now.
pub(crate) fn probe(state_path: &Path) -> Result<WriterProbe, StateError> {
    let path = lock_path(state_path);
    let mut file = open_lock_file(&path)?;
    if try_lock(&file, &path)? {
        return Ok(WriterProbe::Free(file));
    }
    // flock conflicts between two descriptors of one process too, so a held lock may be
    // our own `WriterLock`: the pid inside tells.
    Ok(match read_holder(&mut file) {
        Some(pid) if pid == std::process::id() => WriterProbe::Ours,
        other => WriterProbe::Other(other),
    })
}

fn open_lock_file(path: &Path) -> Result<File, StateError> {
    let mut options = OpenOptions::new();
    // Never truncate on open: the holder's pid is in there.
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| StateError::Io {
        op: "open the lock file",
        path: path.to_path_buf(),
        source,
    })
}

fn try_lock(file: &File, path: &Path) -> Result<bool, StateError> {
    FileExt::try_lock_exclusive(file).map_err(|source| StateError::Io {
        op: "lock",
        path: path.to_path_buf(),
        source,
    })
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.sync_data()
}

fn read_holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
