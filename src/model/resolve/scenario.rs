//! `[[scenario]]` entries → Scenario: each step has one action, names interfaces and nodes
//! the lab has, and its durations parse. A `check` step's body goes through the very resolver
//! of `[[check]]`, so every check kind a `[[check]]` takes a step takes too.

use super::check::resolve_check;
use super::R;
use crate::error::Problems;
use crate::model::duration;
use crate::model::scenario::{Scenario, Step, EXEC_STEP_TIMEOUT};
use crate::model::types::*;
use crate::spec::raw::{RawScenario, RawStep, S};
use crate::spec::Source;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

/// The longest a step may wait (`within`, `timeout`, `wait`).
const MAX_STEP_TIME: Duration = Duration::from_secs(3600);

const ACTIONS: &str = "check, link_down, link_up, impair, exec or wait";

/// The scenarios of the file; each problem found goes into `problems` (each step is looked at
/// even when another failed).
pub(super) fn resolve_scenarios(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    links: &[Link],
    raw: &[S<RawScenario>],
    problems: &mut Problems,
) -> Vec<Scenario> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for sc in raw {
        let r = sc.get_ref();
        let name = r.name.get_ref().trim();
        if name.is_empty() {
            problems.push(src.error(
                r.name.span(),
                "a scenario's name is empty",
                "write name = \"r1-r3 fails\"",
            ));
        } else if !names.insert(name.to_string()) {
            problems.push(src.error(
                r.name.span(),
                format!("a second scenario named \"{name}\""),
                "give each [[scenario]] a name of its own: `netlab test --scenario NAME` picks one by it",
            ));
        }
        if r.steps.is_empty() {
            problems.push(src.error(
                sc.span(),
                format!("scenario \"{name}\" has no steps"),
                "write steps = [{ link_down = \"r1:eth0\" }, { check = { from = \"h1\", ping = \"10.0.0.2\" }, within = \"20s\" }]",
            ));
        }
        let steps: Vec<Option<Step>> =
            r.steps.iter().map(|s| problems.keep(resolve_step(src, nodes, links, s))).collect();
        out.push(Scenario { name: name.to_string(), steps: steps.into_iter().flatten().collect() });
    }
    out
}

fn time(src: &Source, key: &str, v: &S<toml::Value>, min: Duration) -> R<Duration> {
    duration::of_file(src, key, v, min, MAX_STEP_TIME, "20s")
}

/// `NODE:IFACE` naming one end of one of the lab's links.
fn target(src: &Source, links: &[Link], key: &str, t: &S<String>) -> R<String> {
    let v = t.get_ref();
    let ends: Vec<String> =
        links.iter().flat_map(|l| [&l.a, &l.b]).map(|e| format!("{}:{}", e.node, e.iface)).collect();
    if ends.iter().any(|e| e == v) {
        return Ok(v.clone());
    }
    let node = v.split(':').next().unwrap_or("");
    let mine: Vec<&str> =
        ends.iter().filter(|e| e.split(':').next() == Some(node)).map(String::as_str).collect();
    let hint = if mine.is_empty() {
        format!("name NODE:IFACE, one of: {}", ends.join(", "))
    } else {
        format!("use one of: {}", mine.join(", "))
    };
    Err(src.error(t.span(), format!("{key} \"{v}\" is no interface of the lab's links"), hint))
}

