//! Taking the state's writer lock for an executing cycle. When another hrsync holds it (a
//! running daemon in its cycle, another `apply`), say so once, naming its pid, then wait
//! up to the caller's bound (`--wait-secs`; 0: fail at once).

use std::path::Path;
use std::time::Duration;

use hrsync_state::{StateError, WriterLock};

use super::error::EngineError;

/// Takes the lock, waiting up to `wait` for its holder.
pub async fn take(state_path: &Path, wait: Duration) -> Result<WriterLock, EngineError> {
    match WriterLock::acquire(state_path) {
        Ok(lock) => return Ok(lock),
        Err(StateError::Locked { holder, .. }) if !wait.is_zero() => {
            let pid = holder.map_or_else(|| "unknown".to_string(), |p| p.to_string());
            tracing::warn!(
                pid = %pid,
                wait_secs = wait.as_secs(),
                "Waiting for the running hrsync (pid {pid}) to release the state."
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(WriterLock::acquire_wait(state_path, wait).await?)
}
