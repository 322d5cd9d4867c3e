//! What a result was measured on: a ratio is only comparable on the same machine.

use std::process::Command;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub kernel: String,
    pub commit: String,
    /// Uncommitted changes were present: the commit alone does not reproduce the run.
    pub dirty: bool,
}

impl Machine {
    pub fn current() -> Self {
        Self {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes: std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|m| mem_total(&m)),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned()),
            commit: git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into()),
            dirty: git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty()),
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// This process's CPU time (every thread, user and system) and minor page faults so
/// far: on this 2-core VM a figure's wall time swings with the host, and where the CPU
/// went (and how much of it was faulting in fresh memory) says more.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessCpu {
    pub user_s: f64,
    pub system_s: f64,
    pub minor_faults: u64,
}

impl ProcessCpu {
    pub fn now() -> Self {
        std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| parse_stat(&s))
            .unwrap_or_default()
    }

    /// What was spent since `earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            user_s: self.user_s - earlier.user_s,
            system_s: self.system_s - earlier.system_s,
            minor_faults: self.minor_faults.saturating_sub(earlier.minor_faults),
        }
    }
}

/// Fields 10 (minflt), 14 (utime) and 15 (stime) of /proc/PID/stat, after the command
/// name in parentheses (which may itself hold spaces). Times are in USER_HZ, which
/// Linux fixes at 100 for userspace.
fn parse_stat(stat: &str) -> Option<ProcessCpu> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks =
        |i: usize| -> Option<f64> { Some(fields.get(i)?.parse::<u64>().ok()? as f64 / 100.0) };
    Some(ProcessCpu {
        minor_faults: fields.get(7)?.parse().ok()?,
        user_s: ticks(11)?,
        system_s: ticks(12)?,
    })
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9";
        let cpu = parse_stat(stat).expect("parses");
        assert_eq!(cpu.minor_faults, 1234);
        assert!((cpu.user_s - 2.5).abs() < 1e-9);
        assert!((cpu.system_s - 0.75).abs() < 1e-9);
        assert!(parse_stat("42 (truncated) S 1").is_none());
    }

    #[test]
    fn mem_total_reads_kib_and_rejects_garbage() {
        assert_eq!(
            mem_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000 * 1024)
        );
        assert_eq!(mem_total("MemTotal: lots kB\n"), None);
        assert_eq!(mem_total(""), None);
    }
}
