//! The metric the kernel gives a route: what the file's routes are compared by, both when
//! `validate` looks for two routes the kernel would keep as one and when the plan derives
//! what the kernel will hold.

use ipnetwork::IpNetwork;

/// The metric the kernel stores for a route given `metric` (or none): IPv6 keeps 0 as 1024.
pub fn kernel_metric(dst: &IpNetwork, metric: Option<u32>) -> u32 {
    match metric {
        Some(0) | None => default_metric(dst),
        Some(m) => m,
    }
}

/// The kernel's metric when none is given: 0 for IPv4, 1024 for IPv6.
pub fn default_metric(dst: &IpNetwork) -> u32 {
    if dst.is_ipv4() {
        0
    } else {
        1024
    }
}
