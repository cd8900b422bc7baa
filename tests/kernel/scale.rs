//! The big path, kept honest without timing it: a 2000-node chain (2000 namespaces, 1999 veth
//! pairs with /31 addresses) comes up, matches its file (`plan` exits 0), takes an edit of one
//! link as exactly that change, and `down` leaves nothing. No time is asserted: the
//! benchmark (`scripts/bench.sh`) measures; this proves the same path correct at scale.

use crate::support::*;

const NODES: usize = 2000;

/// Address `end` (0 or 1) of link `i` (1-based): the i-th /31 above 10.100.0.0.
fn addr(i: usize, end: usize) -> String {
    let b = 2 * (i - 1) + end;
    format!("10.{}.{}.{}", 100 + b / 65536, b / 256 % 256, b % 256)
}

fn chain(n: usize, edited: Option<usize>) -> String {
    let mut s = String::new();
    for i in 1..=n {
        s.push_str(&format!("[nodes.n{i}]\n"));
    }
    s + &chain_links(n, edited)
}

/// The links of a chain of `n` nodes: n1:r — n2:l, n2:r — n3:l, ...
fn chain_links(n: usize, edited: Option<usize>) -> String {
    let mut s = String::new();
    for i in 1..n {
        // The edited link moves to another /31, far above the chain's.
        let (a, b) = match edited {
            Some(e) if e == i => ("10.250.0.0".to_string(), "10.250.0.1".to_string()),
            _ => (addr(i, 0), addr(i, 1)),
        };
        s.push_str(&format!(
            "[[links]]\nendpoints = [\"n{i}:r\", \"n{}:l\"]\naddresses = [\"{a}/31\", \"{b}/31\"]\n",
            i + 1
        ));
    }
    s
}

#[test]
fn a_2000_node_chain_comes_up_converges_takes_a_one_link_edit_and_goes() {
    if !root_or_skip("scale") {
        return;
    }
    let lab = TestLab::alone("scale").with_sandbox();
    lab.write(&chain(NODES, None));
    let up = lab.up();
    assert!(up.stdout.contains("changes applied"), "{up:?}");
    assert_eq!(lab.namespaces().len(), NODES, "every node has its namespace");
    assert!(lab.ping("n1", &addr(1, 1)), "n1 reaches n2");
    assert!(lab.ping(&format!("n{NODES}"), &addr(NODES - 1, 0)), "the last node reaches its neighbour");
    lab.assert_converged();

    // One link edited: the plan is that link's addresses and nothing else.
    let mid = NODES / 2;
    lab.write(&chain(NODES, Some(mid)));
    let plan = lab.plan();
    assert_eq!(plan.code, 2, "{plan:?}");
    let ops: Vec<&str> = plan.stdout.lines().filter(|l| !l.starts_with("lab ")).collect();
    assert_eq!(ops.len(), 4, "two addresses added, two removed: {plan:?}");
    assert!(
        ops.iter().all(|o| o.contains(&format!("{}-n{mid}:", lab.name))
            || o.contains(&format!("{}-n{}:", lab.name, mid + 1))),
        "{plan:?}"
    );
    lab.up();
    assert!(lab.ping(&format!("n{mid}"), "10.250.0.1"), "the edited link carries its new addresses");
    lab.assert_converged();

    lab.down();
    lab.assert_gone();
}

/// Nodes of the routed chain: more sysctl lookups than one procfs instance of a namespace
/// worker serves (`sys::sysctl`, 64), and few enough hops for a ping's TTL.
const ROUTERS: usize = 60;

/// A chain of routers, each forwarding, with a route to either end: n1 reaches the far end
/// only through every node in between.
fn routed_chain(n: usize) -> String {
    let mut s = String::new();
    for i in 1..=n {
        s.push_str(&format!("[nodes.n{i}]\nforward = true\nroutes = [\n"));
        if i < n {
            s.push_str(&format!("  {{ to = \"{}/32\", via = \"{}\" }},\n", addr(n - 1, 1), addr(i, 1)));
        }
        if i > 1 {
            s.push_str(&format!("  {{ to = \"{}/32\", via = \"{}\" }},\n", addr(1, 0), addr(i - 1, 0)));
        }
        s.push_str("]\n");
    }
    s + &chain_links(n, None)
}

#[test]
fn a_chain_of_forwarding_routers_has_every_sysctl_set_and_carries_a_ping_end_to_end() {
    if !root_or_skip("scale") {
        return;
    }
    let lab = TestLab::new("route").with_sandbox();
    lab.write(&routed_chain(ROUTERS));
    let up = lab.up();
    assert!(up.stdout.contains("changes applied"), "{up:?}");
    // What netlab wrote, read back by another program in each namespace: the file's
    // sysctls and the lab's own defaults, in every node, however many lookups came before.
    for i in 1..=ROUTERS {
        let ns = lab.ns(&format!("n{i}"));
        let read = |key: &str| sh_ok(&format!("nsenter --net=/run/netns/{ns} cat /proc/sys/net/{key}"));
        assert_eq!(read("ipv4/ip_forward").trim(), "1", "n{i} forwards IPv4");
        assert_eq!(read("ipv6/conf/all/forwarding").trim(), "1", "n{i} forwards IPv6");
        assert_eq!(read("ipv6/conf/default/accept_dad").trim(), "0", "n{i} has the lab's IPv6 defaults");
        let iface = if i < ROUTERS { "r" } else { "l" };
        assert_eq!(read(&format!("ipv4/conf/{iface}/promote_secondaries")).trim(), "1", "n{i}:{iface}");
    }
    let far = addr(ROUTERS - 1, 1);
    assert!(lab.ping("n1", &far), "n1 reaches {far} through {} routers", ROUTERS - 2);
    // netlab reads them back too: nothing to do.
    lab.assert_converged();
    lab.down();
    lab.assert_gone();
}

/// More namespaces than netlab may keep sockets open for under this open-file limit
/// (`SockMap::budget`: the limit less 256), so that some requests go through kept sockets and
/// the rest through sockets of their own.
const FD_LIMIT: usize = 400;
const BEYOND_FDS: usize = 500;

#[test]
fn a_lab_with_more_namespaces_than_the_open_file_limit_allows_sockets_comes_up_and_goes() {
    if !root_or_skip("scale") {
        return;
    }
    let lab = TestLab::new("fdlim").with_sandbox();
    lab.write(&chain(BEYOND_FDS, None));
    let limited = |args: &[&str]| {
        let netlab = lab.command(args);
        let mut c = std::process::Command::new("prlimit");
        c.arg(format!("--nofile={FD_LIMIT}:{FD_LIMIT}")).arg(netlab.get_program()).args(netlab.get_args());
        run(c)
    };
    let file = lab.file.to_str().unwrap();
    let up = limited(&["up", file]);
    assert_eq!(up.code, 0, "up under a limit of {FD_LIMIT} open files: {up:?}");
    assert_eq!(lab.namespaces().len(), BEYOND_FDS);
    let plan = limited(&["plan", file]);
    assert_eq!(plan.code, 0, "plan under the limit sees what up made: {plan:?}");
    assert!(lab.ping(&format!("n{BEYOND_FDS}"), &addr(BEYOND_FDS - 1, 0)), "the last link carries traffic");
    let down = limited(&["down", "--lab", &lab.name]);
    assert_eq!(down.code, 0, "{down:?}");
    lab.assert_gone();
}
