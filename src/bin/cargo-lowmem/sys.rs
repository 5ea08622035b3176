//! The two system calls std does not offer (at the package's Rust version): `getrusage(
//! RUSAGE_CHILDREN)`, for the peak resident set and CPU time of rustc and the processes it waited
//! for (the linker), as rustc-perf measures them (and `RUSAGE_SELF`, for the wrapper's own CPU
//! time, which the memory report shows); and `flock`, the lock the kernel releases when
//! its holder dies, which the wrappers coordinate through.
//!
//! This is the only `unsafe` in the package: two calls, on Linux only. `getrusage` is used on
//! 64-bit Linux, where the layout of `struct rusage` is fixed: two `struct timeval` (two 64-bit
//! fields each) followed by fourteen `long`s, `ru_maxrss` (KiB) the first of them. Elsewhere the
//! figures are unknown and the wrappers do not coordinate (each runs rustc at once).

/// Peak RSS and CPU time of the waited-for children.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChildUsage {
    /// `ru_maxrss`, KiB.
    pub max_rss_kib: u64,
    /// User plus system CPU time, ms.
    pub cpu_ms: u64,
    /// The same, µs.
    pub cpu_us: u64,
}

/// The waited-for children's usage (`RUSAGE_CHILDREN`).
pub fn children() -> Option<ChildUsage> {
    usage(-1)
}

/// This process's own CPU time, ms (`RUSAGE_SELF`): what the wrapper itself spends.
pub fn own_cpu_ms() -> Option<u64> {
    usage(0).map(|u| u.cpu_ms)
}

/// The calling thread's CPU time, µs (`RUSAGE_THREAD`, Linux): what the sampler spends.
pub fn thread_cpu_us() -> Option<u64> {
    usage(1).map(|u| u.cpu_us)
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn usage(who: i32) -> Option<ChildUsage> {
    #[repr(C)]
    struct RUsage {
        utime: [i64; 2],
        stime: [i64; 2],
        rest: [i64; 14],
    }
    extern "C" {
        fn getrusage(who: i32, usage: *mut RUsage) -> i32;
    }
    let mut usage = RUsage {
        utime: [0; 2],
        stime: [0; 2],
        rest: [0; 14],
    };
    // SAFETY: `usage` is a valid, writable `struct rusage` for 64-bit Linux (see the module
    // docs); getrusage writes only within it and keeps no pointer.
    let status = unsafe { getrusage(who, &mut usage) };
    if status != 0 {
        return None;
    }
    let us = |tv: [i64; 2]| (tv[0].max(0) as u64) * 1_000_000 + tv[1].max(0) as u64;
    let cpu_us = us(usage.utime) + us(usage.stime);
    Some(ChildUsage {
        max_rss_kib: usage.rest[0].max(0) as u64,
        cpu_ms: cpu_us / 1000,
        cpu_us,
    })
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn usage(_who: i32) -> Option<ChildUsage> {
    None
}

/// Takes an exclusive `flock` on `file`, blocking until it is free; the kernel releases it when
/// the file is closed or the process dies. `false` when the call failed or is not available.
#[cfg(target_os = "linux")]
pub fn lock_exclusive(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn flock(fd: i32, operation: i32) -> i32;
    }
    const LOCK_EX: i32 = 2;
    // SAFETY: the descriptor is open for the duration of the call (borrowed from `file`);
    // flock takes plain integers and touches no memory of ours.
    unsafe { flock(file.as_raw_fd(), LOCK_EX) == 0 }
}

#[cfg(not(target_os = "linux"))]
pub fn lock_exclusive(_: &std::fs::File) -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// A child that touches 64 MiB shows at least that as its peak, and the call does not
    /// report garbage (a wrong layout would put a CPU time or zero where the peak is).
    #[test]
    fn a_childs_peak_is_seen_after_it_is_waited_for() {
        let status = std::process::Command::new("python3")
            .args([
                "-c",
                "b = bytearray(64 * 1024 * 1024); b[::4096] = b'x' * (len(b) // 4096)",
            ])
            .status();
        let Ok(status) = status else {
            eprintln!("python3 is not available; skipped");
            return;
        };
        assert!(status.success());
        let usage = children().unwrap();
        assert!(usage.max_rss_kib >= 64 * 1024, "{usage:?}");
        assert!(usage.max_rss_kib < 4 * 1024 * 1024, "{usage:?}");
    }
}
