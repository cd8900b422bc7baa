//! Resource limits of a workload (memory, CPU, process count) and the checks that turn the
//! user's spelling into numbers the kernel accepts. Pure: `sys::cgroup` writes them.

/// What a node or workload may use. `None` means "no limit" (written to the kernel as `max`, so
/// removing a limit from the file and running `up` again lifts it).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Bytes of memory (cgroup `memory.max` / `memory.limit_in_bytes`).
    pub memory: Option<u64>,
    /// CPU time in cores: 0.5 is half of one CPU (cgroup `cpu.max` / `cpu.cfs_quota_us`).
    pub cpu: Option<f64>,
    /// Number of processes and threads (cgroup `pids.max`).
    pub pids: Option<u64>,
}

impl Limits {
    /// True when nothing is limited.
    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.cpu.is_none() && self.pids.is_none()
    }

    /// Field-wise: `other`'s value where set, else `self`'s. A workload's own limits overlay
    /// its node's.
    pub fn overlay(&self, other: &Limits) -> Limits {
        Limits {
            memory: other.memory.or(self.memory),
            cpu: other.cpu.or(self.cpu),
            pids: other.pids.or(self.pids),
        }
    }
}

/// Below this a workload cannot even exec a shell; a smaller value is almost surely a
/// forgotten unit ("512" meaning megabytes).
const MIN_MEMORY: u64 = 1 << 20;

/// The most cores `cpu` may ask for: far above any machine, low enough that the quota in
/// microseconds stays exact.
const MAX_CPU: f64 = 1024.0;

/// The kernel refuses a `pids.max` above PID_MAX_LIMIT (2^22 on 64-bit) with EINVAL.
const MAX_PIDS: i64 = 1 << 22;

/// Parses a memory size: "256M", "1G", "512K", "1.5G", "1048576", case-insensitive, with an
/// optional "B" or "iB" after the unit ("256MiB"). Multiples are binary (1K = 1024), as in
/// the kernel's own `memory.max` parser. At least 1M.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let bytes = parse_size(s)?;
    if bytes < MIN_MEMORY {
        return Err(format!(
            "memory \"{s}\" is too small: a workload needs at least \"1M\"; write e.g. \"256M\""
        ));
    }
    Ok(bytes)
}

/// The size parser behind `parse_memory`, without the minimum.
fn parse_size(s: &str) -> Result<u64, String> {
    let not_a_size = || format!("memory \"{s}\" is not a size; write e.g. \"256M\" or \"1G\"");
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim_start().to_ascii_lowercase());
    let shift = match unit.as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(not_a_size()),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(not_a_size());
    }
    if !frac.is_empty() && shift == 0 {
        return Err(format!(
            "memory \"{s}\" is not a whole number of bytes; write e.g. \"1.5G\" or \"1536M\""
        ));
    }
    let too_large = || format!("memory \"{s}\" is too large; write e.g. \"64G\"");
    // Exact decimal arithmetic in u128, so "1.5G" is 1610612736 and not a float's guess.
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
    let frac_digits = frac.len().min(18);
    let frac_value: u128 =
        if frac.is_empty() { 0 } else { frac[..frac_digits].parse().map_err(|_| not_a_size())? };
    let frac_bytes = (frac_value << shift) / 10u128.pow(frac_digits as u32);
    let bytes = whole.checked_mul(1 << shift).and_then(|w| w.checked_add(frac_bytes));
    bytes.and_then(|b| u64::try_from(b).ok()).ok_or_else(too_large)
}

/// Checks a CPU limit in cores: more than 0, at most 1024.
pub fn check_cpu(v: f64) -> Result<f64, String> {
    if !v.is_finite() || v <= 0.0 {
        return Err(format!(
            "cpu {v} is not a share of CPU time; write e.g. 0.5 for half a core or 2 for two cores"
        ));
    }
    if v > MAX_CPU {
        return Err(format!("cpu {v} is more than {MAX_CPU} cores; write the number of cores, e.g. 2"));
    }
    Ok(v)
}

/// Checks a process-count limit: at least 1, at most the kernel's PID_MAX_LIMIT.
pub fn check_pids(v: i64) -> Result<u64, String> {
    if v < 1 {
        return Err(format!("pids {v} would not even allow the workload itself; write at least 1, e.g. 64"));
    }
    if v > MAX_PIDS {
        return Err(format!(
            "pids {v} is more than the kernel allows ({MAX_PIDS}); leave it out for no limit"
        ));
    }
    Ok(v as u64)
}

