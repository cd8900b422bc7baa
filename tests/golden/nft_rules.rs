//! Golden tests of the nf_tables rules netlab compiles, no root: a topology's firewall →
//! the exact expressions of every rule (`tests/nft_golden/NAME.rules`).

use netlab::sys::firewall::nft::compile::{compile, render};
use netlab::Lab;

#[test]
fn compiled_rules_match_the_golden_files() {
    let dir = crate::data("nft_golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let lab = Lab::load(&path).expect("golden topology is valid");
        let mut got = String::new();
        for node in lab.nodes.values().filter(|n| !n.firewall.is_empty()) {
            got.push_str(&format!("# node {}\n", node.name));
            for line in node.firewall.listing() {
                got.push_str(&format!("{line}\n"));
            }
            got.push_str(&render(&compile(&node.firewall)));
        }
        let golden = path.with_extension("rules");
        if std::env::var_os("NETLAB_BLESS").is_some() {
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("missing {}; run with NETLAB_BLESS=1", golden.display()));
        assert_eq!(got, want, "compiled rules of {} differ from {}", path.display(), golden.display());
        checked += 1;
    }
    assert!(checked >= 1);
}
