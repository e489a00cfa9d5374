//! Signals: SIGTERM and SIGINT ask the daemon to stop scheduling and wind down.

use tokio::sync::watch;

/// Installs the SIGTERM and SIGINT handlers and returns a receiver that turns true on the
/// first of them. Installing happens before this returns, so a daemon that cannot be
/// stopped cleanly refuses to start rather than running with the default (killing)
/// handlers, and a signal that arrives right after start is not lost.
pub fn stop_signal() -> std::io::Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!(signal = "SIGTERM", "Stop requested."),
                _ = int.recv() => tracing::info!(signal = "SIGINT", "Stop requested."),
            }
            let _ = tx.send(true);
            // Keep the sender: receivers then see `true`, never a closed channel, and a
            // second signal while in-flight work finishes is absorbed by the handlers.
            std::future::pending::<()>().await;
        });
    }
    #[cfg(not(unix))]
    {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!(signal = "Ctrl-C", "Stop requested.");
                let _ = tx.send(true);
            }
            std::future::pending::<()>().await;
        });
    }
    Ok(rx)
}
