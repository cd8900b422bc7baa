//! JUnit XML for `netlab test --junit`: one testsuite per lab, one testcase per check (with
//! the `file` and `line` of its `[[check]]`, its time from its own start to its own end, and
//! what the probe saw in `<system-out>`), a failure element for each check that did not go as
//! expected, and an error case when the lab could not be brought up (its checks then skipped).

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
}

pub fn report(run: &Run) -> String {
    let failures = run.results.iter().filter(|r| !r.passed()).count();
    let errors = usize::from(run.up_error.is_some());
    let skipped = run.skipped.len();
    let tests = run.results.len() + errors + skipped;
    let wall = run.wall.as_secs_f64();
    let lab = esc(run.lab);
    let file = esc(run.file);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"netlab\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{wall:.3}\">"
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
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
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
}
