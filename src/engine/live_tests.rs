//! Runtime overrides against the in-memory machine: recorded, respected by `plan` and `up`,
//! undone by `link up` / `--clear` and by `up --reset`, refused before anything changes.

use super::live::{self, Change};
use super::up;
use crate::backend::fake::Fake;
use crate::backend::Store;
use crate::error::Error;
use crate::model::shape::Shape;
use crate::model::{Lab, NsRef};
use futures::executor::block_on;
use std::path::Path;
use std::time::Duration;

const TWO: &str = r#"
name = "t"
[nodes.a]
[nodes.b]
routes = [{ to = "10.9.0.0/24", via = "10.0.0.1" }, { to = "10.8.0.0/24", via = "10.0.1.3" }]
[nodes.sw]
kind = "switch"
[nodes.c]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[links]]
endpoints = ["b:eth1", "sw:p1"]
addresses = ["10.0.1.2/24", ""]
rate = "100mbit"
[[links]]
endpoints = ["c:eth0", "sw:p2"]
addresses = ["10.0.1.3/24", ""]
"#;

fn lab() -> Lab {
    Lab::parse(Path::new("/nonexistent/t.toml"), TWO).expect("valid topology")
}

fn plan(fake: &Fake, l: &Lab, reset: bool) -> Vec<String> {
    let opts = up::Options { reset, ..Default::default() };
    block_on(up::plan(fake, l, opts)).expect("plan").plan.ops.iter().map(ToString::to_string).collect()
}

fn up_lab() -> (Fake, Lab) {
    let fake = Fake::default();
    let l = lab();
    block_on(up::up(&fake, &l, Default::default(), &|_| {}, &|| {})).expect("up");
    (fake, l)
}

fn iface(fake: &Fake, ns: &str, name: &str) -> crate::state::IfState {
    fake.machine().ns[&NsRef::Named(ns.into())].ifaces[name].clone()
}

fn has_route(fake: &Fake, ns: &str, dst: &str) -> bool {
    fake.machine().ns[&NsRef::Named(ns.into())].routes.keys().any(|(d, _)| d.to_string() == dst)
}

#[test]
fn a_link_held_down_is_no_drift_and_up_keeps_it_down_until_link_up() {
    let (fake, l) = up_lab();
    block_on(live::set(&fake, &l, "b:eth0", Change::Down)).expect("link down");
    assert!(!iface(&fake, "t-b", "eth0").up);
    assert!(iface(&fake, "t-a", "eth0").up, "only the named end goes down");
    // The route through it goes with it, as the kernel drops it.
    assert!(!has_route(&fake, "t-b", "10.9.0.0/24") && has_route(&fake, "t-b", "10.8.0.0/24"));
    assert_eq!(plan(&fake, &l, false), Vec::<String>::new(), "the override is drift");
    assert!(fake.load("t").unwrap().unwrap().overrides.down.contains("b:eth0"));
    // Brought up by hand: drift that `up` repairs by taking it down again.
    fake.machine().ns.get_mut(&NsRef::Named("t-b".into())).unwrap().ifaces.get_mut("eth0").unwrap().up = true;
    assert_eq!(plan(&fake, &l, false), ["~ down t-b:eth0 (held by netlab link down)"]);
    block_on(up::up(&fake, &l, Default::default(), &|_| {}, &|| {})).expect("up");
    assert!(!iface(&fake, "t-b", "eth0").up);
    block_on(live::set(&fake, &l, "b:eth0", Change::Up)).expect("link up");
    assert!(iface(&fake, "t-b", "eth0").up && has_route(&fake, "t-b", "10.9.0.0/24"));
    assert!(fake.load("t").unwrap().unwrap().overrides.is_empty());
    assert_eq!(plan(&fake, &l, false), Vec::<String>::new());
}

