//! Freeing large structures off the cycle's path: dropping a hundred thousand records or
//! links takes a noticeable part of a cycle, and nothing waits for it.

/// Drops `value` on a thread of its own.
pub fn release<T: Send + 'static>(value: T) {
    // When no thread can be started, the closure, and the value with it, is dropped here.
    let _ = std::thread::Builder::new()
        .name("hrsync-release".to_owned())
        .spawn(move || drop(value));
}
