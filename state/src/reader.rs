//! Long reads (an app's links, its stamps) on a read-only connection and thread of their
//! own, beside the state thread: WAL lets them read while it writes.

use rusqlite::Connection;

use crate::error::StateError;
use crate::store::Store;

impl Store {
    /// Runs a long read on a read-only connection and thread of its own when the database
    /// is a file (WAL lets it read while the state thread writes), so that several such
    /// reads run at once; on the state thread otherwise.
    pub(crate) async fn read_aside<F, R>(&self, read: F) -> Result<R, StateError>
    where
        F: FnOnce(&Connection) -> Result<R, StateError> + Send + 'static,
        R: Send + 'static,
    {
        let Some(path) = self.path().map(std::path::Path::to_path_buf) else {
            return self.read(read).await;
        };
        let (answer, wait) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("hrsync-reader".to_owned())
            .spawn(move || {
                let out = match crate::open::open_reader(&path) {
                    Some(conn) => Ok(read(&conn)),
                    None => Err(read),
                };
                let _ = answer.send(out);
            });
        if spawned.is_err() {
            return Err(StateError::Closed);
        }
        match wait.await.map_err(|_| StateError::Closed)? {
            Ok(out) => out,
            // Not a file this connection can read as is (an older schema): the state
            // thread reads it, through its migrated copy.
            Err(read) => self.read(read).await,
        }
    }
}
