//! The pure half of the iptables fallback: the lab's rules as `iptables-restore` input, in
//! chains of the lab's own (`NL-LAB-FWD`, `-IN`, `-PRE`, `-POST`) jumped to from the built-in
//! chains, and the `iptables-save` output read back. Each rule carries the canonical text as
//! its comment, prefixed by its position in `Firewall::listing`, so the kernel's copy reads
//! back into the same listing as nftables'. Kept apart from the commands so it is tested
//! without root.

use crate::model::firewall::{Action, CtState, Firewall, Nat, Proto, Rule};
use ipnetwork::IpNetwork;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub(super) fn save(self) -> &'static str {
        if self == Family::V4 {
            "iptables-save"
        } else {
            "ip6tables-save"
        }
    }
    pub(super) fn restore(self) -> &'static str {
        if self == Family::V4 {
            "iptables-restore"
        } else {
            "ip6tables-restore"
        }
    }
    fn of_net(n: &IpNetwork) -> Family {
        if n.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
    fn of_ip(ip: &IpAddr) -> Family {
        if ip.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// (table, built-in chain, our chain suffix) of each chain netlab uses.
const CHAINS: [(&str, &str, &str, &str); 4] = [
    ("nat", "PREROUTING", "PRE", "prerouting"),
    ("nat", "POSTROUTING", "POST", "postrouting"),
    ("filter", "FORWARD", "FWD", "forward"),
    ("filter", "INPUT", "IN", "input"),
];

fn chain(lab: &str, suffix: &str) -> String {
    format!("NL-{lab}-{suffix}")
}

fn ours(lab: &str, canonical: &str) -> String {
    chain(lab, CHAINS.iter().find(|c| c.3 == canonical).expect("known chain").2)
}

fn comment(index: usize, text: &str) -> String {
    format!("-m comment --comment \"netlab {index}: {}\"", text.replace('"', "'"))
}

/// The families a filter rule applies to.
fn rule_families(r: &Rule) -> Vec<Family> {
    if let Some(n) = r.from.as_ref().or(r.to.as_ref()) {
        return vec![Family::of_net(n)];
    }
    match r.proto {
        Some(Proto::Icmp) => vec![Family::V4],
        Some(Proto::Icmpv6) => vec![Family::V6],
        _ => vec![Family::V4, Family::V6],
    }
}

fn filter_args(r: &Rule, fam: Family) -> String {
    let mut a = Vec::new();
    if let Some(i) = &r.iif {
        a.push(format!("-i {i}"));
    }
    if let Some(o) = &r.oif {
        a.push(format!("-o {o}"));
    }
    if let Some(n) = &r.from {
        a.push(format!("-s {n}"));
    }
    if let Some(n) = &r.to {
        a.push(format!("-d {n}"));
    }
    if let Some(p) = r.proto {
        let name = match p {
            Proto::Icmpv6 => "ipv6-icmp",
            other => other.name(),
        };
        a.push(format!("-p {name}"));
        if let Some(port) = r.port {
            a.push(format!("--dport {port}"));
        }
    }
    if !r.states.is_empty() {
        let s: Vec<&str> = r
            .states
            .iter()
            .map(|s| match s {
                CtState::Established => "ESTABLISHED",
                CtState::Related => "RELATED",
                CtState::New => "NEW",
                CtState::Invalid => "INVALID",
            })
            .collect();
        a.push(format!("-m conntrack --ctstate {}", s.join(",")));
    }
    let target = match r.action.unwrap_or(Action::Accept) {
        Action::Accept => "-j ACCEPT".to_string(),
        Action::Drop => "-j DROP".to_string(),
        Action::Reject if r.proto == Some(Proto::Tcp) => "-j REJECT --reject-with tcp-reset".to_string(),
        Action::Reject if fam == Family::V6 => "-j REJECT --reject-with icmp6-port-unreachable".to_string(),
        Action::Reject => "-j REJECT --reject-with icmp-port-unreachable".to_string(),
    };
    a.push(target);
    a.join(" ")
}

fn nat_line(n: &Nat) -> (Family, String) {
    match n {
        Nat::Masquerade { from, out } => (Family::of_net(from), format!("-s {from} -o {out} -j MASQUERADE")),
        Nat::Snat { from, out, to } => {
            (Family::of_net(from), format!("-s {from} -o {out} -j SNAT --to-source {to}"))
        }
        Nat::Dnat { iif, proto, port, to } => {
            let dest = match to {
                SocketAddr::V4(v) => v.to_string(),
                SocketAddr::V6(v) => format!("[{}]:{}", v.ip(), v.port()),
            };
            (
                Family::of_ip(&to.ip()),
                format!("-i {iif} -p {} --dport {port} -j DNAT --to-destination {dest}", proto.name()),
            )
        }
    }
}

/// Every rule line (`-A CHAIN ...`) of one family, in listing order, by table.
pub fn rules(lab: &str, fw: &Firewall, fam: Family) -> BTreeMap<&'static str, Vec<String>> {
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let listing = fw.listing();
    let index_of = |line: &str| listing.iter().position(|l| l == line).expect("line of the listing");
    // Filter rules, in the order `rules()` lists them.
    let mut fwd = fw.forward.iter();
    let mut inp = fw.input.iter();
    for (chain_name, text) in fw.rules() {
        let line = format!("{chain_name}: {text}");
        let idx = index_of(&line);
        let (table, fam_ok, args) = match chain_name {
            "prerouting" | "postrouting" => {
                // `rules()` sorts nat rules by chain: find each by its text.
                let n = fw.nat.iter().find(|n| n.to_string() == text).expect("nat rule");
                let (f, a) = nat_line(n);
                ("nat", f == fam, a)
            }
            "forward" => {
                let r = fwd.next().expect("forward rule");
                ("filter", rule_families(r).contains(&fam), filter_args(r, fam))
            }
            _ => {
                let r = inp.next().expect("input rule");
                ("filter", rule_families(r).contains(&fam), filter_args(r, fam))
            }
        };
        if fam_ok {
            out.entry(table).or_default().push(format!(
                "-A {} {} {args}",
                ours(lab, chain_name),
                comment(idx, &line)
            ));
        }
    }
    // The policies close our filter chains: DROP, or RETURN to the built-in chain's own.
    for (canonical, policy) in [("forward", fw.forward_policy), ("input", fw.input_policy)] {
        let line =
            format!("chain {canonical} policy {}", if policy == Action::Drop { "drop" } else { "accept" });
        let target = if policy == Action::Drop { "DROP" } else { "RETURN" };
        out.entry("filter").or_default().push(format!(
            "-A {} {} -j {target}",
            ours(lab, canonical),
            comment(index_of(&line), &line)
        ));
    }
    out
}

/// The `*-restore --noflush` input that (re)loads the lab's chains. `saved` is the current
/// `*-save` output, to add each jump from a built-in chain only once.
pub fn restore_input(lab: &str, fw: &Firewall, fam: Family, saved: &str) -> String {
    let rules = rules(lab, fw, fam);
    let mut s = String::new();
    for table in ["nat", "filter"] {
        s.push_str(&format!("*{table}\n"));
        for (_, builtin, suffix, _) in CHAINS.iter().filter(|c| c.0 == table) {
            // Declaring a chain under --noflush empties it: the reload is complete.
            s.push_str(&format!(":{} - [0:0]\n", chain(lab, suffix)));
            let jump = format!("-A {builtin} -j {}", chain(lab, suffix));
            if !saved.lines().any(|l| l.trim() == jump) {
                s.push_str(&format!("{jump}\n"));
            }
        }
        for line in rules.get(table).into_iter().flatten() {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("COMMIT\n");
    }
    s
}

/// The input that removes the lab's chains and the jumps to them.
pub fn teardown_input(lab: &str, saved: &str) -> String {
    let mut s = String::new();
    for table in ["nat", "filter"] {
        let mine: Vec<_> = CHAINS
            .iter()
            .filter(|c| c.0 == table && saved.contains(&format!(":{} ", chain(lab, c.2))))
            .collect();
        if mine.is_empty() {
            continue;
        }
        s.push_str(&format!("*{table}\n"));
        for (_, builtin, suffix, _) in &mine {
            let jump = format!("-A {builtin} -j {}", chain(lab, suffix));
            for _ in saved.lines().filter(|l| l.trim() == jump) {
                s.push_str(&format!("-D {builtin} -j {}\n", chain(lab, suffix)));
            }
        }
        for (_, _, suffix, _) in &mine {
            s.push_str(&format!("-F {}\n-X {}\n", chain(lab, suffix), chain(lab, suffix)));
        }
        s.push_str("COMMIT\n");
    }
    s
}

/// The families a line of the canonical listing is loaded into, read off its own text.
fn families_of(line: &str) -> Vec<Family> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    if has("ip6") || has("icmpv6") || line.contains("dnat to [") {
        vec![Family::V6]
    } else if has("ip") || has("icmp") || line.contains(" dnat to ") {
        vec![Family::V4]
    } else {
        vec![Family::V4, Family::V6]
    }
}

/// Reads the lab's chains back into the canonical listing; `None` when it has none.
/// `saves`: the iptables-save then the ip6tables-save output. A line missing from one family
/// it belongs to is marked, so that the listing differs and `up` reloads.
pub fn listing_from_saves(lab: &str, saves: &[String]) -> Option<Vec<String>> {
    // Exact chain names: lab "a" must not read lab "a-b"'s chains.
    let chains: Vec<String> = CHAINS.iter().map(|c| chain(lab, c.2)).collect();
    let mut lines: BTreeMap<usize, (String, Vec<Family>)> = BTreeMap::new();
    let mut any = false;
    for (save, fam) in saves.iter().zip([Family::V4, Family::V6]) {
        for l in save.lines() {
            let mut words = l.split_whitespace();
            let (first, second) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            if chains.iter().any(|c| first == format!(":{c}")) {
                any = true;
            }
            if first != "-A" || !chains.iter().any(|c| c == second) {
                continue;
            }
            let text = l.split("--comment ").nth(1).map(|c| {
                let c = c.trim_start_matches('"');
                c.split('"').next().unwrap_or(c).to_string()
            });
            let (idx, text) = match text
                .as_deref()
                .and_then(|t| t.strip_prefix("netlab "))
                .and_then(|t| t.split_once(": "))
            {
                Some((idx, rest)) if idx.parse::<usize>().is_ok() => {
                    (idx.parse().expect("checked"), rest.replace('\'', "\""))
                }
                _ => (usize::MAX - lines.len(), "(a rule not made by netlab)".to_string()),
            };
            lines.entry(idx).or_insert_with(|| (text, Vec::new())).1.push(fam);
        }
    }
    let out = lines
        .into_values()
        .map(|(text, seen)| {
            let missing: Vec<&str> =
                families_of(&text).into_iter().filter(|f| !seen.contains(f)).map(|f| f.save()).collect();
            if missing.is_empty() || text.starts_with('(') {
                text
            } else {
                format!("{text} (missing from {})", missing.join(", "))
            }
        })
        .collect();
    any.then_some(out)
}
