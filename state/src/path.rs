//! Where the state database really is: a `state_path` that is a symlink is followed, so the
//! database, its WAL and its lock file sit beside the target and the link stays a link.

use std::path::{Path, PathBuf};

/// How many symlinks are followed before the path is taken as it is (the kernel's limit).
const MAX_LINK_HOPS: usize = 40;

/// The path at the end of `path`'s chain of symlinks. A dangling link resolves to where its
/// target would be, so the database is created there; a loop leaves the path as given, and
/// opening it then reports the loop.
pub fn resolve_links(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        let is_link = std::fs::symlink_metadata(&current)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if !is_link {
            return current;
        }
        let Ok(next) = std::fs::read_link(&current) else {
            return current;
        };
        current = match current.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_relative_and_dangling_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("state.db");
        std::os::unix::fs::symlink("data/real.db", &link).expect("symlink");
        assert_eq!(resolve_links(&link), dir.path().join("data/real.db"));
        let plain = dir.path().join("plain.db");
        assert_eq!(resolve_links(&plain), plain);
    }
}
