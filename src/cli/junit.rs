//! JUnit XML for `netlab test --junit`: one testsuite per lab, one testcase per check (with
//! the `file` and `line` of its `[[check]]`, its time from its own start to its own end, and
//! what the probe saw in `<system-out>`), a failure element for each check that did not go as
//! expected, and an error case when the lab could not be brought up (its checks then skipped);
//! then one testsuite per scenario (`LAB: scenario NAME`), one testcase per step.

use crate::engine::scenario::ScenarioResult;
use crate::engine::test::CheckResult;
use std::fmt::Write;
use std::time::Duration;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn word(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "fail"
    }
}

/// One run of a lab's checks, as the report tells it.
pub struct Run<'a> {
    pub lab: &'a str,
    /// The lab's file, as the user named it.
    pub file: &'a str,
    pub results: &'a [CheckResult],
    /// Why the lab could not be brought up, when it could not; its checks did not run.
    pub up_error: Option<&'a str>,
    /// The checks that did not run, as (name, from, line), when `up_error`.
    pub skipped: &'a [(String, String, usize)],
    /// Wall time of the run (the checks run at once: not the sum of their times).
    pub wall: Duration,
    /// ISO 8601.
    pub timestamp: &'a str,
    /// The scenarios run after the checks, each a testsuite of its own.
    pub scenarios: &'a [ScenarioResult],
}

pub fn report(run: &Run) -> String {
    let failures = run.results.iter().filter(|r| !r.passed()).count();
    let errors = usize::from(run.up_error.is_some());
    let skipped = run.skipped.len();
    let tests = run.results.len() + errors + skipped;
    let wall = run.wall.as_secs_f64();
    let lab = esc(run.lab);
    let file = esc(run.file);
    let mut scenario_suites = String::new();
    let (mut all_tests, mut all_failures, mut all_skipped) = (tests, failures, skipped);
    for sc in run.scenarios {
        let (t, f, s) = scenario_suite(&mut scenario_suites, run.lab, sc, run.timestamp);
        all_tests += t;
        all_failures += f;
        all_skipped += s;
    }
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"netlab\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"{errors}\" skipped=\"{all_skipped}\" time=\"{wall:.3}\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{lab}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{wall:.3}\" timestamp=\"{}\" file=\"{file}\">",
        esc(run.timestamp)
    );
    if let Some(e) = run.up_error {
        let _ = writeln!(
            x,
            "    <testcase classname=\"netlab.{lab}\" name=\"up\" file=\"{file}\" time=\"{wall:.3}\">"
        );
        let _ = writeln!(x, "      <error message=\"{}\" type=\"up\">netlab up: {}</error>", esc(e), esc(e));
        let _ = writeln!(x, "    </testcase>");
    }
    for (name, from, line) in run.skipped {
        let _ = writeln!(
            x,
            "    <testcase classname=\"netlab.{lab}.{}\" name=\"{}\" file=\"{file}\" line=\"{line}\" time=\"0.000\">",
            esc(from),
            esc(name)
        );
        let _ = writeln!(x, "      <skipped message=\"the lab did not come up\"/>");
        let _ = writeln!(x, "    </testcase>");
    }
    for r in run.results {
        let _ = writeln!(
            x,
            "    <testcase classname=\"netlab.{lab}.{}\" name=\"{}\" file=\"{file}\" line=\"{}\" time=\"{:.3}\">",
            esc(&r.from),
            esc(&r.name),
            r.line,
            r.elapsed.as_secs_f64()
        );
        let why = format!(
            "expected {}, got {}{}",
            word(r.expect_ok),
            word(r.ok),
            r.detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
        );
        if !r.passed() {
            let _ = writeln!(
                x,
                "      <failure message=\"{}\" type=\"check\">{} from {}: {}</failure>",
                esc(&why),
                esc(&r.target),
                esc(&r.from),
                esc(&why)
            );
        }
        // A kept capture first, as Jenkins' and GitLab's attachment of a file to a case.
        let attachment =
            r.pcap.as_ref().map(|p| format!("[[ATTACHMENT|{}]]\n", p.display())).unwrap_or_default();
        let out = format!("{attachment}{} from {}: {why}", r.target, r.from);
        let _ = writeln!(x, "      <system-out>{}</system-out>", esc(&out));
        let _ = writeln!(x, "    </testcase>");
    }
    x.push_str("  </testsuite>\n");
    x.push_str(&scenario_suites);
    x.push_str("</testsuites>\n");
    x
}

