//! The event stream and many-node exec against the in-memory machine: which namespaces are
//! watched as labs come and go, what the stream hands out, when it ends; no root.

use super::events::{events, Options};
use super::exec_many::{run_many, select};
use super::up;
use crate::backend::fake::Fake;
use crate::model::Lab;
use crate::state::event::{Change, LinkAction, What};
use futures::executor::block_on;
use std::path::Path;

fn lab(name: &str) -> Lab {
    let text = format!(
        "name = \"{name}\"\n[nodes.a]\n[nodes.b]\n[nodes.sw]\nkind = \"switch\"\n[[links]]\nendpoints = [\"a:eth0\", \"sw\"]\n[[links]]\nendpoints = [\"b:eth0\", \"sw\"]\n"
    );
    Lab::parse(Path::new(&format!("/nonexistent/{name}.toml")), &text).expect("valid topology")
}

fn up(fake: &Fake, l: &Lab) {
    block_on(up::up(fake, l, Default::default(), &|_| {}, &|| {})).expect("up");
}

fn down(fake: &Fake, name: &str) {
    block_on(super::down::down(fake, name)).expect("down");
}

fn link_down() -> What {
    What::Link { iface: "eth0".into(), action: LinkAction::Down, admin_up: false, carrier: false }
}

#[test]
fn one_lab_is_watched_in_every_namespace_and_the_stream_ends_when_it_goes_down() {
    let fake = Fake::default();
    up(&fake, &lab("t"));
    let mut stream = events(&fake, Options { lab: Some("t".into()), initial: false }).expect("follows");
    assert_eq!(
        fake.net_watches(),
        [("t".into(), "a".into()), ("t".into(), "b".into()), ("t".into(), "sw".into())]
    );
    assert!(fake.emit("t", Some("a"), link_down()));
    let e = stream.next_event().expect("reads").expect("an event");
    assert_eq!((e.lab.as_str(), e.node.as_deref(), e.what.action()), ("t", Some("a"), "down"));
    down(&fake, "t");
    fake.labs_changed();
    let e = stream.next_event().expect("reads").expect("the lab's end");
    assert_eq!(e.what, What::Lab { up: false });
    assert!(stream.next_event().expect("reads").is_none(), "the stream ends with its lab");
    drop(stream);
    assert!(fake.net_watches().is_empty(), "every watch is let go");
}

#[test]
fn following_every_lab_picks_up_a_lab_that_comes_up_later_and_goes_on_after_one_goes() {
    let fake = Fake::default();
    up(&fake, &lab("one"));
    let mut stream = events(&fake, Options::default()).expect("follows");
    up(&fake, &lab("two"));
    fake.labs_changed();
    let e = stream.next_event().expect("reads").expect("an event");
    assert_eq!((e.lab.as_str(), &e.what), ("two", &What::Lab { up: true }));
    assert!(fake.net_watches().contains(&("two".into(), "b".into())));
    down(&fake, "one");
    fake.labs_changed();
    let e = stream.next_event().expect("reads").expect("an event");
    assert_eq!((e.lab.as_str(), &e.what), ("one", &What::Lab { up: false }));
    let route = What::Route {
        action: Change::Added,
        route: crate::state::RouteState {
            dst: "10.9.0.0/24".parse().unwrap(),
            via: None,
            dev: Some("eth0".into()),
            metric: 0,
            hops: vec![],
        },
        proto: "bird".into(),
    };
    assert!(fake.emit("two", Some("b"), route));
    let e = stream.next_event().expect("reads").expect("still following");
    assert_eq!((e.lab.as_str(), e.what.kind()), ("two", "route"));
}

#[test]
fn a_lab_that_is_not_up_is_refused() {
    let fake = Fake::default();
    let err = events(&fake, Options { lab: Some("nope".into()), initial: false }).err().expect("refused");
    assert!(err.to_string().contains("lab nope is not up"), "{err}");
}

#[test]
fn many_node_exec_leaves_switches_out_and_tells_each_nodes_exit() {
    let fake = Fake::default();
    up(&fake, &lab("t"));
    let (l, nodes) = select(&fake, Some("t"), None).expect("selects");
    assert_eq!((l.as_str(), nodes.clone()), ("t", vec!["a".to_string(), "b".to_string()]));
    assert_eq!(select(&fake, Some("t"), Some("b*")).expect("selects").1, ["b"]);
    let err = select(&fake, Some("t"), Some("zz*")).expect_err("none match");
    assert!(err.to_string().contains("matches zz*; nodes: a, b, sw"), "{err}");
    let cmd: Vec<String> =
        ["sh", "-c", "echo out $NODE; echo err $NODE >&2; [ $NODE = a ]"].map(String::from).to_vec();
    let mut lines = Vec::new();
    let runs = run_many(&fake, "t", &nodes, &cmd, |n, stderr, line| {
        lines.push(format!("{n} {stderr} {}", String::from_utf8_lossy(line).trim_end()))
    });
    lines.sort();
    assert_eq!(lines, ["a false out a", "a true err a", "b false out b", "b true err b"]);
    assert_eq!(
        runs.iter().map(|r| (r.node.as_str(), r.code)).collect::<Vec<_>>(),
        [("a", Some(0)), ("b", Some(1))]
    );
    assert_eq!(runs[1].stdout, b"out b\n");
}

#[test]
fn a_lab_made_in_another_namespace_has_its_host_node_left_unwatched() {
    let fake = Fake::default();
    let text = "name = \"h\"\n[nodes.host]\nkind = \"host\"\n[nodes.a]\n[[links]]\nendpoints = [\"host:v\", \"a:eth0\"]\n";
    let l = Lab::parse(Path::new("/nonexistent/h.toml"), text).expect("valid topology");
    up(&fake, &l);
    let stream = events(&fake, Options { lab: Some("h".into()), initial: false }).expect("follows");
    assert_eq!(fake.net_watches(), [("h".into(), "a".into()), ("h".into(), "host".into())]);
    drop(stream);
    fake.enter_netns(Some((4, 1)));
    let err = events(&fake, Options { lab: Some("h".into()), initial: false }).err().expect("refused");
    assert!(err.to_string().contains("another network namespace"), "{err}");
    let _all = events(&fake, Options::default()).expect("follows every lab");
    assert_eq!(fake.net_watches(), [("h".into(), "a".into())]);
}

#[test]
fn the_snapshot_starts_with_each_lab_that_is_up() {
    let fake = Fake::default();
    up(&fake, &lab("t"));
    let mut stream = events(&fake, Options { lab: None, initial: true }).expect("follows");
    let e = stream.next_event().expect("reads").expect("an event");
    assert!(e.initial && e.what == What::Lab { up: true } && e.lab == "t", "{e:?}");
}
