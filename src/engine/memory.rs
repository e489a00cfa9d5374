//! The process's memory, for the debug lines that time a cycle's phases.

/// The process's resident memory in MiB (Linux; `None` elsewhere), for the phase logs.
pub fn rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
