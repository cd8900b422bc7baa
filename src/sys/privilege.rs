//! Whether netlab may do its work: the capabilities it needs, read from `/proc/self/status`.

/// `CAP_NET_ADMIN` (namespaces' links, addresses, routes, rules).
const CAP_NET_ADMIN: u32 = 12;
/// `CAP_SYS_ADMIN` (mounting namespaces under /run/netns, `setns`, cgroups).
const CAP_SYS_ADMIN: u32 = 21;

/// Whether the effective set holds `CAP_NET_ADMIN` and `CAP_SYS_ADMIN` (`grep CapEff
/// /proc/self/status`). When the file cannot be read, netlab tries and lets the kernel say.
pub fn admin() -> bool {
    match std::fs::read_to_string("/proc/self/status") {
        Ok(status) => effective(&status).is_none_or(|set| has(set, CAP_NET_ADMIN) && has(set, CAP_SYS_ADMIN)),
        Err(_) => true,
    }
}

fn has(set: u64, cap: u32) -> bool {
    set & (1u64 << cap) != 0
}

/// The `CapEff:` mask of a `/proc/PID/status` text.
fn effective(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_set_is_read_from_the_status_text() {
        let root = "Name:\tnetlab\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        let nobody = "CapEff:\t0000000000000000\n";
        let net_only = "CapEff:\t0000000000001000\n";
        let set = |s| effective(s).unwrap();
        assert!(has(set(root), CAP_NET_ADMIN) && has(set(root), CAP_SYS_ADMIN));
        assert!(!has(set(nobody), CAP_NET_ADMIN));
        assert!(has(set(net_only), CAP_NET_ADMIN) && !has(set(net_only), CAP_SYS_ADMIN));
        assert_eq!(effective("Name:\tx\n"), None);
    }
}
