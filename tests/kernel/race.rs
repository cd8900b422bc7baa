//! Races between labs: two labs that want the same namespace names, brought up at once. One
//! wins, the other refuses having made nothing, never both failing with half each.

use crate::support::*;
use std::path::Path;

#[test]
fn two_labs_wanting_the_same_names_one_wins_the_other_makes_nothing() {
    if !root_or_skip("race") {
        return;
    }
    let a = TestLab::new("racea");
    let b = TestLab::new("raceb");
    // The same prefix, so the same namespace names: a's.
    a.write(ROUTED);
    std::fs::write(&b.file, format!("name = \"{}\"\nprefix = \"{}\"\n{ROUTED}", b.name, a.name)).unwrap();
    let started = std::time::Instant::now();
    for round in 0..20 {
        let spawn = |lab: &TestLab| {
            lab.command(&["up", lab.file.to_str().unwrap()])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (ca, cb) = (spawn(&a), spawn(&b));
        let (oa, ob) = (ca.wait_with_output().unwrap(), cb.wait_with_output().unwrap());
        let wins: Vec<bool> = [&oa, &ob].iter().map(|o| o.status.success()).collect();
        assert_eq!(
            wins.iter().filter(|w| **w).count(),
            1,
            "round {round}: not exactly one winner:\n{oa:?}\n{ob:?}"
        );
        let (winner, loser, out) = if wins[0] { (&a, &b, &ob) } else { (&b, &a, &oa) };
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("refusing to touch anything") && err.contains("belongs to lab"),
            "round {round}: {err}"
        );
        assert!(
            !Path::new(&format!("/run/netlab/{}", loser.name)).exists(),
            "round {round}: the loser left its record"
        );
        assert_eq!(a.namespaces().len(), 3, "round {round}");
        winner.down();
        loser.down();
        a.assert_gone();
        b.assert_gone();
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "20 rounds take too long");
    }
}
