//! A lab is bound to where it was made (its file; with a host node, its network namespace),
//! and `netlab test` checks a lab that is up as it is: against the in-memory machine.

use super::test::{prepare, run_checks, Prepared};
use super::tests::HOSTED;
use super::{down::down, status::status, up};
use crate::backend::fake::{Fake, HOST_NETNS};
use crate::backend::Store;
use crate::error::Error;
use crate::model::{Lab, NsRef};
use crate::state::Record;
use futures::executor::block_on;
use std::path::{Path, PathBuf};

/// Another network namespace than the fake's own.
const OTHER_NETNS: (u64, u64) = (4, 4026532999);

const CHECKED: &str = r#"
name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[check]]
from = "a"
ping = "10.0.0.2"
"#;

fn lab(text: &str) -> Lab {
    Lab::parse(Path::new("/nonexistent/t.toml"), text).expect("valid topology")
}

fn up_with(fake: &Fake, lab: &Lab, opts: up::Options) -> Result<usize, Error> {
    block_on(up::up(fake, lab, opts, &|_| {}, &|| {})).map(|r| r.plan.ops.len())
}

fn plan_with(fake: &Fake, lab: &Lab, opts: up::Options) -> Result<usize, Error> {
    block_on(up::plan(fake, lab, opts)).map(|p| p.plan.ops.len())
}

fn up(fake: &Fake, lab: &Lab) -> Result<usize, Error> {
    up_with(fake, lab, Default::default())
}

fn plan(fake: &Fake, lab: &Lab) -> Result<usize, Error> {
    plan_with(fake, lab, Default::default())
}