fn resolve_step(src: &Source, nodes: &BTreeMap<String, Node>, links: &[Link], s: &S<RawStep>) -> R<Step> {
    let r = s.get_ref();
    let actions: Vec<(&str, Range<usize>)> = [
        ("check", r.check.as_ref().map(|v| v.span())),
        ("link_down", r.link_down.as_ref().map(|v| v.span())),
        ("link_up", r.link_up.as_ref().map(|v| v.span())),
        ("impair", r.impair.as_ref().map(|v| v.span())),
        ("exec", r.exec.as_ref().map(|v| v.span())),
        ("wait", r.wait.as_ref().map(|v| v.span())),
    ]
    .into_iter()
    .filter_map(|(k, sp)| sp.map(|sp| (k, sp)))
    .collect();
    let action = match actions.as_slice() {
        [] => {
            return Err(src.error(
                s.span(),
                "a step does nothing",
                format!("give it one of {ACTIONS}, e.g. {{ link_down = \"r1:eth0\" }}"),
            ))
        }
        [one] => one.0,
        [_, second, ..] => {
            return Err(src.error(
                second.1.clone(),
                format!("a step does one thing; this one has {} and {}", actions[0].0, second.0),
                "write a step for each, in the order they are to happen",
            ))
        }
    };
    // Keys that belong to another action than the step's.
    let shape_keys = [
        ("rate", r.rate.as_ref().map(|v| v.span())),
        ("delay", r.delay.as_ref().map(|v| v.span())),
        ("jitter", r.jitter.as_ref().map(|v| v.span())),
        ("loss", r.loss.as_ref().map(|v| v.span())),
        ("limit", r.limit.as_ref().map(|v| v.span())),
        ("clear", r.clear.as_ref().map(|v| v.span())),
    ];
    let others = [
        ("within", r.within.as_ref().map(|v| v.span()), &["check"][..]),
        ("timeout", r.timeout.as_ref().map(|v| v.span()), &["check", "exec"][..]),
        ("expect_exit", r.expect_exit.as_ref().map(|v| v.span()), &["exec"][..]),
    ];
    let stray = shape_keys
        .iter()
        .map(|(k, sp)| (*k, sp, &["impair"][..]))
        .chain(others.iter().map(|(k, sp, w)| (*k, sp, *w)))
        .find(|(_, sp, with)| sp.is_some() && !with.contains(&action));
    if let Some((key, Some(span), with)) = stray {
        return Err(src.error(
            span.clone(),
            format!("{key} does not go with {action}"),
            format!("{key} belongs in a step with {}", with.join(" or ")),
        ));
    }
    Ok(match action {
        "check" => {
            let c = r.check.as_ref().expect("the step's action");
            if let (Some(w), Some(_)) = (&r.within, &r.timeout) {
                return Err(src.error(
                    w.span(),
                    "a check step takes within (tried until it holds) or timeout (one try), not both",
                    "keep within = \"20s\" to measure how long the lab takes to recover",
                ));
            }
            if let (Some(t), Some(_)) = (&r.timeout, &c.get_ref().timeout) {
                return Err(src.error(t.span(), "the check has a timeout already", "give timeout once"));
            }
            let mut check = resolve_check(src, nodes, links, c)?;
            if let Some(t) = &r.timeout {
                check.timeout = time(src, "timeout", t, Duration::from_millis(1))?;
            }
            let within =
                r.within.as_ref().map(|w| time(src, "within", w, Duration::from_millis(1))).transpose()?;
            Step::Check { check, within }
        }
        "link_down" => {
            Step::LinkDown(target(src, links, "link_down", r.link_down.as_ref().expect("action"))?)
        }
        "link_up" => Step::LinkUp(target(src, links, "link_up", r.link_up.as_ref().expect("action"))?),
        "impair" => {
            let t = target(src, links, "impair", r.impair.as_ref().expect("action"))?;
            let shape = crate::model::shape::one(src, &r.rate, &r.delay, &r.jitter, &r.loss, &r.limit)?;
            let clear = r.clear.as_ref().is_some_and(|c| *c.get_ref());
            match (clear, shape.is_empty()) {
                (true, true) => Step::Impair { target: t, shape: None },
                (false, false) => Step::Impair { target: t, shape: Some(shape) },
                (true, false) => {
                    return Err(src.error(
                        r.clear.as_ref().expect("clear").span(),
                        "clear = true takes no impairment beside it",
                        "clear in a step of its own: { impair = \"r1:eth0\", clear = true }",
                    ))
                }
                (false, true) => {
                    return Err(src.error(
                        s.span(),
                        format!("impair \"{t}\" says neither what impairment nor clear = true"),
                        "add rate = \"10mbit\" (or delay, jitter, loss, limit), or clear = true",
                    ))
                }
            }
        }
        "exec" => {
            let e = r.exec.as_ref().expect("action").get_ref();
            let node = e.node.get_ref();
            if !nodes.contains_key(node) {
                let known: Vec<&str> = nodes.keys().map(String::as_str).collect();
                return Err(src.error(
                    e.node.span(),
                    format!("exec in node \"{node}\", which is not declared"),
                    format!("use one of: {}", known.join(", ")),
                ));
            }
            if e.cmd.get_ref().is_empty() || e.cmd.get_ref()[0].is_empty() {
                return Err(src.error(
                    e.cmd.span(),
                    "exec has no command",
                    "write cmd = [\"ip\", \"route\"] (a program and its arguments)",
                ));
            }
            let expect_exit = match &r.expect_exit {
                None => 0,
                Some(x) => u8::try_from(*x.get_ref()).map(i32::from).map_err(|_| {
                    src.error(
                        x.span(),
                        format!("expect_exit {} is no exit code", x.get_ref()),
                        "write expect_exit = 1 (0 to 255)",
                    )
                })?,
            };
            let timeout = r
                .timeout
                .as_ref()
                .map(|t| time(src, "timeout", t, Duration::from_millis(1)))
                .transpose()?
                .unwrap_or(EXEC_STEP_TIMEOUT);
            Step::Exec { node: node.clone(), cmd: e.cmd.get_ref().clone(), expect_exit, timeout }
        }
        "wait" => Step::Wait(time(src, "wait", r.wait.as_ref().expect("action"), Duration::ZERO)?),
        _ => unreachable!("one of the actions above"),
    })
}

#[cfg(test)]
mod tests {
    use crate::model::scenario::Step;
    use crate::Lab;
    use std::path::Path;
    use std::time::Duration;

