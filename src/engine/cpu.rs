//! CPU-heavy steps of an app's part (planning a large population, checking its creates)
//! taken off the async workers while they run: the apps of a cycle then share every core,
//! instead of one app queueing for a worker that another app's planning holds.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f` where it blocks no other task: on a multi-thread runtime the worker's other
/// tasks move to another thread meanwhile; elsewhere (a current-thread runtime, such as a
/// test's, or no runtime) it simply runs.
pub(super) fn heavy<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::heavy;

    #[test]
    fn runs_outside_a_runtime() {
        assert_eq!(heavy(|| 2 + 2), 4);
    }

    #[tokio::test]
    async fn runs_on_a_current_thread_runtime() {
        assert_eq!(heavy(|| "planned"), "planned");
    }

    /// A heavy step that waits on another task's heavy step, on a runtime of one worker:
    /// the waiting step gives its worker up, so the other task still runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn lets_another_task_run_while_it_blocks() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started, waiting) = tokio::sync::oneshot::channel::<()>();
        let waiter = tokio::spawn(async move {
            let _ = started.send(());
            heavy(move || rx.recv_timeout(std::time::Duration::from_secs(5)).is_ok())
        });
        waiting.await.expect("the waiter started");
        let sender = tokio::spawn(async move { heavy(move || tx.send(()).is_ok()) });
        assert!(waiter.await.expect("waiter"), "the other task never ran");
        assert!(sender.await.expect("sender"));
    }
}
