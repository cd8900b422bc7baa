//! A seeded generator of valid topologies and of valid edits to them. Valid by construction:
//! disjoint subnets per link (one per switch), unique addresses, routes only via a subnet the
//! node is on, per-interface sysctls only of interfaces the node has, no MTU below 1280 on a
//! link with IPv6 addresses, at most one route per destination and family in a node.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// xorshift64*: small, seeded, good enough to pick edits.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Never zero; spread small seeds apart.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability 1/n.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

#[derive(Clone, Debug)]
pub struct Route {
    pub to: String,
    pub via: String,
    pub dev: Option<String>,
    pub metric: Option<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct Node {
    pub switch: bool,
    pub forward: bool,
    pub sysctls: BTreeMap<String, u32>,
    pub routes: Vec<Route>,
}

/// A link end: a switch end has no addresses and maybe no port name.
#[derive(Clone, Debug)]
pub struct End {
    pub node: String,
    pub iface: Option<String>,
    pub addrs: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Link {
    pub ends: [End; 2],
    pub mtu: Option<u32>,
    /// The subnet number: the link's own, or its switch's.
    pub subnet: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Topo {
    pub nodes: BTreeMap<String, Node>,
    pub links: Vec<Link>,
    /// Names, subnets and host numbers are never reused.
    counter: u32,
    switch_subnet: BTreeMap<String, u32>,
    used_hosts: BTreeMap<(u32, bool), BTreeSet<u32>>,
}

pub fn v4(subnet: u32, host: u32) -> String {
    format!("10.{}.{}.{host}/24", subnet >> 8, subnet & 255)
}

pub fn v6(subnet: u32, host: u32) -> String {
    format!("fd00:{subnet:x}::{host:x}/64")
}

/// (subnet number, is v6) of an address this generator made.
fn subnet_of(addr: &str) -> (u32, bool) {
    let ip = addr.split('/').next().unwrap();
    if let Some(rest) = ip.strip_prefix("fd00:") {
        (u32::from_str_radix(rest.split(':').next().unwrap(), 16).unwrap(), true)
    } else {
        let o: Vec<u32> = ip.split('.').map(|x| x.parse().unwrap()).collect();
        ((o[1] << 8) | o[2], false)
    }
}

fn host_ip(addr: &str) -> &str {
    addr.split('/').next().unwrap()
}

/// Namespace-wide sysctls and the values they take.
const NS_SYSCTLS: &[(&str, &[u32])] = &[
    ("net.ipv4.ip_forward", &[0, 1]),
    ("net.ipv4.conf.all.accept_redirects", &[0, 1]),
    ("net.ipv6.conf.all.forwarding", &[0, 1]),
    ("net.ipv4.conf.all.rp_filter", &[0, 1, 2]),
    ("net.ipv4.icmp_echo_ignore_broadcasts", &[0, 1]),
];

/// Per-interface sysctls (IF stands for the interface) and their values.
const IF_SYSCTLS: &[(&str, &[u32])] = &[
    ("net.ipv4.conf.IF.rp_filter", &[0, 1, 2]),
    ("net.ipv4.conf.IF.arp_ignore", &[0, 1, 2]),
    ("net.ipv6.conf.IF.mtu", &[1280, 1300, 1400]),
    ("net.ipv6.conf.IF.hop_limit", &[32, 100]),
];

/// Whether `NETLAB_RANDOM_WITHOUT` leaves `what` out.
fn without(what: &str) -> bool {
    std::env::var("NETLAB_RANDOM_WITHOUT").unwrap_or_default().split(',').any(|w| w.trim() == what)
}

/// The sysctls of `pool` that `NETLAB_RANDOM_WITHOUT` does not leave out.
fn allowed(pool: &'static [(&'static str, &'static [u32])]) -> Vec<(&'static str, &'static [u32])> {
    pool.iter().filter(|(k, _)| !without(k)).copied().collect()
}

/// The interface a per-interface sysctl key names, if it is one.
pub fn sysctl_iface(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("net.ipv4.conf.").or_else(|| key.strip_prefix("net.ipv6.conf."))?;
    let iface = rest.split('.').next()?;
    (iface != "all" && iface != "default").then_some(iface)
}

impl Topo {
    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{what}{}", self.counter)
    }

    fn host(&mut self, subnet: u32, six: bool, rng: &mut Rng) -> u32 {
        let used = self.used_hosts.entry((subnet, six)).or_default();
        loop {
            let h = 1 + rng.below(200) as u32;
            if used.insert(h) {
                return h;
            }
        }
    }

    fn addr(&mut self, subnet: u32, six: bool, rng: &mut Rng) -> String {
        let h = self.host(subnet, six, rng);
        if six {
            v6(subnet, h)
        } else {
            v4(subnet, h)
        }
    }

    fn netns_nodes(&self) -> Vec<String> {
        self.nodes.iter().filter(|(_, n)| !n.switch).map(|(k, _)| k.clone()).collect()
    }

    fn switches(&self) -> Vec<String> {
        self.nodes.iter().filter(|(_, n)| n.switch).map(|(k, _)| k.clone()).collect()
    }

    /// The interfaces of a netns node with their addresses and link mtu.
    pub fn ifaces(&self, node: &str) -> Vec<(String, Vec<String>, u32)> {
        let mut out = Vec::new();
        for l in &self.links {
            for e in &l.ends {
                if e.node == node && !self.nodes[node].switch {
                    out.push((e.iface.clone().unwrap(), e.addrs.clone(), l.mtu.unwrap_or(1500)));
                }
            }
        }
        out
    }

    /// A random initial topology: 3–4 nodes, 0–1 switch, a chain through them and extras.
    pub fn generate(rng: &mut Rng) -> Topo {
        let mut t = Topo::default();
        let n = 3 + rng.below(2);
        for _ in 0..n {
            let name = t.fresh("n");
            t.nodes.insert(name, Node::default());
        }
        if rng.one_in(2) {
            let name = t.fresh("s");
            t.nodes.insert(name, Node { switch: true, ..Node::default() });
        }
        let names: Vec<String> = t.nodes.keys().cloned().collect();
        for w in names.windows(2) {
            let (a, b) = (w[0].clone(), w[1].clone());
            t.add_link_between(&a, &b, rng);
        }
        for _ in 0..1 + rng.below(2) {
            t.add_link(rng);
        }
        for _ in 0..2 + rng.below(3) {
            t.add_route(rng);
        }
        for _ in 0..2 + rng.below(3) {
            t.add_sysctl(rng);
        }
        for l in 0..t.links.len() {
            if rng.one_in(3) {
                t.set_mtu_of(l, rng);
            }
        }
        t.repair();
        t
    }

    /// A link between `a` and `b` (one of them may be a switch) with fresh names and a fresh
    /// subnet, ends in random order. False when it cannot be made (two switches, a node
    /// already on that switch).
    fn add_link_between(&mut self, a: &str, b: &str, rng: &mut Rng) -> bool {
        let (sa, sb) = (self.nodes[a].switch, self.nodes[b].switch);
        if a == b || (sa && sb) {
            return false;
        }
        let sw = if sa {
            Some(a)
        } else if sb {
            Some(b)
        } else {
            None
        };
        let subnet = match sw {
            Some(s) => {
                let host = if sa { b } else { a };
                if self
                    .links
                    .iter()
                    .any(|l| l.ends.iter().any(|e| e.node == s) && l.ends.iter().any(|e| e.node == host))
                {
                    return false;
                }
                match self.switch_subnet.get(s) {
                    Some(n) => *n,
                    None => {
                        self.counter += 1;
                        let n = self.counter;
                        self.switch_subnet.insert(s.to_string(), n);
                        n
                    }
                }
            }
            None => {
                self.counter += 1;
                self.counter
            }
        };
        let end = |t: &mut Topo, node: &str, is_switch: bool, rng: &mut Rng| {
            if is_switch {
                let iface = rng.one_in(2).then(|| t.fresh("p"));
                return End { node: node.to_string(), iface, addrs: Vec::new() };
            }
            let iface = t.fresh("e");
            let mut addrs = Vec::new();
            if !rng.one_in(5) {
                addrs.push(t.addr(subnet, false, rng));
            }
            if rng.one_in(2) {
                addrs.push(t.addr(subnet, true, rng));
            }
            End { node: node.to_string(), iface: Some(iface), addrs }
        };
        let ea = end(self, a, sa, rng);
        let eb = end(self, b, sb, rng);
        let ends = if rng.one_in(2) { [ea, eb] } else { [eb, ea] };
        self.links.push(Link { ends, mtu: None, subnet });
        true
    }

    fn add_link(&mut self, rng: &mut Rng) -> String {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for _ in 0..20 {
            let (a, b) = (rng.pick(&names).clone(), rng.pick(&names).clone());
            if self.add_link_between(&a, &b, rng) {
                let l = self.links.last().unwrap();
                let mut desc = format!("add link {}", link_name(l));
                if rng.one_in(2) {
                    // A sysctl of an interface this same edit creates.
                    if let Some(e) = l.ends.iter().find(|e| !self.nodes[&e.node].switch).cloned() {
                        let key = self.add_if_sysctl(&e.node, e.iface.as_deref().unwrap(), rng);
                        if let Some(k) = key {
                            let _ = write!(desc, " with {}: {k}", e.node);
                        }
                    }
                }
                return desc;
            }
        }
        String::new()
    }

    fn add_if_sysctl(&mut self, node: &str, iface: &str, rng: &mut Rng) -> Option<String> {
        let pool = allowed(IF_SYSCTLS);
        if pool.is_empty() {
            return None;
        }
        let (key, vals) = rng.pick(&pool);
        let key = key.replace("IF", iface);
        let v = *rng.pick(vals);
        self.nodes.get_mut(node).unwrap().sysctls.insert(key.clone(), v);
        self.repair();
        self.nodes[node].sysctls.get(&key).map(|v| format!("{key} = {v}"))
    }

    fn add_route(&mut self, rng: &mut Rng) -> String {
        let nodes = self.netns_nodes();
        for _ in 0..20 {
            let node = rng.pick(&nodes).clone();
            let ifaces = self.ifaces(&node);
            let cands: Vec<(String, String)> =
                ifaces.iter().flat_map(|(i, a, _)| a.iter().map(|a| (i.clone(), a.clone()))).collect();
            if cands.is_empty() {
                continue;
            }
            let (iface, mine) = rng.pick(&cands).clone();
            let (subnet, six) = subnet_of(&mine);
            // A neighbour's address on that subnet (never one of the node's own), or one
            // nobody holds.
            let peers: Vec<String> = self
                .links
                .iter()
                .flat_map(|l| l.ends.iter())
                .filter(|e| e.node != node)
                .flat_map(|e| e.addrs.iter())
                .filter(|a| subnet_of(a) == (subnet, six))
                .cloned()
                .collect();
            let via = match peers.is_empty() {
                true => host_ip(&self.addr(subnet, six, rng)).to_string(),
                false => host_ip(rng.pick::<String>(&peers)).to_string(),
            };
            let d = 1 + rng.below(40) as u32;
            let to = match (rng.one_in(3), six) {
                (true, _) => "default".to_string(),
                (false, false) => format!("172.16.{d}.0/24"),
                (false, true) => format!("fd99:{d:x}::/64"),
            };
            let n = &self.nodes[&node];
            if n.routes.iter().any(|r| r.to == to && r.via.contains(':') == six) {
                continue;
            }
            let dev = rng.one_in(3).then(|| iface.clone());
            let metric = match rng.below(4) {
                0 | 1 => None,
                2 if six && without("ipv6-metric-0") => None,
                2 => Some(0),
                _ => Some(1 + rng.below(300) as u32),
            };
            let r = Route { to, via, dev, metric };
            let desc = format!("add route {node}: {}", route_toml(&r));
            self.nodes.get_mut(&node).unwrap().routes.push(r);
            return desc;
        }
        String::new()
    }

    fn add_sysctl(&mut self, rng: &mut Rng) -> String {
        let nodes = self.netns_nodes();
        let node = rng.pick(&nodes).clone();
        let ifaces = self.ifaces(&node);
        if rng.one_in(2) && !ifaces.is_empty() {
            let iface = rng.pick(&ifaces).0.clone();
            return match self.add_if_sysctl(&node, &iface, rng) {
                Some(k) => format!("set sysctl {node}: {k}"),
                None => String::new(),
            };
        }
        if rng.one_in(5) {
            let n = self.nodes.get_mut(&node).unwrap();
            n.forward = !n.forward;
            let f = n.forward;
            self.repair();
            return format!("set forward = {f} on {node}");
        }
        let pool = allowed(NS_SYSCTLS);
        if pool.is_empty() {
            return String::new();
        }
        let (key, vals) = *rng.pick(&pool);
        let v = *rng.pick(vals);
        self.nodes.get_mut(&node).unwrap().sysctls.insert(key.to_string(), v);
        self.repair();
        match self.nodes[&node].sysctls.contains_key(key) {
            true => format!("set sysctl {node}: {key} = {v}"),
            false => String::new(),
        }
    }

    fn set_mtu_of(&mut self, l: usize, rng: &mut Rng) -> String {
        let has_v6 = self.links[l].ends.iter().any(|e| e.addrs.iter().any(|a| a.contains(':')));
        let mut choices = vec![None, Some(1280), Some(1400), Some(1500), Some(9000)];
        if !has_v6 {
            choices.push(Some(1200));
        }
        let mtu = *rng.pick(&choices);
        self.links[l].mtu = mtu;
        self.repair();
        format!("mtu of {} = {mtu:?}", link_name(&self.links[l]))
    }

    /// Drops what an edit made invalid: links of removed nodes, per-interface sysctls of
    /// interfaces that are gone (or where the kernel has no IPv6), IPv6 mtus above the link's,
    /// routes whose gateway is on no subnet of the node (or not of `dev`), the forwarding keys
    /// that `forward = true` sets.
    fn repair(&mut self) {
        let nodes = self.nodes.clone();
        self.links.retain(|l| l.ends.iter().all(|e| nodes.contains_key(&e.node)));
        for name in self.netns_nodes() {
            let ifaces = self.ifaces(&name);
            let node = self.nodes.get_mut(&name).unwrap();
            if node.forward {
                node.sysctls.remove("net.ipv4.ip_forward");
                node.sysctls.remove("net.ipv6.conf.all.forwarding");
            }
            node.sysctls.retain(|k, v| {
                let Some(i) = sysctl_iface(k) else { return true };
                let Some((_, _, mtu)) = ifaces.iter().find(|f| f.0 == i) else { return false };
                if k.starts_with("net.ipv6.") && *mtu < 1280 {
                    return false;
                }
                !(k.ends_with(".mtu") && *v > *mtu)
            });
            node.routes.retain(|r| {
                let six = r.via.contains(':');
                ifaces.iter().any(|(i, addrs, _)| {
                    r.dev.as_ref().is_none_or(|d| d == i)
                        && addrs.iter().any(|a| {
                            let (s, f) = subnet_of(a);
                            f == six && subnet_of(&format!("{}/x", r.via)) == (s, f)
                        })
                })
            });
        }
    }

    /// One random valid edit (sometimes two at once); returns what it did.
    pub fn edit(&mut self, rng: &mut Rng) -> String {
        let n = if rng.one_in(4) { 2 } else { 1 };
        let mut descs = Vec::new();
        for _ in 0..n {
            loop {
                let d = self.edit_once(rng);
                if !d.is_empty() {
                    descs.push(d);
                    break;
                }
            }
        }
        self.repair();
        descs.join("; ")
    }

    fn edit_once(&mut self, rng: &mut Rng) -> String {
        let netns = self.netns_nodes();
        match rng.below(15) {
            0 => {
                let switch = rng.one_in(4) && self.switches().len() < 2;
                let name = self.fresh(if switch { "s" } else { "n" });
                self.nodes.insert(name.clone(), Node { switch, ..Node::default() });
                let others: Vec<String> = self.nodes.keys().filter(|k| **k != name).cloned().collect();
                let peer = rng.pick(&others).clone();
                self.add_link_between(&name, &peer, rng);
                format!("add node {name} linked to {peer}")
            }
            1 if netns.len() > 2 => {
                let all: Vec<String> = self.nodes.keys().cloned().collect();
                let name = rng.pick(&all).clone();
                self.nodes.remove(&name);
                self.switch_subnet.remove(&name);
                self.repair();
                format!("remove node {name}")
            }
            2 => self.add_link(rng),
            3 if !self.links.is_empty() => {
                let l = self.links.remove(rng.below(self.links.len()));
                self.repair();
                format!("remove link {}", link_name(&l))
            }
            4 if !self.links.is_empty() => {
                let i = rng.below(self.links.len());
                self.links[i].ends.swap(0, 1);
                format!("swap the ends of {}", link_name(&self.links[i]))
            }
            5 => self.rename(rng),
            6..=8 => self.edit_address(rng),
            9 if !self.links.is_empty() => {
                let i = rng.below(self.links.len());
                self.set_mtu_of(i, rng)
            }
            10 => self.add_route(rng),
            11 => {
                let with: Vec<String> =
                    netns.iter().filter(|n| !self.nodes[*n].routes.is_empty()).cloned().collect();
                if with.is_empty() {
                    return String::new();
                }
                let node = rng.pick(&with).clone();
                let routes = &mut self.nodes.get_mut(&node).unwrap().routes;
                let r = routes.remove(rng.below(routes.len()));
                format!("remove route {node}: {}", route_toml(&r))
            }
            12 => self.add_sysctl(rng),
            13 => self.move_end(rng),
            _ => {
                let with: Vec<String> =
                    netns.iter().filter(|n| !self.nodes[*n].sysctls.is_empty()).cloned().collect();
                if with.is_empty() {
                    return String::new();
                }
                let node = rng.pick(&with).clone();
                let keys: Vec<String> = self.nodes[&node].sysctls.keys().cloned().collect();
                let key = rng.pick(&keys).clone();
                self.nodes.get_mut(&node).unwrap().sysctls.remove(&key);
                format!("remove sysctl {node}: {key}")
            }
        }
    }

    /// Renames a netns node's interface or a named switch port, with its sysctls and routes.
    fn rename(&mut self, rng: &mut Rng) -> String {
        let ends: Vec<(usize, usize)> = (0..self.links.len())
            .flat_map(|l| (0..2).map(move |e| (l, e)))
            .filter(|(l, e)| self.links[*l].ends[*e].iface.is_some())
            .collect();
        if ends.is_empty() {
            return String::new();
        }
        let (l, e) = *rng.pick(&ends);
        let is_switch = self.nodes[&self.links[l].ends[e].node].switch;
        let new = self.fresh(if is_switch { "p" } else { "r" });
        let end = &mut self.links[l].ends[e];
        let old = end.iface.replace(new.clone()).unwrap();
        let node = end.node.clone();
        let n = self.nodes.get_mut(&node).unwrap();
        n.sysctls = std::mem::take(&mut n.sysctls)
            .into_iter()
            .map(|(k, v)| match sysctl_iface(&k) == Some(old.as_str()) {
                true => (k.replacen(&format!(".{old}."), &format!(".{new}."), 1), v),
                false => (k, v),
            })
            .collect();
        for r in &mut n.routes {
            if r.dev.as_deref() == Some(old.as_str()) {
                r.dev = Some(new.clone());
            }
        }
        format!("rename {node}:{old} to {new}")
    }

    /// Moves a netns end of a link to another node, with its name (when free there) and
    /// addresses.
    fn move_end(&mut self, rng: &mut Rng) -> String {
        let ends: Vec<(usize, usize)> = (0..self.links.len())
            .flat_map(|l| (0..2).map(move |e| (l, e)))
            .filter(|(l, e)| !self.nodes[&self.links[*l].ends[*e].node].switch)
            .collect();
        if ends.is_empty() {
            return String::new();
        }
        let (l, e) = *rng.pick(&ends);
        let (from, other) = (self.links[l].ends[e].node.clone(), self.links[l].ends[1 - e].node.clone());
        let on_switch = self.nodes[&other].switch;
        let to: Vec<String> = self
            .netns_nodes()
            .into_iter()
            .filter(|n| *n != from && *n != other)
            .filter(|n| {
                !on_switch
                    || !self.links.iter().any(|k| {
                        k.ends.iter().any(|x| x.node == other) && k.ends.iter().any(|x| x.node == *n)
                    })
            })
            .collect();
        if to.is_empty() {
            return String::new();
        }
        let to = rng.pick(&to).clone();
        let old = self.links[l].ends[e].iface.clone().unwrap();
        let iface = match self.ifaces(&to).iter().any(|i| i.0 == old) {
            true => self.fresh("m"),
            false => old.clone(),
        };
        self.links[l].ends[e].node = to.clone();
        self.links[l].ends[e].iface = Some(iface.clone());
        self.repair();
        format!("move {from}:{old} to {to}:{iface}")
    }

    /// Changes, removes or adds an address of a netns end.
    fn edit_address(&mut self, rng: &mut Rng) -> String {
        let ends: Vec<(usize, usize)> = (0..self.links.len())
            .flat_map(|l| (0..2).map(move |e| (l, e)))
            .filter(|(l, e)| !self.nodes[&self.links[*l].ends[*e].node].switch)
            .collect();
        if ends.is_empty() {
            return String::new();
        }
        let (l, e) = *rng.pick(&ends);
        let subnet = self.links[l].subnet;
        let mtu = self.links[l].mtu.unwrap_or(1500);
        let addrs = self.links[l].ends[e].addrs.clone();
        let at =
            format!("{}:{}", self.links[l].ends[e].node, self.links[l].ends[e].iface.as_deref().unwrap());
        let desc = match rng.below(3) {
            0 if !addrs.is_empty() => {
                let i = rng.below(addrs.len());
                let six = addrs[i].contains(':');
                let new = self.addr(subnet, six, rng);
                self.links[l].ends[e].addrs[i] = new.clone();
                format!("change address {at} {} to {new}", addrs[i])
            }
            1 if !addrs.is_empty() => {
                let i = rng.below(addrs.len());
                self.links[l].ends[e].addrs.remove(i);
                format!("remove address {at} {}", addrs[i])
            }
            _ => {
                // IPv6 only where the MTU allows it; a second IPv4 address is a secondary.
                let six = mtu >= 1280 && !addrs.iter().any(|a| a.contains(':')) && rng.one_in(2);
                let new = self.addr(subnet, six, rng);
                self.links[l].ends[e].addrs.push(new.clone());
                format!("add address {at} {new}")
            }
        };
        self.repair();
        desc
    }

    /// The topology file's body (without `name` and `prefix`).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (name, n) in &self.nodes {
            let _ = writeln!(s, "[nodes.{name}]");
            if n.switch {
                s.push_str("kind = \"switch\"\n");
                continue;
            }
            if n.forward {
                s.push_str("forward = true\n");
            }
            if !n.sysctls.is_empty() {
                let kv: Vec<String> = n.sysctls.iter().map(|(k, v)| format!("\"{k}\" = {v}")).collect();
                let _ = writeln!(s, "sysctls = {{ {} }}", kv.join(", "));
            }
            if !n.routes.is_empty() {
                let rs: Vec<String> = n.routes.iter().map(route_toml).collect();
                let _ = writeln!(s, "routes = [{}]", rs.join(", "));
            }
        }
        for l in &self.links {
            let ep: Vec<String> = l
                .ends
                .iter()
                .map(|e| match &e.iface {
                    Some(i) => format!("\"{}:{i}\"", e.node),
                    None => format!("\"{}\"", e.node),
                })
                .collect();
            let ad: Vec<String> = l
                .ends
                .iter()
                .map(|e| match e.addrs.len() {
                    0 => "\"\"".to_string(),
                    1 => format!("\"{}\"", e.addrs[0]),
                    _ => format!(
                        "[{}]",
                        e.addrs.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ")
                    ),
                })
                .collect();
            let _ =
                write!(s, "\n[[links]]\nendpoints = [{}]\naddresses = [{}]\n", ep.join(", "), ad.join(", "));
            if let Some(m) = l.mtu {
                let _ = writeln!(s, "mtu = {m}");
            }
        }
        s
    }
}

/// A route as the file writes it.
fn route_toml(r: &Route) -> String {
    let mut x = format!("{{ to = \"{}\", via = \"{}\"", r.to, r.via);
    if let Some(d) = &r.dev {
        let _ = write!(x, ", dev = \"{d}\"");
    }
    if let Some(m) = r.metric {
        let _ = write!(x, ", metric = {m}");
    }
    x + " }"
}

fn link_name(l: &Link) -> String {
    let e = |e: &End| match &e.iface {
        Some(i) => format!("{}:{i}", e.node),
        None => e.node.clone(),
    };
    format!("{} <-> {}", e(&l.ends[0]), e(&l.ends[1]))
}