#[test]
fn up_reset_drops_every_override() {
    let (fake, l) = up_lab();
    block_on(live::set(&fake, &l, "sw:p2", Change::Down)).expect("switch port down");
    let slow = Shape { rate: Some(10_000_000), ..Default::default() };
    block_on(live::set(&fake, &l, "b:eth1", Change::Impair(slow))).expect("impair");
    assert!(!iface(&fake, "t-sw", "p2").up);
    assert_eq!(iface(&fake, "t-b", "eth1").shape, Some(slow));
    assert_eq!(plan(&fake, &l, false), Vec::<String>::new());
    let mut reset = plan(&fake, &l, true);
    reset.sort();
    assert_eq!(reset, ["~ qdisc t-b:eth1 tbf rate 100mbit", "~ up t-sw:p2"]);
    let opts = up::Options { reset: true, ..Default::default() };
    block_on(up::up(&fake, &l, opts, &|_| {}, &|| {})).expect("up --reset");
    assert!(fake.load("t").unwrap().unwrap().overrides.is_empty());
    assert!(iface(&fake, "t-sw", "p2").up);
    assert_eq!(iface(&fake, "t-b", "eth1").shape.and_then(|s| s.rate), Some(100_000_000));
    assert_eq!(plan(&fake, &l, false), Vec::<String>::new());
}

#[test]
fn an_override_goes_with_its_interface_when_the_file_drops_it() {
    let (fake, l) = up_lab();
    block_on(live::set(&fake, &l, "c:eth0", Change::Down)).expect("link down");
    block_on(live::set(&fake, &l, "b:eth0", Change::Down)).expect("link down");
    let without_c = TWO
        .replace("[nodes.c]\n", "")
        .replace("[[links]]\nendpoints = [\"c:eth0\", \"sw:p2\"]\naddresses = [\"10.0.1.3/24\", \"\"]\n", "");
    let edited = Lab::parse(Path::new("/nonexistent/t.toml"), &without_c).expect("valid");
    assert!(!edited.nodes.contains_key("c"));
    block_on(up::up(&fake, &edited, Default::default(), &|_| {}, &|| {})).expect("up");
    // The record still loads (it names no override of a node it lacks), and keeps b's.
    let held = fake.load("t").expect("the record is sound").unwrap().overrides;
    assert_eq!(held.down.iter().collect::<Vec<_>>(), ["b:eth0"]);
    assert_eq!(plan(&fake, &edited, false), Vec::<String>::new());
}

#[test]
fn impair_clear_goes_back_to_the_file() {
    let (fake, l) = up_lab();
    let slow = Shape { rate: Some(10_000_000), ..Default::default() };
    block_on(live::set(&fake, &l, "b:eth1", Change::Impair(slow))).expect("impair");
    let state = block_on(live::impairment(&fake, &l, "b:eth1")).expect("impairment");
    assert_eq!((state.held, state.applied), (Some(slow), Some(slow)));
    assert_eq!(state.file.and_then(|s| s.rate), Some(100_000_000));
    block_on(live::set(&fake, &l, "b:eth1", Change::Clear)).expect("clear");
    assert_eq!(iface(&fake, "t-b", "eth1").shape.and_then(|s| s.rate), Some(100_000_000));
    assert!(fake.load("t").unwrap().unwrap().overrides.is_empty());
}

#[test]
fn an_impairment_without_its_qdisc_changes_nothing() {
    let (fake, l) = up_lab();
    fake.without_qdisc("netem");
    let before = fake.load("t").unwrap();
    fake.clear_calls();
    let delay = Shape { delay: Some(Duration::from_millis(10)), ..Default::default() };
    let err = block_on(live::set(&fake, &l, "a:eth0", Change::Impair(delay))).unwrap_err();
    assert!(matches!(err, Error::Missing(_)) && err.to_string().contains("no sch_netem"), "{err}");
    assert_eq!(fake.load("t").unwrap(), before);
    assert!(fake.calls().is_empty(), "touched the kernel: {:?}", fake.calls());
}