    const BASE: &str = r#"
name = "t"
[nodes.h1]
[nodes.r1]
[[links]]
endpoints = ["h1:eth0", "r1:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#;

    fn parse(scenario: &str) -> Result<Lab, String> {
        Lab::parse(Path::new("/x/t.toml"), &format!("{BASE}{scenario}")).map_err(|e| e.to_string())
    }

    /// The error of `scenario`, which must name line `line` of the whole file.
    fn error(scenario: &str, line: usize) -> String {
        let e = parse(scenario).expect_err("the file is refused");
        assert!(e.contains(&format!("t.toml:{line}:")), "not at line {line}: {e}");
        e
    }

    #[test]
    fn a_scenario_resolves_in_order() {
        let lab = parse(
            r#"
[[scenario]]
name = "r1 fails"
steps = [
  { check = { from = "h1", ping = "10.0.0.2" }, within = "40s" },
  { link_down = "r1:eth0" },
  { check = { from = "h1", ping = "10.0.0.2", expect = "fail" }, timeout = "1s" },
  { impair = "r1:eth0", rate = "10mbit" },
  { impair = "r1:eth0", clear = true },
  { exec = { node = "r1", cmd = ["ip", "route"] }, expect_exit = 1 },
  { wait = "1.5s" },
  { link_up = "r1:eth0" },
]
"#,
        )
        .expect("valid");
        let s = &lab.scenarios[0];
        assert_eq!(s.name, "r1 fails");
        let text: Vec<String> = s.steps.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "h1: ping 10.0.0.2 within 40 s",
                "link down r1:eth0",
                "h1: ping 10.0.0.2 (expect fail)",
                "impair r1:eth0 tbf rate 10mbit",
                "impair r1:eth0 --clear",
                "exec r1: ip route",
                "wait 1.50 s",
                "link up r1:eth0"
            ]
        );
        assert!(
            matches!(&s.steps[2], Step::Check { check, within: None } if check.timeout == Duration::from_secs(1) && !check.expect_ok)
        );
        assert!(matches!(&s.steps[5], Step::Exec { expect_exit: 1, .. }));
    }

    #[test]
    fn a_check_step_takes_every_check_kind() {
        let lab = parse(
            "[[scenario]]\nname = \"s\"\nsteps = [{ check = { ping_all = [\"h1\", \"r1\"] }, within = \"5s\" }]\n",
        )
        .expect("valid");
        assert!(matches!(
            &lab.scenarios[0].steps[0],
            Step::Check { check, within: Some(_) } if matches!(check.probe, crate::model::Probe::PingAll { .. })
        ));
    }

    #[test]
    fn every_bad_step_is_reported_at_once() {
        let e = error(
            "[[scenario]]\nname = \"s\"\nsteps = [{ link_down = \"r1:eth9\" }, { wait = \"soon\" }]\n[[scenario]]\nname = \"s\"\nsteps = [{ wait = \"1s\" }]\n",
            10,
        );
        assert!(e.contains("r1:eth9") && e.contains("wait \"soon\"") && e.contains("second scenario"), "{e}");
    }

    #[test]
    fn bad_steps_are_located_with_a_hint() {
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ link_down = \"r1:eth9\" }]\n", 10);
        assert!(e.contains("r1:eth9") && e.contains("r1:eth0"), "{e}");
        let e = error(
            "[[scenario]]\nname = \"s\"\nsteps = [{ link_down = \"r1:eth0\", link_up = \"r1:eth0\" }]\n",
            10,
        );
        assert!(e.contains("does one thing"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ wait = \"1s\", rate = \"1mbit\" }]\n", 10);
        assert!(e.contains("rate does not go with wait"), "{e}");
        let e = error(
            "[[scenario]]\nname = \"s\"\nsteps = [{ check = { from = \"zz\", ping = \"10.0.0.2\" } }]\n",
            10,
        );
        assert!(e.contains("\"zz\", which is not declared"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ check = { from = \"h1\", ping = \"x\" }, within = \"soon\" }]\n", 10);
        assert!(e.contains("not an IP address"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ check = { from = \"h1\", ping = \"10.0.0.2\" }, within = \"soon\" }]\n", 10);
        assert!(e.contains("within"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ impair = \"r1:eth0\" }]\n", 10);
        assert!(e.contains("clear = true"), "{e}");
        let e =
            error("[[scenario]]\nname = \"s\"\nsteps = [{ impair = \"r1:eth0\", rate = \"fast\" }]\n", 10);
        assert!(e.contains("not a rate"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ exec = { node = \"r1\", cmd = [] } }]\n", 10);
        assert!(e.contains("no command"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ exec = { node = \"r1\", cmd = [\"true\"] }, expect_exit = 300 }]\n", 10);
        assert!(e.contains("no exit code"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ bogus = 1 }]\n", 10);
        assert!(e.contains("bogus"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{}]\n", 10);
        assert!(e.contains("does nothing"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ wait = \"1s\" }]\n[[scenario]]\nname = \"s\"\nsteps = [{ wait = \"1s\" }]\n", 12);
        assert!(e.contains("second scenario"), "{e}");
        let e = error("[[scenario]]\nname = \"s\"\nsteps = [{ check = { from = \"h1\", ping = \"10.0.0.2\" }, within = \"1s\", timeout = \"1s\" }]\n", 10);
        assert!(e.contains("not both"), "{e}");
    }
}
