//! The syntax of a node's sysctls: keys that name a `/proc/sys/net` file and nothing else, and
//! values the kernel's parsers take (`proc_dointvec` and friends read integers, a few knobs
//! take a word such as `cubic`). Whether a key exists in this kernel is a preflight of `up`.

use super::names::{iface_name_problem, sysctl_iface};

/// The prefixes of per-interface keys: `net.ipv4.conf.IF.KEY` and the like.
const PER_IFACE: [&str; 4] = ["net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.", "net.ipv6.neigh."];

fn part_ok(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Why `key` is not a per-namespace network sysctl name, or `None`: `net.` then parts of
/// `a-z 0-9 _ -` joined by dots, where a per-interface key's interface part is `all`,
/// `default` or a valid interface name (which may hold dots and capitals, as `eth0.100`).
pub fn key_problem(key: &str) -> Option<String> {
    let bad = || Some(format!("sysctl \"{key}\" is not a per-namespace network sysctl"));
    let Some(rest) = key.strip_prefix("net.") else { return bad() };
    if let Some(tail) = PER_IFACE.iter().find_map(|p| key.strip_prefix(p)) {
        let Some((iface, setting)) = tail.rsplit_once('.') else { return bad() };
        if !part_ok(setting) {
            return bad();
        }
        if iface != "all" && iface != "default" {
            if let Some(p) = iface_name_problem(iface) {
                return Some(format!("sysctl \"{key}\" names a bad interface: {p}"));
            }
        }
        return None;
    }
    if rest.split('.').all(part_ok) {
        None
    } else {
        bad()
    }
}

/// The key whose existence says whether `key` can be set in a new namespace: a
/// per-interface key is probed as the same setting of `default`, which every interface
/// made later inherits (`net.ipv4.conf.eth0.rp_filter` → `net.ipv4.conf.default.rp_filter`).
pub fn probe_key(key: &str) -> String {
    match (sysctl_iface(key), PER_IFACE.iter().find(|p| key.starts_with(**p))) {
        (Some(iface), Some(p)) => format!("{p}default.{}", &key[p.len() + iface.len() + 1..]),
        _ => key.to_string(),
    }
}

/// The path of a key under `/proc/sys`, relative: dots become slashes except inside the
/// interface part of a per-interface key (`net.ipv4.conf.eth0.100.rp_filter` is
/// `net/ipv4/conf/eth0.100/rp_filter`).
pub fn key_path(key: &str) -> String {
    if let Some(iface) = sysctl_iface(key) {
        if let Some(p) = PER_IFACE.iter().find(|p| key.starts_with(**p)) {
            let setting = &key[p.len() + iface.len() + 1..];
            return format!("{}/{iface}/{setting}", p.trim_end_matches('.').replace('.', "/"));
        }
    }
    key.replace('.', "/")
}

/// The text written to the sysctl's file for a value of the file, or why it cannot be one:
/// an integer, a boolean (1 or 0), or a string that is integers separated by spaces (each
/// fitting a signed 64-bit integer, as `"4096 87380 6291456"`) or one word of
/// `A-Z a-z 0-9 _ . : -` (as `"cubic"`).
pub fn value_text(v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok((*b as u8).to_string()),
        toml::Value::String(s) => string_value(s).map(|()| s.clone()),
        toml::Value::Float(_) => Err("needs an integer, not a number with a fraction".into()),
        _ => Err("needs an integer or a one-line string value".into()),
    }
}

fn string_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("has an empty value".into());
    }
    if let Some(c) = s.chars().find(|c| matches!(c, '\0' | '\r' | '\n')) {
        let name = match c {
            '\0' => "a NUL byte",
            '\r' => "a carriage return",
            _ => "a line break",
        };
        return Err(format!("has a value with {name} in it"));
    }
    let words: Vec<&str> = s.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let numeric = |w: &str| {
        let digits = w.strip_prefix('-').unwrap_or(w);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !words.is_empty() && words.iter().all(|w| numeric(w)) {
        if let Some(w) = words.iter().find(|w| w.parse::<i64>().is_err()) {
            return Err(format!("has the value {w}, which overflows a 64-bit integer"));
        }
        return Ok(());
    }
    let word_ok = |w: &str| w.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if words.len() == 1 && word_ok(words[0]) && s.trim() == s {
        return Ok(());
    }
    Err(format!(
        "has the value {s:?}, which is neither integers separated by spaces nor one word of letters, digits and _ . : -"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in [
            "net.ipv4.ip_forward",
            "net.ipv4.conf.all.forwarding",
            "net.ipv6.conf.eth0.100.mtu",
            "net.ipv4.conf.Eth-0.rp_filter",
            "net.core.somaxconn",
            "net.netfilter.nf_conntrack_max",
        ] {
            assert_eq!(key_problem(ok), None, "{ok}");
        }
        for bad in [
            "kernel.panic",
            "net.ipv4..x",
            "net.ipv4.ip_forward.",
            "net.IPv4.ip_forward",
            "net.ipv4/../../kernel",
            "net.ipv4.conf.x%d.rp_filter",
            "net.ipv4.conf.averyveryverylongname.rp_filter",
            "net.ipv4.conf.eth0",
            "net.ipv4.conf.eth0.RP",
        ] {
            assert!(key_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn paths_keep_the_dots_of_interface_names() {
        assert_eq!(key_path("net.ipv4.conf.eth0.100.rp_filter"), "net/ipv4/conf/eth0.100/rp_filter");
        assert_eq!(key_path("net.ipv4.conf.all.forwarding"), "net/ipv4/conf/all/forwarding");
        assert_eq!(key_path("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
    }

    #[test]
    fn per_interface_keys_are_probed_as_default() {
        assert_eq!(probe_key("net.ipv4.conf.eth0.100.rp_filter"), "net.ipv4.conf.default.rp_filter");
        assert_eq!(probe_key("net.ipv6.neigh.v-eth.gc_stale_time"), "net.ipv6.neigh.default.gc_stale_time");
        assert_eq!(probe_key("net.ipv4.conf.all.forwarding"), "net.ipv4.conf.all.forwarding");
        assert_eq!(probe_key("net.core.somaxconn"), "net.core.somaxconn");
    }

    #[test]
    fn values() {
        let s = |x: &str| value_text(&toml::Value::String(x.into()));
        assert_eq!(s("4096 87380 6291456"), Ok("4096 87380 6291456".into()));
        assert_eq!(s("cubic"), Ok("cubic".into()));
        assert_eq!(s("-1"), Ok("-1".into()));
        assert!(s("9223372036854775808").is_err());
        assert!(s("1 99999999999999999999").is_err());
        assert!(s("a\0b").is_err());
        assert!(s("1\r").is_err());
        assert!(s("1\n2").is_err());
        assert!(s("").is_err());
        assert!(s("two words").is_err());
        assert!(s("$(reboot)").is_err());
        assert!(value_text(&toml::Value::Float(1.5)).is_err());
        assert_eq!(value_text(&toml::Value::Boolean(true)), Ok("1".into()));
    }
}