/// One scenario as a testsuite: (tests, failures, skipped).
fn scenario_suite(x: &mut String, lab: &str, sc: &ScenarioResult, timestamp: &str) -> (usize, usize, usize) {
    let failed =
        sc.steps.iter().filter(|s| s.passed == Some(false)).count() + usize::from(sc.restore_error.is_some());
    let skipped = sc.steps.iter().filter(|s| s.passed.is_none()).count();
    let tests = sc.steps.len() + usize::from(sc.restore_error.is_some());
    let time = sc.elapsed.as_secs_f64();
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}: scenario {}\" tests=\"{tests}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\" timestamp=\"{}\">",
        esc(lab),
        esc(&sc.name),
        esc(timestamp)
    );
    let class = format!("netlab.{}.scenario.{}", esc(lab), esc(&sc.name));
    for (i, st) in sc.steps.iter().enumerate() {
        let head = format!(
            "    <testcase classname=\"{class}\" name=\"{}. {}\" time=\"{:.3}\"",
            i + 1,
            esc(&st.step),
            st.elapsed.as_secs_f64()
        );
        let detail = st.detail.as_deref().map(esc).unwrap_or_default();
        match st.passed {
            Some(true) if detail.is_empty() => {
                let _ = writeln!(x, "{head}/>");
            }
            Some(true) => {
                let _ = writeln!(x, "{head}>\n      <system-out>{detail}</system-out>\n    </testcase>");
            }
            Some(false) => {
                let _ = writeln!(
                    x,
                    "{head}>\n      <failure message=\"{detail}\" type=\"step\">{detail}</failure>\n    </testcase>"
                );
            }
            None => {
                let _ = writeln!(x, "{head}>\n      <skipped message=\"{detail}\"/>\n    </testcase>");
            }
        }
    }
    if let Some(e) = &sc.restore_error {
        let _ = writeln!(
            x,
            "    <testcase classname=\"{class}\" name=\"restore\" time=\"0.000\">\n      <failure message=\"{0}\" type=\"restore\">{0}</failure>\n    </testcase>",
            esc(e)
        );
    }
    x.push_str("  </testsuite>\n");
    (tests, failed, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, expect_ok: bool, ok: bool, detail: Option<&str>) -> CheckResult {
        CheckResult {
            name: name.into(),
            from: "h1".into(),
            target: "ping 10.0.0.2".into(),
            expect_ok,
            ok,
            detail: detail.map(str::to_string),
            measured: None,
            elapsed: Duration::from_millis(5),
            line: 12,
            pcap: None,
        }
    }

    fn run<'a>(results: &'a [CheckResult], up_error: Option<&'a str>) -> Run<'a> {
        Run {
            lab: "lan",
            file: "lan.toml",
            results,
            up_error,
            skipped: &[],
            scenarios: &[],
            wall: Duration::from_millis(7),
            timestamp: "2026-11-26T00:00:00Z",
        }
    }

    #[test]
    fn counts_and_failures() {
        let results = [result("a <&> \"b\"", true, true, None), result("c", true, false, Some("no answer"))];
        let x = report(&run(&results, None));
        assert!(x.contains("<testsuites name=\"netlab\" tests=\"2\" failures=\"1\" errors=\"0\""));
        assert!(
            x.contains("name=\"a &lt;&amp;&gt; &quot;b&quot;\" file=\"lan.toml\" line=\"12\" time=\"0.005\"")
        );
        assert!(x.contains("<failure message=\"expected ok, got fail (no answer)\" type=\"check\">"));
        assert!(x.contains("<system-out>ping 10.0.0.2 from h1: expected ok, got ok</system-out>"));
        assert_eq!(x.matches("<testcase ").count(), 2);
        // The suite's time is the run's wall time, not the sum of the cases'.
        assert!(x.contains("time=\"0.007\" timestamp="));
        assert!(x.ends_with("</testsuites>\n"));
    }

    #[test]
    fn a_kept_capture_is_an_attachment_with_the_probe_detail() {
        let mut failed = result("c", true, false, Some("no answer"));
        failed.pcap = Some("/tmp/caps/c.pcapng".into());
        let x = report(&run(&[failed], None));
        assert!(
            x.contains("<system-out>[[ATTACHMENT|/tmp/caps/c.pcapng]]\nping 10.0.0.2 from h1: expected ok, got fail (no answer)</system-out>"),
            "{x}"
        );
        // With --pcap-all a passed check keeps its capture too.
        let mut passed = result("d", true, true, None);
        passed.pcap = Some("/tmp/caps/d.pcapng".into());
        assert!(report(&run(&[passed], None)).contains("<system-out>[[ATTACHMENT|/tmp/caps/d.pcapng]]\nping"));
    }

    #[test]
    fn an_expected_failure_passes() {
        let results = [result("wan", false, false, Some("no answer"))];
        let x = report(&run(&results, None));
        assert!(x.contains("failures=\"0\"") && !x.contains("<failure"));
    }

    #[test]
    fn a_failed_up_is_an_error_case_and_its_checks_are_skipped() {
        let skipped = [("c".to_string(), "h1".to_string(), 9)];
        let x = report(&Run { skipped: &skipped, ..run(&[], Some("the kernel has no sch_netem")) });
        assert!(x.contains("tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\""), "{x}");
        assert!(x.contains("<error message=\"the kernel has no sch_netem\" type=\"up\">"));
        assert!(x.contains("name=\"c\" file=\"lan.toml\" line=\"9\"") && x.contains("<skipped "));
    }

    #[test]
    fn a_scenario_is_a_testsuite_of_its_steps() {
        use crate::engine::scenario::StepResult;
        let step = |step: &str, passed, detail: Option<&str>| StepResult {
            step: step.into(),
            passed,
            detail: detail.map(str::to_string),
            elapsed: Duration::from_millis(1450),
            converged: None,
        };
        let sc = ScenarioResult {
            name: "r1 fails".into(),
            steps: vec![
                step("link down r1:eth0", Some(true), None),
                step("h1: ping 10.0.0.2 within 20 s", Some(false), Some("did not hold within 20 s")),
                step("link up r1:eth0", None, Some("not run: an earlier step failed")),
            ],
            restore_error: None,
            elapsed: Duration::from_secs(21),
        };
        let results = [result("c", true, true, None)];
        let scenarios = [sc];
        let x = report(&Run { scenarios: &scenarios, ..run(&results, None) });
        assert!(
            x.contains("<testsuites name=\"netlab\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{x}"
        );
        assert!(x.contains("<testsuite name=\"lan: scenario r1 fails\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""), "{x}");
        assert!(x.contains("name=\"2. h1: ping 10.0.0.2 within 20 s\" time=\"1.450\""), "{x}");
        assert!(x.contains("<failure message=\"did not hold within 20 s\" type=\"step\">"), "{x}");
        assert!(x.contains("<skipped message=\"not run: an earlier step failed\"/>"), "{x}");
        assert_eq!(x.matches("<testsuite ").count(), 2);
        assert!(x.ends_with("</testsuites>\n"));
    }
}
