//! Signals: SIGTERM and SIGINT ask the daemon to stop scheduling and wind down; SIGHUP asks
//! it to reload its config (and never ends the process).

use tokio::sync::{mpsc, watch};

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

/// Installs the SIGHUP handler (replacing the default, which would end the process) and
/// returns a receiver that gets one message per SIGHUP; several before the daemon gets to
/// them make one reload.
pub fn reload_signal() -> std::io::Result<mpsc::Receiver<()>> {
    let (tx, rx) = mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!(signal = "SIGHUP", "Reload requested.");
                // A full channel already holds a pending reload, which will read the
                // newest file anyway.
                let _ = tx.try_send(());
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);
    Ok(rx)
}
