//! Signals: SIGTERM and SIGINT ask the daemon to stop scheduling and wind down.

use tokio::sync::watch;

/// Waits for SIGTERM or SIGINT, then flips `stop` to true.
pub async fn watch_stop(stop: watch::Sender<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("Cannot install signal handlers.");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "Stop requested."),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "Stop requested."),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = stop.send(true);
}
