//! The process's memory, for the debug lines that time a cycle's phases.

/// The process's resident memory in MiB (Linux; `None` elsewhere), for the phase logs.
pub fn rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

static RETURN_FREED: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Installs how the process hands freed memory back to the system: the binary's allocator
/// knows how, the library does not.
pub fn on_return_freed(f: fn()) {
    let _ = RETURN_FREED.set(f);
}

/// Hands back what a finished phase freed, on every thread of the pool that did its work
/// and on this one: an allocator keeps freed pages per thread, and a thread that has gone
/// idle would keep them for the rest of the cycle.
pub fn return_freed() {
    if let Some(f) = RETURN_FREED.get() {
        rayon::broadcast(|_| f());
        f();
    }
}
