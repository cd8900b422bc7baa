//! Naming rules and derived names: lab names, namespace names, interface names, marks.

/// Why a lab name is not acceptable, or `None` when it is.
pub fn lab_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 12 {
        return Some(format!("lab name \"{name}\" must be 1–12 characters long"));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Some(format!("lab name \"{name}\" may only use a-z, 0-9 and -"));
    }
    if name.starts_with('-') {
        // `--lab -x` would read as an option, `ip netns exec -x-h1` too.
        return Some(format!("lab name \"{name}\" must start with a letter or a digit"));
    }
    None
}

/// Why a node name is not acceptable, or `None` when it is.
pub fn node_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 32 {
        return Some(format!("node name \"{name}\" must be 1–32 characters long"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || name.starts_with(['_', '-'])
    {
        return Some(format!(
            "node name \"{name}\" may only use letters, digits, - and _, and must start with a letter or a digit"
        ));
    }
    None
}

/// Interface names the kernel or its files reserve: `all` and `default` are the
/// `/proc/sys/net/*/conf/` entries of every namespace (the kernel refuses them with EINVAL),
/// `bonding_masters` is a file of `/sys/class/net` once the bonding module is loaded.
pub const RESERVED_IFACE_NAMES: [&str; 3] = ["all", "default", "bonding_masters"];

/// Why an interface name breaks the kernel's rule (`dev_valid_name`: 1–15 bytes, not `.` or
/// `..`, no `/`, `:` or whitespace), names a reserved entry, or holds what the kernel would
/// rewrite (`%`: `x%d` becomes `x0`, a name netlab never asked for), or `None`.
pub fn iface_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an interface name cannot be empty".into());
    }
    if name.len() > 15 {
        return Some(format!(
            "interface name \"{name}\" is {} bytes long; the kernel allows at most 15",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Some(format!(
            "interface name \"{name}\" is refused by the kernel: . and .. name directories"
        ));
    }
    if name.contains(['/', ':']) || name.chars().any(char::is_whitespace) {
        return Some(format!(
            "interface name {name:?} contains a character the kernel forbids (/, :, whitespace)"
        ));
    }
    if name.contains('%') {
        return Some(format!(
            "interface name \"{name}\" contains %, which the kernel replaces with a number (x%d becomes x0)"
        ));
    }
    if name.chars().any(char::is_control) {
        return Some(format!("interface name {name:?} contains a control character"));
    }
    if name == "bonding_masters" {
        return Some(format!(
            "interface name \"{name}\" is reserved: /sys/class/net/{name} is the bonding driver's"
        ));
    }
    if RESERVED_IFACE_NAMES.contains(&name) {
        return Some(format!(
            "interface name \"{name}\" is reserved: /proc/sys/net/ipv4/conf/{name} is the kernel's own"
        ));
    }
    None
}

/// The namespace of a node: `PREFIX-NODE`, or `NODE` when the prefix is empty.
pub fn netns_name(prefix: &str, node: &str) -> String {
    if prefix.is_empty() {
        node.to_string()
    } else {
        format!("{prefix}-{node}")
    }
}

/// The name netlab gives a switch port the file did not name: the peer's node and interface
/// when that fits the kernel's 15 characters, else a short stable hash of them.
pub fn switch_port_name(peer_node: &str, peer_iface: &str) -> String {
    let plain = format!("{peer_node}-{peer_iface}");
    if plain.len() <= 15 {
        return plain;
    }
    format!("p-{:08x}", fnv1a(plain.as_bytes()) as u32)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

/// Every interface a lab makes carries an alias starting with this mark.
pub fn mark_prefix(lab: &str) -> String {
    format!("netlab:{lab}:")
}

/// The alias of both ends of a link.
pub fn link_mark(lab: &str, link_id: &str) -> String {
    format!("{}{link_id}", mark_prefix(lab))
}

/// The alias of a switch's bridge.
pub fn bridge_mark(lab: &str) -> String {
    format!("{}bridge", mark_prefix(lab))
}

/// The alias of `lo` in a namespace the lab created: the namespace's own mark.
pub fn netns_mark(lab: &str) -> String {
    format!("{}netns", mark_prefix(lab))
}

/// The lab an alias belongs to, if it is a netlab mark.
pub fn lab_of_mark(alias: &str) -> Option<&str> {
    alias.strip_prefix("netlab:")?.split(':').next()
}

/// The lab's table in a namespace: `netlab` in its own namespaces, `netlab-LAB` in the
/// host's, which other labs and tools share.
pub fn table_name(lab: &str, ns: &super::NsRef) -> String {
    match ns {
        super::NsRef::Host => format!("netlab-{lab}"),
        super::NsRef::Named(_) => "netlab".to_string(),
    }
}

/// Cgroup paths of a lab, relative to each hierarchy's root.
pub fn lab_cgroup(lab: &str) -> String {
    format!("netlab/{lab}")
}

/// The cgroup of a node's processes: its limits hold for all of them.
pub fn node_cgroup(lab: &str, node: &str) -> String {
    format!("netlab/{lab}/{node}")
}

/// The routing protocol number netlab puts on the routes it adds (`ip route ... proto 78`)
/// and, as `IFA_PROTO`, on the addresses it adds: its mark on both.
pub const NETLAB_PROTO: u8 = 78;

/// The interface a per-interface sysctl names (`net.ipv4.conf.IF.KEY`, `net.ipv6.neigh.IF.KEY`),
/// or `None` for a namespace-wide one (`all`, `default`, or no interface at all).
pub fn sysctl_iface(key: &str) -> Option<&str> {
    let rest = ["net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.", "net.ipv6.neigh."]
        .iter()
        .find_map(|p| key.strip_prefix(p))?;
    // An interface name may hold dots (`eth0.100`): the setting is the last part.
    let (iface, _) = rest.rsplit_once('.')?;
    (iface != "all" && iface != "default").then_some(iface)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sysctl_iface_names_the_interface_of_per_interface_keys() {
        assert_eq!(super::sysctl_iface("net.ipv4.conf.eth0.rp_filter"), Some("eth0"));
        assert_eq!(super::sysctl_iface("net.ipv6.conf.eth0.100.mtu"), Some("eth0.100"));
        assert_eq!(super::sysctl_iface("net.ipv4.neigh.v-eth.gc_stale_time"), Some("v-eth"));
        assert_eq!(super::sysctl_iface("net.ipv4.conf.all.forwarding"), None);
        assert_eq!(super::sysctl_iface("net.ipv6.conf.default.forwarding"), None);
        assert_eq!(super::sysctl_iface("net.ipv4.ip_forward"), None);
    }

    use super::*;

    #[test]
    fn names() {
        assert!(lab_name_problem("lan").is_none());
        assert!(lab_name_problem("abcdefghijklm").is_some());
        assert!(lab_name_problem("Lan").is_some());
        assert!(iface_name_problem("eth0").is_none());
        assert!(iface_name_problem("abcdefghijklmnop").is_some());
        assert!(iface_name_problem("a b").is_some());
        assert_eq!(netns_name("", "ns1"), "ns1");
        assert_eq!(netns_name("lan", "h1"), "lan-h1");
        assert_eq!(switch_port_name("h1", "eth0"), "h1-eth0");
        let long = switch_port_name("averyveryverylongnode", "eth0");
        assert!(long.len() <= 15 && long.starts_with("p-"));
        assert_eq!(lab_of_mark("netlab:lan:h1:eth0~sw:h1-eth0"), Some("lan"));
        assert_eq!(lab_of_mark("something"), None);
    }
}
