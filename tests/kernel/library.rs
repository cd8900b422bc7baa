//! The library API, as a Rust project's own tests would use it: labs with names of their
//! own, up in parallel threads, torn down by their guards, also by a panicking test.

use crate::support::{root_or_skip, Turn};

fn topology(subnet: u8) -> String {
    format!(
        r#"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.77.{subnet}.1/24", "10.77.{subnet}.2/24"]
[[check]]
from = "a"
ping = "10.77.{subnet}.2"
[[check]]
from = "b"
ping = "10.77.{subnet}.99"
expect = "fail"
timeout = "300ms"
"#
    )
}

fn gone(lab: &str) -> bool {
    let names = std::fs::read_dir("/run/netns")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default();
    !names.iter().any(|n| n.starts_with(&format!("{lab}-")))
        && !std::path::Path::new(&format!("/run/netlab/{lab}")).exists()
}

#[test]
fn parallel_labs_up_check_and_tear_themselves_down() {
    if !root_or_skip("library") {
        return;
    }
    let _turn = Turn::shared();
    let threads: Vec<_> = (0..4u8)
        .map(|i| {
            std::thread::spawn(move || {
                let lab = netlab::Lab::from_str(&topology(i)).expect("valid topology");
                let name = lab.name().to_string();
                {
                    let up = lab.up().expect("up");
                    let out = up.exec("a", &["ip", "-br", "addr", "show", "eth0"]).expect("exec");
                    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("10.77.{i}.1/24")));
                    let results = up.check_all();
                    assert_eq!(results.len(), 2);
                    assert!(results.iter().all(|r| r.passed()), "{results:?}");
                    let mut child = up.spawn("b", &["sleep", "0.1"]).expect("spawn");
                    assert!(child.wait().expect("wait").success());
                    if i % 2 == 0 {
                        up.down().expect("down");
                    }
                    // The odd ones leave it to the guard's Drop.
                }
                assert!(gone(&name), "lab {name} left something behind");
                name
            })
        })
        .collect();
    let names: Vec<String> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "every Lab gets a name of its own: {names:?}");
}

#[test]
fn a_panicking_test_still_tears_its_lab_down() {
    if !root_or_skip("library-panic") {
        return;
    }
    let _turn = Turn::shared();
    let lab = netlab::Lab::from_str(&topology(9)).expect("valid topology");
    let name = lab.name().to_string();
    let result = std::panic::catch_unwind(move || {
        let up = lab.up().expect("up");
        assert!(up.netns("a").unwrap().is_some());
        panic!("a test failing on purpose while its lab is up");
    });
    assert!(result.is_err());
    assert!(gone(&name), "lab {name} survived the panic");
}
