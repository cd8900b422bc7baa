//! Capture against the in-memory machine: which interfaces a target names, the errors that
//! say what exists, when a capture stops, and which check captures `netlab test --pcap` keeps.

use super::capture::{locate, record, Ended, Target, Until};
use super::test::{run_checks_captured, PcapDir};
use crate::backend::fake::Fake;
use crate::backend::Capture;
use crate::capture::pcapng::{self, Writer};
use crate::capture::Format;
use crate::error::Error;
use crate::model::{Lab, NsRef};
use futures::executor::block_on;
use std::path::Path;
use std::sync::atomic::AtomicBool;

fn lab(name: &str, checks: &str) -> Lab {
    let text = format!(
        "name = \"{name}\"\n[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\naddresses = [\"10.0.0.1/24\", \"10.0.0.2/24\"]\n{checks}"
    );
    Lab::parse(Path::new(&format!("/nonexistent/{name}.toml")), &text).expect("valid topology")
}

fn up(fake: &Fake, l: &Lab) {
    block_on(super::up::up(fake, l, Default::default(), &|_| {}, &|| {})).expect("up");
}

fn ns(n: &str) -> NsRef {
    NsRef::Named(n.to_string())
}

fn message(r: Result<Target, Error>) -> String {
    r.expect_err("refused").to_string()
}

#[test]
fn a_target_names_one_interface_or_all_of_them() {
    let fake = Fake::default();
    up(&fake, &lab("t", ""));
    let t = locate(&fake, "a:eth0", None).expect("found");
    assert_eq!(t, Target { lab: "t".into(), node: "a".into(), ns: ns("t-a"), ifaces: vec!["eth0".into()] });
    assert_eq!(locate(&fake, "b:*", Some("t")).expect("found").ifaces, ["eth0", "lo"]);
}

#[test]
fn unknown_nodes_and_interfaces_are_refused_with_what_exists() {
    let fake = Fake::default();
    up(&fake, &lab("t", ""));
    assert_eq!(
        message(locate(&fake, "a:eth9", None)),
        "node a has no interface eth9; it has: eth0, lo (or a:* for all)"
    );
    let m = message(locate(&fake, "zz:eth0", None));
    assert!(m.ends_with("; nodes: a (lab t), b (lab t)"), "{m}");
    assert_eq!(message(locate(&fake, "zz:eth0", Some("t"))), "lab t has no node named zz; nodes: a, b");
    assert!(message(locate(&fake, "a:eth0", Some("nope"))).contains("lab nope is not up"));
    for bad in ["a", "a:", ":eth0"] {
        let e = locate(&fake, bad, None).expect_err("refused");
        assert!(matches!(e, Error::Usage(_)) && e.to_string().contains("NODE:IFACE"), "{e}");
    }
    // Nothing was opened for any of them.
    assert!(!fake.calls().iter().any(|c| c.starts_with("tap ")), "{:?}", fake.calls());
}

#[test]
fn a_node_in_two_labs_needs_lab() {
    let fake = Fake::default();
    up(&fake, &lab("t", ""));
    up(&fake, &lab("u", ""));
    let e = locate(&fake, "a:eth0", None).expect_err("ambiguous");
    assert!(matches!(e, Error::Ambiguous(_)) && e.to_string().contains("(t, u)"), "{e}");
    assert_eq!(locate(&fake, "a:eth0", Some("u")).expect("found").ns, ns("u-a"));
}

#[test]
fn a_pcap_file_of_several_interfaces_and_a_bad_filter_are_refused_before_opening() {
    let fake = Fake::default();
    up(&fake, &lab("t", ""));
    let all = locate(&fake, "a:*", None).expect("found");
    let opts = super::capture::Options { format: Format::Pcap, ..Default::default() };
    let e = super::capture::open(&fake, &all, &all.ifaces, &opts, Vec::new()).err().expect("refused");
    assert!(e.to_string().contains("a pcap file holds one interface"), "{e}");
    let opts = super::capture::Options { filter: Some("tcp port".into()), ..Default::default() };
    let e = super::capture::open(&fake, &all, &all.ifaces, &opts, Vec::new()).err().expect("refused");
    assert!(e.to_string().starts_with("bad filter \"tcp port\""), "{e}");
    assert!(!fake.calls().iter().any(|c| c.starts_with("tap ")));
}

