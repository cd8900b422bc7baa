//! JUnit XML for `netlab test --junit`: one testsuite for the lab's checks, one testcase per
//! check, a failure element with the reason for each check that did not go as expected; then
//! one testsuite per scenario, one testcase per step.

use crate::engine::scenario::ScenarioResult;
use crate::engine::test::CheckResult;
use std::fmt::Write;

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

/// The report of lab `lab`'s checks, then its scenarios; `timestamp` is ISO 8601. The checks
/// are one testsuite, each scenario another (`LAB: scenario NAME`), one testcase per step.
pub fn report(lab: &str, results: &[CheckResult], scenarios: &[ScenarioResult], timestamp: &str) -> String {
    let failures = results.iter().filter(|r| !r.passed()).count();
    let total: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut suites = String::new();
    let (mut all_tests, mut all_failures, mut all_time) = (results.len(), failures, total);
    if !results.is_empty() || scenarios.is_empty() {
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{total:.3}\" timestamp=\"{}\">",
            esc(lab),
            results.len(),
            esc(timestamp)
        );
        for r in results {
            check_case(&mut suites, lab, r);
        }
        suites.push_str("  </testsuite>\n");
    }
    for sc in scenarios {
        let (tests, failed, time) = scenario_suite(&mut suites, lab, sc, timestamp);
        all_tests += tests;
        all_failures += failed;
        all_time += time;
    }
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"netlab\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"0\" time=\"{all_time:.3}\">",
    );
    x.push_str(&suites);
    x.push_str("</testsuites>\n");
    x
}

fn check_case(x: &mut String, lab: &str, r: &CheckResult) {
    let head = format!(
        "    <testcase classname=\"netlab.{}.{}\" name=\"{}\" time=\"{:.3}\"",
        esc(lab),
        esc(&r.from),
        esc(&r.name),
        r.elapsed.as_secs_f64()
    );
    if r.passed() {
        let _ = writeln!(x, "{head}/>");
    } else {
        let why = format!(
            "expected {}, got {}{}",
            word(r.expect_ok),
            word(r.ok),
            r.detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
        );
        let _ = writeln!(x, "{head}>");
        let _ = writeln!(
            x,
            "      <failure message=\"{}\" type=\"check\">{} from {}: {}</failure>",
            esc(&why),
            esc(&r.target),
            esc(&r.from),
            esc(&why)
        );
        if let Some(p) = &r.pcap {
            // Jenkins' and GitLab's convention for a file that belongs to a test case.
            let detail = r.detail.as_ref().map(|d| format!("\n{d}")).unwrap_or_default();
            let out = format!("[[ATTACHMENT|{}]]{detail}", p.display());
            let _ = writeln!(x, "      <system-out>{}</system-out>", esc(&out));
        }
        let _ = writeln!(x, "    </testcase>");
    }
}

/// One scenario as a testsuite: (tests, failures, seconds).
fn scenario_suite(x: &mut String, lab: &str, sc: &ScenarioResult, timestamp: &str) -> (usize, usize, f64) {
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
    (tests, failed, time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn result(name: &str, expect_ok: bool, ok: bool, detail: Option<&str>) -> CheckResult {
        CheckResult {
            name: name.into(),
            from: "h1".into(),
            target: "ping 10.0.0.2".into(),
            expect_ok,
            ok,
            detail: detail.map(str::to_string),
            elapsed: Duration::from_millis(5),
            pcap: None,
        }
    }

    #[test]
    fn counts_and_failures() {
        let x = report(
            "lan",
            &[result("a <&> \"b\"", true, true, None), result("c", true, false, Some("no answer"))],
            &[],
            "2026-11-26T00:00:00Z",
        );
        assert!(x.contains("<testsuites name=\"netlab\" tests=\"2\" failures=\"1\""));
        assert!(x.contains("name=\"a &lt;&amp;&gt; &quot;b&quot;\""));
        assert!(x.contains("<failure message=\"expected ok, got fail (no answer)\" type=\"check\">"));
        assert_eq!(x.matches("<testcase ").count(), 2);
        assert!(x.ends_with("</testsuites>\n"));
    }

    #[test]
    fn a_kept_capture_is_an_attachment_with_the_probe_detail() {
        let mut failed = result("c", true, false, Some("no answer"));
        failed.pcap = Some("/tmp/caps/c.pcapng".into());
        let x = report("lan", &[failed], &[], "t");
        assert!(x.contains("<system-out>[[ATTACHMENT|/tmp/caps/c.pcapng]]\nno answer</system-out>"), "{x}");
        let mut passed = result("d", true, true, None);
        passed.pcap = Some("/tmp/caps/d.pcapng".into());
        assert!(!report("lan", &[passed], &[], "t").contains("system-out"));
    }

    #[test]
    fn an_expected_failure_passes() {
        let x = report("nat", &[result("wan", false, false, Some("no answer"))], &[], "t");
        assert!(x.contains("failures=\"0\"") && !x.contains("<failure"));
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
        let x = report("tri", &[result("c", true, true, None)], &[sc], "t");
        assert!(x.contains("<testsuites name=\"netlab\" tests=\"4\" failures=\"1\""), "{x}");
        assert!(x.contains("<testsuite name=\"tri: scenario r1 fails\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""), "{x}");
        assert!(x.contains("name=\"2. h1: ping 10.0.0.2 within 20 s\" time=\"1.450\""), "{x}");
        assert!(x.contains("<failure message=\"did not hold within 20 s\" type=\"step\">"), "{x}");
        assert!(x.contains("<skipped message=\"not run: an earlier step failed\"/>"), "{x}");
        assert_eq!(x.matches("<testsuite ").count(), 2);
    }
}
