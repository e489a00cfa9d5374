//! `Store`: a cheap handle to the one thread that owns the SQLite connection. Async callers
//! send it closures and await the answer; rusqlite never runs on a tokio worker.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::{Ctx, StateError};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle to the state database. Clones share one connection thread; dropping the last
/// handle closes the database and ends the thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    path: Option<PathBuf>,
    read_only: bool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once queued jobs are done.
        self.jobs.take();
        if let Some(handle) = self.thread.take() {
            // A closure that held the last handle drops it on the state thread itself.
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("read_only", &self.inner.read_only)
            .finish()
    }
}

impl Store {
    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Whether this store refuses writes.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// Runs `f` on the state thread with the connection and returns its answer.
    pub async fn call<F, R>(&self, f: F) -> Result<R, StateError>
    where
        F: FnOnce(&mut Connection) -> Result<R, StateError> + Send + 'static,
        R: Send + 'static,
    {
        let (answer, wait) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // A panic unwinds through the closure's transaction, which rolls it back; the
            // thread and the connection stay usable for the next caller.
            let out = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or(Err(StateError::Panicked));
            let _ = answer.send(out);
        });
        let jobs = self.inner.jobs.as_ref().ok_or(StateError::Closed)?;
        jobs.send(job).map_err(|_| StateError::Closed)?;
        wait.await.map_err(|_| StateError::Closed)?
    }

    /// Runs `f` in one write transaction: committed if it returns `Ok`, rolled back (leaving
    /// nothing) if it returns `Err` or panics.
    pub async fn transaction<F, R>(&self, f: F) -> Result<R, StateError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<R, StateError> + Send + 'static,
        R: Send + 'static,
    {
        self.write("write", f).await
    }

    /// [`Store::transaction`] with the operation named for errors.
    pub(crate) async fn write<F, R>(&self, op: &'static str, f: F) -> Result<R, StateError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<R, StateError> + Send + 'static,
        R: Send + 'static,
    {
        if self.inner.read_only {
            return Err(StateError::ReadOnly { op });
        }
        self.call(move |conn| write_txn(conn, op, f)).await
    }

    /// Runs a read on the state thread.
    pub(crate) async fn read<F, R>(&self, f: F) -> Result<R, StateError>
    where
        F: FnOnce(&Connection) -> Result<R, StateError> + Send + 'static,
        R: Send + 'static,
    {
        self.call(move |conn| f(conn)).await
    }

    /// Starts the connection thread, opening the connection on it with `open`.
    pub(crate) async fn spawn<F>(
        path: Option<PathBuf>,
        read_only: bool,
        open: F,
    ) -> Result<Store, StateError>
    where
        F: FnOnce() -> Result<Connection, StateError> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, opened) = oneshot::channel::<Result<(), StateError>>();
        let thread = std::thread::Builder::new()
            .name("hrsync-state".to_owned())
            .spawn(move || {
                let mut conn = match open() {
                    Ok(conn) => conn,
                    Err(err) => {
                        let _ = ready.send(Err(err));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                while let Ok(job) = queue.recv() {
                    job(&mut conn);
                }
                if let Err((_, err)) = conn.close() {
                    tracing::warn!(error = %err, "Closing the state database failed.");
                }
            })
            .map_err(|source| StateError::Io {
                op: "start the state thread for",
                path: path.clone().unwrap_or_else(|| PathBuf::from(":memory:")),
                source,
            })?;
        let store = Store {
            inner: Arc::new(Inner {
                jobs: Some(jobs),
                thread: Some(thread),
                path,
                read_only,
            }),
        };
        opened.await.map_err(|_| StateError::Closed)??;
        Ok(store)
    }
}

/// Runs `f` in an IMMEDIATE transaction (the write lock is taken up front, so a busy
/// database is waited for at the start rather than failing half-way).
pub(crate) fn write_txn<R>(
    conn: &mut Connection,
    op: &str,
    f: impl FnOnce(&Transaction<'_>) -> Result<R, StateError>,
) -> Result<R, StateError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_ctx(|| format!("begin a transaction to {op}"))?;
    let out = f(&tx)?;
    tx.commit().with_ctx(|| format!("commit {op}"))?;
    Ok(out)
}
