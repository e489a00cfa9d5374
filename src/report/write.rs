//! Writing a file the user named (`--output`, `--save`): whatever the path already is —
//! a device, a FIFO, a socket, a symlink, a regular file — it stays that kind of thing.
//!
//! Only a regular file (or a new path) is replaced atomically, by a temporary file in its
//! own directory renamed onto it, so a reader never sees half a report. Renaming over
//! anything else would destroy it: a report "written" to `/dev/null` by rename replaces
//! the system's null device with a regular file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// How far a chain of symlinks is followed before giving up (the kernel's own limit).
const MAX_LINK_HOPS: usize = 40;

/// Who may read a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    /// Personal data (plans, audit, access reviews): a new file is created 0600.
    Personal,
    /// Nothing personal: a new file is created 0644.
    Shareable,
}

/// Why a named file could not be written; nothing was replaced.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// An I/O step failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path the user gave.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The path is something a report cannot go to (a directory, a block device).
    #[error("cannot write {path}: it is {what}, not a file, device, FIFO or socket")]
    Unsupported {
        /// The path the user gave.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// The symlink chain does not end.
    #[error("cannot write {path}: more than {MAX_LINK_HOPS} symbolic links to follow")]
    LinkLoop {
        /// The path the user gave.
        path: PathBuf,
    },
}

/// What a path turned out to be once its symlinks were followed.
enum Destination {
    /// Standard output (`-`).
    Stdout,
    /// A character device or FIFO, written in place.
    Stream(PathBuf),
    /// A unix socket, connected to and written.
    Socket(PathBuf),
    /// A regular file or a new path, replaced atomically.
    File(PathBuf),
}

/// Writes `bytes` to the path the user named, keeping what that path is (see the module doc).
pub fn write_named(path: &Path, bytes: &[u8], privacy: Privacy) -> Result<(), WriteError> {
    write_named_with(path, privacy, |out| out.write_all(bytes))
}

/// Writes what `write` produces to the path the user named, as it is produced (buffered),
/// keeping what that path is (see the module doc). A file is replaced only once all of it
/// is written.
pub fn write_named_with(
    path: &Path,
    privacy: Privacy,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let io_err = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    match destination(path)? {
        Destination::Stdout => buffered(io::stdout().lock(), write).map_err(io_err),
        Destination::Stream(target) => {
            let file = OpenOptions::new()
                .write(true)
                .open(target)
                .map_err(io_err)?;
            buffered(file, write).map_err(io_err)
        }
        Destination::Socket(target) => {
            let stream = UnixStream::connect(&target).map_err(io_err)?;
            buffered(stream, write).map_err(io_err)
        }
        Destination::File(target) => replace_atomically(&target, write, privacy).map_err(io_err),
    }
}

/// Runs `write` into `sink` through a buffer, and flushes it.
fn buffered<W: Write>(
    sink: W,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(sink);
    write(&mut out)?;
    out.flush()
}

