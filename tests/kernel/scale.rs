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