#[test]
fn a_capture_stops_at_its_count_and_a_stopped_one_takes_what_is_queued() {
    let fake = Fake::default();
    up(&fake, &lab("t", ""));
    let names = vec!["eth0".to_string()];
    let tap = fake.tap(&ns("t-a"), &names, 100, None).expect("tap");
    for i in 0..3u8 {
        fake.send_packet(&ns("t-a"), "eth0", &[i; 4]);
    }
    let mut taps = [(tap, 0)];
    let mut w = Writer::new(Vec::new(), Format::Pcapng, &names, 100).expect("header");
    let never = AtomicBool::new(false);
    let s =
        record(&mut taps, &mut w, &Until { count: Some(2), deadline: None, stop: &never }).expect("record");
    assert_eq!((s.packets, s.ended), (2, Ended::Count));
    let stopped = AtomicBool::new(true);
    let s =
        record(&mut taps, &mut w, &Until { count: None, deadline: None, stop: &stopped }).expect("record");
    assert_eq!((s.packets, s.ended, s.dropped), (1, Ended::Stopped, 0));
    fake.drop_packets(&ns("t-a"), "eth0", 5);
    let s =
        record(&mut taps, &mut w, &Until { count: None, deadline: None, stop: &stopped }).expect("record");
    assert_eq!((s.packets, s.dropped), (0, 5), "the kernel's drops are in the summary");
    let bytes = w.into_inner();
    let header = [pcapng::section_header(), pcapng::interface("eth0", 100)].concat();
    assert!(bytes.starts_with(&header));
    assert_eq!(bytes.len(), header.len() + 3 * 36, "three packets of 4 bytes");
}

#[test]
fn a_capture_ends_at_its_deadline_with_nothing_to_take() {
    let fake = Fake::default();
    up(&fake, &lab("t", ""));
    let names = vec!["lo".to_string()];
    let mut taps = [(fake.tap(&ns("t-b"), &names, 100, None).expect("tap"), 0)];
    let mut w = Writer::new(Vec::new(), Format::Pcap, &names, 100).expect("header");
    let never = AtomicBool::new(false);
    let until = Until { count: None, deadline: Some(std::time::Instant::now()), stop: &never };
    let s = record(&mut taps, &mut w, &until).expect("record");
    assert_eq!((s.packets, s.ended), (0, Ended::Duration));
}

const CHECKS: &str = r#"
[[check]]
name = "a reaches b"
from = "a"
ping = "10.0.0.2"
[[check]]
name = "a/b: nowhere"
from = "a"
ping = "10.0.0.9"
"#;

#[test]
fn test_pcap_keeps_a_failed_checks_capture_and_removes_a_passed_ones() {
    let fake = Fake::default();
    let l = lab("t", CHECKS);
    up(&fake, &l);
    let dir = std::env::temp_dir().join(format!("netlab-pcap-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let results = block_on(run_checks_captured(&fake, &l, &PcapDir { dir: dir.clone(), keep_all: false }));
    assert!(results[0].passed() && results[0].pcap.is_none());
    assert!(!dir.join("a_reaches_b.pcapng").exists(), "a passed check's capture is removed");
    let kept = dir.join("a_b__nowhere.pcapng");
    assert_eq!(results[1].pcap.as_deref(), Some(kept.as_path()));
    let bytes = std::fs::read(&kept).expect("kept");
    let header =
        [pcapng::section_header(), pcapng::interface("a:eth0", 262_144), pcapng::interface("a:lo", 262_144)]
            .concat();
    assert!(bytes.starts_with(&header), "the check's node's interfaces, named NODE:IFACE");
    assert!(bytes.windows(14).any(|w| w == b"probe 10.0.0.9"), "the probe's own frame is in it");
    // The passed check's target is b: its interfaces were captured too; the failed one's
    // target is no node's.
    let calls = fake.calls();
    assert!(calls.contains(&"tap t-b eth0,lo".to_string()), "{calls:?}");
    assert_eq!(calls.iter().filter(|c| c.starts_with("tap ")).count(), 3, "{calls:?}");
    let all = block_on(run_checks_captured(&fake, &l, &PcapDir { dir: dir.clone(), keep_all: true }));
    assert!(all.iter().all(|r| r.pcap.as_ref().is_some_and(|p| p.exists())));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_capture_that_cannot_start_is_said_in_the_failed_checks_detail() {
    let fake = Fake::default();
    let l = lab("t", CHECKS);
    up(&fake, &l);
    fake.fail_on(Some("tap t-a"));
    let dir = std::env::temp_dir().join(format!("netlab-pcap-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let results = block_on(run_checks_captured(&fake, &l, &PcapDir { dir: dir.clone(), keep_all: false }));
    assert!(results[0].passed(), "a capture that fails does not fail the check");
    let d = results[1].detail.as_deref().unwrap_or_default();
    assert!(d.starts_with("no answer; no capture: tap t-a"), "{d}");
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0, "no half-made file is left");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_host_node_is_captured_only_from_where_its_lab_was_made() {
    let fake = Fake::default();
    let l = Lab::parse(Path::new("/nonexistent/h.toml"), super::tests::HOSTED).expect("valid topology");
    up(&fake, &l);
    assert_eq!(locate(&fake, "host:v-h", None).expect("found").ns, NsRef::Host);
    fake.enter_netns(Some((4, 4026532999)));
    let e = locate(&fake, "host:v-h", None).expect_err("refused elsewhere");
    assert!(matches!(e, Error::Conflict(_)) && e.to_string().contains("another network namespace"), "{e}");
    // Its other nodes are named namespaces: the same from anywhere.
    assert_eq!(locate(&fake, "x:eth0", None).expect("found").ns, ns("h-x"));
}