/// Follows symlinks and classifies what the path points at.
fn destination(path: &Path) -> Result<Destination, WriteError> {
    if path.as_os_str() == "-" {
        return Ok(Destination::Stdout);
    }
    let target = follow_links(path)?;
    let meta = match fs::metadata(&target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::File(target)),
        Err(source) => {
            return Err(WriteError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let kind = meta.file_type();
    let unsupported = |what| WriteError::Unsupported {
        path: path.to_path_buf(),
        what,
    };
    if kind.is_file() {
        Ok(Destination::File(target))
    } else if kind.is_char_device() || kind.is_fifo() {
        Ok(Destination::Stream(target))
    } else if kind.is_socket() {
        Ok(Destination::Socket(target))
    } else if kind.is_dir() {
        Err(unsupported("a directory"))
    } else if kind.is_block_device() {
        Err(unsupported("a block device"))
    } else {
        Err(unsupported("an unknown kind of file"))
    }
}

/// The path at the end of a chain of symlinks (the path itself when it is not a link).
/// A dangling link resolves to where its target would be, so the report is created there
/// and the link starts to work.
fn follow_links(path: &Path) -> Result<PathBuf, WriteError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = fs::read_link(&current).map_err(|source| WriteError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                current = match current.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(WriteError::LinkLoop {
        path: path.to_path_buf(),
    })
}

/// Writes a temporary file beside `target` and renames it onto `target`. An existing
/// file's mode (and, where allowed, owner) carries over; a new one gets the privacy's mode.
fn replace_atomically(
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    privacy: Privacy,
) -> io::Result<()> {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = io::BufWriter::new(tmp);
    write(&mut out)?;
    let tmp = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    match fs::metadata(target) {
        Ok(existing) => keep_attributes(tmp.as_file(), &existing)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mode = match privacy {
                Privacy::Personal => 0o600,
                Privacy::Shareable => 0o644,
            };
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(mode))?;
        }
        Err(e) => return Err(e),
    }
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// Gives the replacement the mode, and when permitted the owner, of the file it replaces.
fn keep_attributes(file: &File, existing: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(fs::Permissions::from_mode(existing.mode() & 0o7777))?;
    let ours = file.metadata()?;
    if (ours.uid(), ours.gid()) != (existing.uid(), existing.gid()) {
        // Only root may give a file away; for anyone else the file stays theirs, which is
        // what writing it in place would also have given.
        if let Err(e) = std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()))
        {
            tracing::debug!(error = %e, "Could not keep the replaced file's owner.");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_chain_resolves_to_its_last_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.txt");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink("real.txt", &a).expect("link a");
        std::os::unix::fs::symlink(&a, &b).expect("link b");
        assert_eq!(follow_links(&b).expect("follows"), real);
    }

    #[test]
    fn a_link_loop_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).expect("link a");
        std::os::unix::fs::symlink(&a, &b).expect("link b");
        assert!(matches!(
            write_named(&a, b"x", Privacy::Personal),
            Err(WriteError::LinkLoop { .. })
        ));
    }

    #[test]
    fn an_existing_file_keeps_its_mode_and_a_new_personal_one_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = dir.path().join("old.txt");
        fs::write(&old, "before").expect("write");
        fs::set_permissions(&old, fs::Permissions::from_mode(0o640)).expect("chmod");
        write_named(&old, b"after", Privacy::Personal).expect("write");
        assert_eq!(fs::read_to_string(&old).expect("read"), "after");
        assert_eq!(fs::metadata(&old).expect("meta").mode() & 0o777, 0o640);

        let new = dir.path().join("new.txt");
        write_named(&new, b"x", Privacy::Personal).expect("write");
        assert_eq!(fs::metadata(&new).expect("meta").mode() & 0o777, 0o600);
        let shared = dir.path().join("shared.txt");
        write_named(&shared, b"x", Privacy::Shareable).expect("write");
        assert_eq!(fs::metadata(&shared).expect("meta").mode() & 0o777, 0o644);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            write_named(dir.path(), b"x", Privacy::Personal),
            Err(WriteError::Unsupported { .. })
        ));
    }

    #[test]
    fn a_report_written_as_produced_replaces_the_file_only_when_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plan.json");
        fs::write(&path, "before").expect("write");
        let failed = write_named_with(&path, Privacy::Personal, |out| {
            out.write_all(b"half a rep")?;
            Err(io::Error::other("the plan could not be serialised"))
        });
        assert!(matches!(failed, Err(WriteError::Io { .. })));
        assert_eq!(fs::read_to_string(&path).expect("read"), "before");
        let leftovers = fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");

        let big = "x".repeat(100_000);
        write_named_with(&path, Privacy::Personal, |out| {
            for _ in 0..3 {
                out.write_all(big.as_bytes())?;
            }
            Ok(())
        })
        .expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read").len(), 300_000);
    }
}
