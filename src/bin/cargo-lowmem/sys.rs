//! The system calls std does not offer (at the package's Rust version): `getrusage(
//! RUSAGE_CHILDREN)`, for the peak resident set and CPU time of rustc and the processes it waited
//! for (the linker), as rustc-perf measures them (and `RUSAGE_SELF`, for the wrapper's own CPU
//! time, which the memory report shows); `flock`, the lock the kernel releases when its holder
//! dies, which the wrappers coordinate through; `kill`, to stop, resume and kill a rustc that
//! must give way; and `prctl(PR_SET_PDEATHSIG)`, so that a rustc the governor stopped dies with
//! its wrapper instead of staying stopped for ever.
//!
//! This is the only `unsafe` in the package: four calls, on Linux only. `getrusage` is used on
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

/// The signals the governor sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ends the process (it cannot be caught).
    Kill,
    /// Stops it where it is, memory kept (it cannot be caught).
    Stop,
    /// Resumes a stopped process.
    Cont,
}

/// Sends `signal` to `pid`; `false` when it could not be sent (the process is gone).
#[cfg(target_os = "linux")]
pub fn send(pid: u32, signal: Signal) -> bool {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    let number = match signal {
        Signal::Kill => 9,
        Signal::Stop => 19,
        Signal::Cont => 18,
    };
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        // 0 and negative pids name process groups: never ours to signal.
        return false;
    }
    // SAFETY: kill takes two integers and touches no memory of ours.
    unsafe { kill(pid, number) == 0 }
}

#[cfg(not(target_os = "linux"))]
pub fn send(_pid: u32, _signal: Signal) -> bool {
    false
}

/// Makes the child `command` starts receive SIGKILL when the thread that started it (the
/// wrapper's main thread) ends, however it ends: a rustc stopped to make room must never outlive
/// its wrapper, stopped and holding memory. `false` where this is not available (the governor
/// then never stops that child, only kills it).
#[cfg(target_os = "linux")]
pub fn die_with_parent(command: &mut std::process::Command) -> bool {
    use std::os::unix::process::CommandExt;
    extern "C" {
        fn prctl(option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> i32;
    }
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGKILL: u64 = 9;
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed: it makes one system call (prctl, which is) and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    true
}

#[cfg(not(target_os = "linux"))]
pub fn die_with_parent(_command: &mut std::process::Command) -> bool {
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

    /// A stopped process stops using CPU and runs again when resumed; a child set to die with
    /// its parent is killed when the thread that started it ends.
    #[test]
    fn stop_resume_kill_and_death_with_the_parent() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let state = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s[s.rfind(')')? + 2..].chars().next())
        };
        assert!(send(child.id(), Signal::Stop));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(state(child.id()), Some('T'));
        assert!(send(child.id(), Signal::Cont));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(state(child.id()), Some('S'));
        assert!(send(child.id(), Signal::Kill));
        child.wait().unwrap();
        assert!(!send(0, Signal::Kill), "never a process group");

        let mut orphan = std::thread::spawn(|| {
            let mut command = std::process::Command::new("sleep");
            command.arg("30");
            assert!(die_with_parent(&mut command));
            let child = command.spawn().unwrap();
            send(child.id(), Signal::Stop);
            // The thread that started it ends here, the child stopped.
            child
        })
        .join()
        .unwrap();
        let pid = orphan.id();
        let started = std::time::Instant::now();
        // Dead: a zombie of this process until it is reaped.
        while state(pid) != Some('Z') {
            assert!(started.elapsed().as_secs() < 5, "still {:?}", state(pid));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(orphan.wait().unwrap().signal(), Some(9));
    }
}
