//! JUnit XML for `netlab test --junit`: one testsuite per lab, one testcase per check, a
//! failure element with the reason for each check that did not go as expected.

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

/// The report of lab `lab`'s checks; `timestamp` is ISO 8601.
pub fn report(lab: &str, results: &[CheckResult], timestamp: &str) -> String {
    let failures = results.iter().filter(|r| !r.passed()).count();
    let total: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"netlab\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total:.3}\">",
        results.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{total:.3}\" timestamp=\"{}\">",
        esc(lab),
        results.len(),
        esc(timestamp)
    );
    for r in results {
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
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
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
        let x = report("lan", &[failed], "t");
        assert!(x.contains("<system-out>[[ATTACHMENT|/tmp/caps/c.pcapng]]\nno answer</system-out>"), "{x}");
        let mut passed = result("d", true, true, None);
        passed.pcap = Some("/tmp/caps/d.pcapng".into());
        assert!(!report("lan", &[passed], "t").contains("system-out"));
    }

    #[test]
    fn an_expected_failure_passes() {
        let x = report("nat", &[result("wan", false, false, Some("no answer"))], "t");
        assert!(x.contains("failures=\"0\"") && !x.contains("<failure"));
    }
}