/// A directory of the test's own, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("netlab-bind-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    /// Writes `text` to `rel` and loads it.
    fn lab(&self, rel: &str, text: &str) -> Lab {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        Lab::load(&p).expect("valid topology")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn conflict(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Conflict(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn another_file_with_the_same_lab_name_is_refused_unless_adopted() {
    let dir = Dir::new("adopt");
    let first = dir.lab("one/t.toml", CHECKED);
    let second = dir.lab("two/t.toml", &CHECKED.replace("10.0.0.2/24", "10.0.0.3/24"));
    let fake = Fake::default();
    up(&fake, &first).unwrap();
    fake.clear_calls();
    for e in [conflict(plan(&fake, &second)), conflict(up(&fake, &second))] {
        assert!(e.contains(&format!("lab t was made from {}", first.file.display())), "{e}");
        assert!(e.contains("--adopt"), "{e}");
    }
    assert!(fake.calls().is_empty(), "a refused up touched the kernel: {:?}", fake.calls());
    // The same file by another path is the same file.
    std::os::unix::fs::symlink(dir.0.join("one"), dir.0.join("link")).unwrap();
    let by_link = Lab::load(&dir.0.join("link/t.toml")).unwrap();
    assert_eq!(plan(&fake, &by_link).unwrap(), 0);
    // With --adopt, the second file plans and takes the lab over.
    let adopt = up::Options { adopt: true, ..Default::default() };
    assert!(plan_with(&fake, &second, adopt).unwrap() > 0);
    assert!(fake.calls().is_empty(), "plan --adopt touched the kernel: {:?}", fake.calls());
    assert!(up_with(&fake, &second, adopt).unwrap() > 0);
    assert_eq!(fake.load("t").unwrap().unwrap().file, second.file);
    assert_eq!(plan(&fake, &second).unwrap(), 0, "the adopted lab is the second file's now");
    let e = conflict(plan(&fake, &first));
    assert!(e.contains(&format!("made from {}", second.file.display())), "{e}");
}

#[test]
fn labs_of_from_str_never_meet_a_file_of_their_name() {
    let fake = Fake::default();
    let a = Lab::from_str(CHECKED).unwrap();
    let b = Lab::from_str(CHECKED).unwrap();
    assert_ne!(a.name, b.name);
    up(&fake, &a).unwrap();
    up(&fake, &b).unwrap();
    assert_eq!(plan(&fake, &a).unwrap(), 0);
    assert_eq!(plan(&fake, &b).unwrap(), 0);
}

#[test]
fn a_lab_with_a_host_node_refuses_plan_up_down_and_status_from_another_network_namespace() {
    let dir = Dir::new("netns");
    let l = dir.lab("h.toml", HOSTED);
    let fake = Fake::default();
    fake.set_host_sysctl("net.ipv4.ip_forward", "0");
    up(&fake, &l).unwrap();
    assert_eq!(fake.load("h").unwrap().unwrap().made_in, Some(HOST_NETNS));
    fake.name_netns(HOST_NETNS, "/run/netns/sbx1");
    fake.enter_netns(Some(OTHER_NETNS));
    fake.clear_calls();
    let before = fake.load("h").unwrap();
    let errors = [
        conflict(plan(&fake, &l)),
        conflict(up(&fake, &l)),
        conflict(block_on(down(&fake, "h"))),
        conflict(block_on(status(&fake, Some("h")))),
    ];
    for e in errors {
        assert!(e.starts_with("lab h was made in another network namespace (net:[4026531840])"), "{e}");
        assert!(e.contains("(net:[4026532999])"), "{e}");
        assert!(e.contains("nsenter --net=/run/netns/sbx1"), "{e}");
    }
    assert!(fake.calls().is_empty(), "a refused command touched the kernel: {:?}", fake.calls());
    assert_eq!(fake.load("h").unwrap(), before, "the record changed");
    assert_eq!(fake.machine().ns[&NsRef::Host].sysctls["net.ipv4.ip_forward"], "1");
    // Without a known way in, the message says how to find one.
    let fresh = Fake::default();
    up(&fresh, &l).unwrap();
    fresh.enter_netns(Some(OTHER_NETNS));
    assert!(conflict(plan(&fresh, &l)).contains("nsenter --net=/proc/PID/ns/net"));
    // Back where it was made, everything works.
    fake.enter_netns(Some(HOST_NETNS));
    assert_eq!(plan(&fake, &l).unwrap(), 0);
    block_on(status(&fake, Some("h"))).unwrap();
    block_on(down(&fake, "h")).unwrap();
    assert_eq!(fake.machine().ns[&NsRef::Host].sysctls["net.ipv4.ip_forward"], "0");
}

#[test]
fn a_lab_without_a_host_node_is_not_bound_to_a_network_namespace_until_the_file_adds_one() {
    let fake = Fake::default();
    let l = lab(CHECKED);
    up(&fake, &l).unwrap();
    fake.enter_netns(Some(OTHER_NETNS));
    assert_eq!(plan(&fake, &l).unwrap(), 0);
    block_on(status(&fake, Some("t"))).unwrap();
    // A host node added from here would live apart from where the lab was made.
    let hosted = lab(&format!("{CHECKED}[nodes.host]\nkind = \"host\"\n"));
    conflict(plan(&fake, &hosted));
    block_on(down(&fake, "t")).unwrap();
}

#[test]
fn records_older_than_the_binding_and_unreadable_identities_are_let_through() {
    let fake = Fake::default();
    let l = lab(HOSTED);
    up(&fake, &l).unwrap();
    fake.enter_netns(None);
    assert_eq!(plan(&fake, &l).unwrap(), 0, "an unreadable identity refused");
    fake.enter_netns(Some(OTHER_NETNS));
    let mut old = fake.load("h").unwrap().unwrap();
    old.made_in = None;
    fake.machine().records.insert("h".into(), old);
    assert_eq!(plan(&fake, &l).unwrap(), 0, "a record without made_in refused");
    // A record written before the field existed still loads.
    let json = serde_json::to_value(fake.load("h").unwrap().unwrap()).unwrap();
    let mut obj = json.as_object().unwrap().clone();
    obj.remove("made_in");
    let back: Record = serde_json::from_value(serde_json::Value::Object(obj)).unwrap();
    assert_eq!(back.made_in, None);
}

#[test]
fn a_host_sysctl_is_shared_only_with_labs_made_in_the_same_network_namespace() {
    for (other_made_in, restored) in [(OTHER_NETNS, true), (HOST_NETNS, false)] {
        let fake = Fake::default();
        fake.set_host_sysctl("net.ipv4.ip_forward", "0");
        up(&fake, &lab(HOSTED)).unwrap();
        // Another lab that set the same host sysctl, made in `other_made_in`.
        let mut other = Record { lab: "u".into(), made_in: Some(other_made_in), ..Default::default() };
        other.nodes.insert("host".into(), None);
        other.host_sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        fake.machine().records.insert("u".into(), other);
        block_on(down(&fake, "h")).unwrap();
        let now = fake.machine().ns[&NsRef::Host].sysctls["net.ipv4.ip_forward"].clone();
        assert_eq!(now, if restored { "0" } else { "1" }, "other lab made in {other_made_in:?}");
    }
}

#[test]
fn test_checks_a_lab_that_is_up_as_it_is_and_warns_of_drift() {
    let fake = Fake::default();
    let l = lab(CHECKED);
    up(&fake, &l).unwrap();
    let t_b = NsRef::Named("t-b".into());
    fake.machine().ns.get_mut(&t_b).unwrap().ifaces.get_mut("eth0").unwrap().addrs.clear();
    fake.clear_calls();
    match block_on(prepare(&fake, &l, false)).unwrap() {
        Prepared::AsIs { drift } => {
            let ops: Vec<String> = drift.ops.iter().map(ToString::to_string).collect();
            assert_eq!(ops, ["+ addr t-b:eth0 10.0.0.2/24"]);
        }
        other => panic!("reconciled a lab that is up: {other:?}"),
    }
    assert!(fake.calls().is_empty(), "test changed a lab that is up: {:?}", fake.calls());
    // The checks see the lab as it is: the address is gone, so the ping fails.
    let results = block_on(run_checks(&fake, &l));
    assert!(!results[0].passed(), "{results:?}");
    // --up reconciles first.
    match block_on(prepare(&fake, &l, true)).unwrap() {
        Prepared::BroughtUp(r) => assert_eq!(r.plan.ops.len(), 1),
        other => panic!("--up did not reconcile: {other:?}"),
    }
    assert!(block_on(run_checks(&fake, &l)).iter().all(|r| r.passed()));
    // A lab that matches its file has no drift.
    match block_on(prepare(&fake, &l, false)).unwrap() {
        Prepared::AsIs { drift } => assert!(drift.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn test_brings_a_lab_that_is_down_up() {
    let fake = Fake::default();
    let l = lab(CHECKED);
    match block_on(prepare(&fake, &l, false)).unwrap() {
        Prepared::BroughtUp(r) => assert!(!r.plan.is_empty()),
        other => panic!("a lab that is down was not brought up: {other:?}"),
    }
    assert!(fake.load("t").unwrap().is_some());
    assert_eq!(plan(&fake, &l).unwrap(), 0);
    assert!(block_on(run_checks(&fake, &l)).iter().all(|r| r.passed()));
}

#[test]
fn exec_in_a_host_node_is_refused_from_another_network_namespace() {
    let dir = Dir::new("exech");
    let l = dir.lab("h.toml", HOSTED);
    let fake = Fake::default();
    up(&fake, &l).unwrap();
    fake.enter_netns(Some(OTHER_NETNS));
    // "The host" here is another namespace than the host node's: refused, not run there.
    let e = conflict(super::exec::check_present(&fake, "h", "host", None));
    assert!(e.starts_with("lab h was made in another network namespace"), "{e}");
    let e = conflict(super::exec_many::select(&fake, Some("h"), None));
    assert!(e.starts_with("lab h was made in another network namespace"), "{e}");
    // A node of its own namespace is the same from anywhere.
    assert_eq!(super::exec_many::select(&fake, Some("h"), Some("x")).unwrap().1, ["x"]);
    let ns = fake.load("h").unwrap().unwrap().nodes["x"].clone();
    super::exec::check_present(&fake, "h", "x", ns.as_deref()).unwrap();
}
