//! The pure half of `sys::cgroup`: which control file gets which value, and how to read the
//! kernel's answers. No I/O, so every rule here is tested without root.

use crate::model::limits::Limits;

/// The cgroup v2 controllers netlab enables, in the order it writes them.
pub(super) const CONTROLLERS: [&str; 3] = ["memory", "cpu", "pids"];

/// CFS period: the kernel's default, and the denominator of "cores".
pub(super) const CPU_PERIOD_US: u64 = 100_000;

/// The kernel refuses a CFS quota under 1 ms (EINVAL) in v1 and v2 alike.
const MIN_CPU_QUOTA_US: u64 = 1_000;

/// One value to write into a group's control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LimitFile {
    /// The controller that owns the file: the v1 hierarchy's directory, or the name in v2's
    /// `cgroup.controllers`.
    pub controller: &'static str,
    pub file: &'static str,
    pub value: String,
    /// False when `value` only lifts a limit: a missing controller then is not an error.
    pub set: bool,
}

fn file(controller: &'static str, file: &'static str, value: String, set: bool) -> LimitFile {
    LimitFile { controller, file, value, set }
}

/// Quota in µs per `CPU_PERIOD_US` for `cores`, raised to the kernel's minimum.
pub(super) fn cpu_quota_us(cores: f64) -> u64 {
    ((cores * CPU_PERIOD_US as f64).round() as u64).max(MIN_CPU_QUOTA_US)
}

/// cgroup v2: `memory.max`, `cpu.max`, `pids.max`. Unset limits are written as `max`, so a
/// limit removed from the lab file is lifted on the next `up`.
pub(super) fn v2_limit_files(limits: &Limits) -> Vec<LimitFile> {
    let quota = limits.cpu.map_or("max".to_string(), |c| cpu_quota_us(c).to_string());
    vec![
        file("memory", "memory.max", or_max(limits.memory), limits.memory.is_some()),
        file("cpu", "cpu.max", format!("{quota} {CPU_PERIOD_US}"), limits.cpu.is_some()),
        file("pids", "pids.max", or_max(limits.pids), limits.pids.is_some()),
    ]
}

/// cgroup v1: `memory.limit_in_bytes`, `cpu.cfs_period_us` then `cpu.cfs_quota_us` (the
/// quota is meant relative to our period, so the period goes first), `pids.max`. v1 spells
/// "no limit" as -1 for memory and CPU, `max` for pids.
pub(super) fn v1_limit_files(limits: &Limits) -> Vec<LimitFile> {
    let memory = limits.memory.map_or("-1".to_string(), |m| m.to_string());
    let quota = limits.cpu.map_or("-1".to_string(), |c| cpu_quota_us(c).to_string());
    let cpu_set = limits.cpu.is_some();
    vec![
        file("memory", "memory.limit_in_bytes", memory, limits.memory.is_some()),
        file("cpu", "cpu.cfs_period_us", CPU_PERIOD_US.to_string(), cpu_set),
        file("cpu", "cpu.cfs_quota_us", quota, cpu_set),
        file("pids", "pids.max", or_max(limits.pids), limits.pids.is_some()),
    ]
}

fn or_max(v: Option<u64>) -> String {
    v.map_or("max".to_string(), |v| v.to_string())
}

/// Controller names from `cgroup.controllers` or `cgroup.subtree_control`. Tolerates the
/// `+name` spelling that is written into the latter.
pub(super) fn parse_controllers(text: &str) -> Vec<&str> {
    text.split_whitespace().map(|c| c.trim_start_matches('+')).collect()
}

/// The pids in a `cgroup.procs` file. 0 stands for a process outside our pid namespace: it
/// cannot be signalled by number (and `kill(0, ..)` would hit our own process group).
pub(super) fn parse_procs(text: &str) -> Result<Vec<u32>, String> {
    let mut pids = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let pid: u32 = line.parse().map_err(|_| format!("{line:?} is not a pid"))?;
        if pid != 0 {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// The `oom_kill N` line of v1 `memory.oom_control` or v2 `memory.events`; `None` on kernels
/// that do not count OOM kills (before 4.13).
pub(super) fn parse_oom_kills(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == "oom_kill").then(|| value.trim().parse().ok())?
    })
}

/// A single number, as in `memory.current` or `pids.current`.
pub(super) fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_limit_files_spell_max_for_unset() {
        let values = |l: &Limits| -> Vec<(&str, String)> {
            v2_limit_files(l).into_iter().map(|f| (f.file, f.value)).collect()
        };
        assert_eq!(
            values(&Limits { memory: Some(256 << 20), cpu: Some(0.5), pids: Some(64) }),
            [
                ("memory.max", "268435456".to_string()),
                ("cpu.max", "50000 100000".to_string()),
                ("pids.max", "64".to_string())
            ]
        );
        assert_eq!(
            values(&Limits::default()),
            [
                ("memory.max", "max".to_string()),
                ("cpu.max", "max 100000".to_string()),
                ("pids.max", "max".to_string())
            ]
        );
        assert!(v2_limit_files(&Limits::default()).iter().all(|f| !f.set));
    }

    #[test]
    fn v1_limit_files_period_before_quota_and_minus_one_for_unset() {
        let values = |l: &Limits| -> Vec<(&str, &str, String)> {
            v1_limit_files(l).into_iter().map(|f| (f.controller, f.file, f.value)).collect()
        };
        assert_eq!(
            values(&Limits { memory: Some(64 << 20), cpu: Some(1.5), pids: Some(16) }),
            [
                ("memory", "memory.limit_in_bytes", "67108864".to_string()),
                ("cpu", "cpu.cfs_period_us", "100000".to_string()),
                ("cpu", "cpu.cfs_quota_us", "150000".to_string()),
                ("pids", "pids.max", "16".to_string())
            ]
        );
        assert_eq!(
            values(&Limits::default()),
            [
                ("memory", "memory.limit_in_bytes", "-1".to_string()),
                ("cpu", "cpu.cfs_period_us", "100000".to_string()),
                ("cpu", "cpu.cfs_quota_us", "-1".to_string()),
                ("pids", "pids.max", "max".to_string())
            ]
        );
    }

    #[test]
    fn cpu_quota_rounds_and_respects_kernel_minimum() {
        assert_eq!(cpu_quota_us(0.5), 50_000);
        assert_eq!(cpu_quota_us(2.0), 200_000);
        assert_eq!(cpu_quota_us(0.333333), 33_333);
        assert_eq!(cpu_quota_us(0.001), 1_000);
        assert_eq!(cpu_quota_us(1024.0), 102_400_000);
    }

    #[test]
    fn parses_kernel_answers() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        let v2 = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(parse_oom_kills(v1), Some(3));
        assert_eq!(parse_oom_kills(v2), Some(2));
        assert_eq!(parse_oom_kills("oom_kill_disable 0\nunder_oom 0\n"), None);
        assert_eq!(
            parse_controllers("cpuset cpu io memory pids\n"),
            ["cpuset", "cpu", "io", "memory", "pids"]
        );
        assert_eq!(parse_controllers("+memory +cpu"), ["memory", "cpu"]);
        assert_eq!(parse_procs("12\n7\n\n0\n"), Ok(vec![12, 7]));
        assert!(parse_procs("12\nabc\n").is_err());
        assert_eq!(parse_u64("4096\n"), Some(4096));
        assert_eq!(parse_u64("max\n"), None);
    }
}