/// A size in bytes in IEC units, as people read it: "512 B", "64 MiB", "1.5 GiB"; exact
/// multiples without decimals (the file's "64M" is "64 MiB").
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut div = 1024u64;
    while unit + 1 < UNITS.len() && bytes >= div * 1024 {
        div *= 1024;
        unit += 1;
    }
    if bytes % div == 0 {
        format!("{} {}", bytes / div, UNITS[unit])
    } else {
        format!("{:.1} {}", bytes as f64 / div as f64, UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size_text(0), "0 B");
        assert_eq!(size_text(1023), "1023 B");
        assert_eq!(size_text(1024), "1 KiB");
        assert_eq!(size_text(64 << 20), "64 MiB");
        assert_eq!(size_text(67108864), "64 MiB");
        assert_eq!(size_text(3 << 29), "1.5 GiB");
        assert_eq!(size_text(1 << 30), "1 GiB");
        assert_eq!(size_text((5 << 20) + 300 * 1024), "5.3 MiB");
        assert_eq!(parse_memory(&size_text(256 << 20).replace(' ', "")), Ok(256 << 20));
    }

    #[test]
    fn memory_units_are_binary_and_case_insensitive() {
        assert_eq!(parse_memory("256M"), Ok(256 << 20));
        assert_eq!(parse_memory("256m"), Ok(256 << 20));
        assert_eq!(parse_memory("1G"), Ok(1 << 30));
        assert_eq!(parse_memory("1g"), Ok(1 << 30));
        assert_eq!(parse_memory("2048K"), Ok(2 << 20));
        assert_eq!(parse_memory("1048576"), Ok(1 << 20));
        assert_eq!(parse_memory("1048576B"), Ok(1 << 20));
        assert_eq!(parse_memory("1T"), Ok(1 << 40));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
    }

    #[test]
    fn memory_suffixes_b_and_ib() {
        assert_eq!(parse_memory("256MiB"), Ok(256 << 20));
        assert_eq!(parse_memory("256mib"), Ok(256 << 20));
        assert_eq!(parse_memory("256MB"), Ok(256 << 20));
        assert_eq!(parse_memory("1GiB"), Ok(1 << 30));
        assert_eq!(parse_memory(" 256 MiB "), Ok(256 << 20));
    }

    #[test]
    fn memory_fractions_are_exact() {
        assert_eq!(parse_memory("1.5G"), Ok(1_610_612_736));
        assert_eq!(parse_memory("0.5G"), Ok(512 << 20));
        assert_eq!(parse_memory(".5G"), Ok(512 << 20));
        assert_eq!(parse_memory("1.25M"), Ok(1_310_720));
        assert!(parse_memory("1.5").unwrap_err().contains("whole number of bytes"));
    }

    #[test]
    fn memory_rejects_what_is_not_a_size() {
        for bad in ["12X", "", "M", "abc", "-1G", "1.2.3G", "1 G B", "1e9", "0x10M", "."] {
            let err = parse_memory(bad).unwrap_err();
            assert!(err.contains("is not a size") && err.contains("\"256M\""), "{bad}: {err}");
        }
        assert_eq!(
            parse_memory("12X").unwrap_err(),
            "memory \"12X\" is not a size; write e.g. \"256M\" or \"1G\""
        );
    }

    #[test]
    fn memory_rejects_zero_tiny_and_huge() {
        for small in ["0", "0M", "4096", "512K", "1023K", "0.5M"] {
            assert!(parse_memory(small).unwrap_err().contains("too small"), "{small}");
        }
        assert_eq!(parse_memory("1M"), Ok(1 << 20));
        assert!(parse_memory("99999999999999999T").unwrap_err().contains("too large"));
        assert!(parse_memory("99999999999999999999999999999999999999999").unwrap_err().contains("too large"));
    }

    #[test]
    fn cpu_bounds() {
        assert_eq!(check_cpu(0.5), Ok(0.5));
        assert_eq!(check_cpu(1024.0), Ok(1024.0));
        for bad in [0.0, -1.0, 1024.5, f64::NAN, f64::INFINITY] {
            assert!(check_cpu(bad).is_err(), "{bad}");
        }
        assert!(check_cpu(0.0).unwrap_err().contains("0.5"));
    }

    #[test]
    fn pids_bounds() {
        assert_eq!(check_pids(1), Ok(1));
        assert_eq!(check_pids(64), Ok(64));
        assert!(check_pids(0).unwrap_err().contains("at least 1"));
        assert!(check_pids(-5).is_err());
        assert_eq!(check_pids(1 << 22), Ok(1 << 22));
        assert!(check_pids((1 << 22) + 1).is_err());
    }

    #[test]
    fn overlay_takes_others_values_where_set() {
        let node = Limits { memory: Some(1 << 30), cpu: Some(2.0), pids: None };
        let web = Limits { memory: None, cpu: Some(0.5), pids: Some(16) };
        assert_eq!(node.overlay(&web), Limits { memory: Some(1 << 30), cpu: Some(0.5), pids: Some(16) });
        assert_eq!(node.overlay(&Limits::default()), node);
        assert_eq!(Limits::default().overlay(&web), web);
    }

    #[test]
    fn is_empty_only_without_any_limit() {
        assert!(Limits::default().is_empty());
        assert!(!Limits { pids: Some(1), ..Limits::default() }.is_empty());
    }
}