#[test]
fn unknown_targets_are_named_with_what_there_is() {
    let (fake, l) = up_lab();
    let err = block_on(live::set(&fake, &l, "b:eth7", Change::Down)).unwrap_err().to_string();
    assert!(err.contains("has no interface eth7") && err.contains("eth0, eth1"), "{err}");
    let err = block_on(live::set(&fake, &l, "sw:p9", Change::Down)).unwrap_err().to_string();
    assert!(err.contains("no port p9") && err.contains("p1, p2"), "{err}");
    let err = block_on(live::set(&fake, &l, "zz:eth0", Change::Down)).unwrap_err().to_string();
    assert!(err.contains("no node zz") && err.contains("a, b, c, sw"), "{err}");
    let err = block_on(live::set(&fake, &l, "b", Change::Down)).unwrap_err().to_string();
    assert!(err.contains("NODE:IFACE"), "{err}");
    assert!(fake.load("t").unwrap().unwrap().overrides.is_empty());
}

#[test]
fn a_lab_that_is_down_takes_no_override() {
    let fake = Fake::default();
    let err = block_on(live::set(&fake, &lab(), "b:eth0", Change::Down)).unwrap_err();
    assert!(err.to_string().contains("is not up"), "{err}");
}

const SCENARIOS: &str = r#"
[[scenario]]
name = "b fails"
steps = [
  { check = { from = "a", ping = "10.0.0.2" }, within = "1s" },
  { link_down = "b:eth0" },
  { check = { from = "a", ping = "10.0.0.2", expect = "fail" } },
  { impair = "b:eth1", rate = "10mbit" },
  { exec = { node = "b", cmd = ["false"] }, expect_exit = 1 },
  { wait = "10ms" },
]

[[scenario]]
name = "never recovers"
steps = [
  { link_down = "b:eth0" },
  { check = { from = "a", ping = "10.0.0.2" }, within = "300ms" },
  { link_up = "b:eth0" },
]
"#;

#[test]
fn a_scenario_runs_its_steps_and_puts_the_lab_back() {
    let fake = Fake::default();
    let l = Lab::parse(Path::new("/nonexistent/t.toml"), &format!("{TWO}{SCENARIOS}")).expect("valid");
    block_on(up::up(&fake, &l, Default::default(), &|_| {}, &|| {})).expect("up");
    let r = block_on(super::scenario::run(&fake, &l, &l.scenarios[0]));
    assert!(r.passed(), "{r:#?}");
    assert!(r.steps[0].converged.is_some());
    assert!(r.steps[0].detail.as_deref().is_some_and(|d| d.starts_with("held after ")), "{r:#?}");
    // Left by the scenario: a link down and an impairment; both undone.
    assert!(fake.load("t").unwrap().unwrap().overrides.is_empty());
    assert!(iface(&fake, "t-b", "eth0").up);
    assert_eq!(iface(&fake, "t-b", "eth1").shape.and_then(|s| s.rate), Some(100_000_000));
    assert_eq!(plan(&fake, &l, false), Vec::<String>::new());

    let r = block_on(super::scenario::run(&fake, &l, &l.scenarios[1]));
    assert!(!r.passed());
    assert_eq!(r.steps.iter().map(|s| s.passed).collect::<Vec<_>>(), [Some(true), Some(false), None]);
    assert!(r.steps[1].detail.as_deref().is_some_and(|d| d.contains("did not hold within 0.30 s")), "{r:#?}");
    assert!(r.restore_error.is_none(), "{r:#?}");
    assert!(iface(&fake, "t-b", "eth0").up, "the failed scenario left the link down");
    assert_eq!(plan(&fake, &l, false), Vec::<String>::new());
}

#[test]
fn a_scenario_keeps_overrides_made_before_it() {
    let fake = Fake::default();
    let l = Lab::parse(Path::new("/nonexistent/t.toml"), &format!("{TWO}{SCENARIOS}")).expect("valid");
    block_on(up::up(&fake, &l, Default::default(), &|_| {}, &|| {})).expect("up");
    block_on(live::set(&fake, &l, "sw:p2", Change::Down)).expect("link down");
    let r = block_on(super::scenario::run(&fake, &l, &l.scenarios[0]));
    assert!(r.passed(), "{r:#?}");
    let held = fake.load("t").unwrap().unwrap().overrides;
    assert_eq!(held.down.iter().collect::<Vec<_>>(), ["sw:p2"]);
    assert!(held.shapes.is_empty());
}
