//! `netlab test`, as root: checks run natively from the nodes, a table, a JUnit report that
//! an XML parser reads with the right counts, exit codes, and --down.

use crate::support::*;

/// (tests, failures, testcases) as Python's XML parser reads the report.
fn junit_counts(path: &std::path::Path) -> (u32, u32, u32) {
    let code = "import sys, xml.etree.ElementTree as ET\nr = ET.parse(sys.argv[1]).getroot()\ns = r.find('testsuite')\nprint(r.get('tests'), s.get('failures'), len(s.findall('testcase')), len(s.findall('testcase/failure')))";
    let out = std::process::Command::new("python3")
        .args(["-c", code, path.to_str().unwrap()])
        .output()
        .expect("python3");
    assert!(out.status.success(), "the report does not parse: {}", String::from_utf8_lossy(&out.stderr));
    let v: Vec<u32> =
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert_eq!(v[1], v[3], "failures attribute matches the failure elements");
    (v[0], v[1], v[2])
}

#[test]
fn lan_checks_pass_and_the_report_reads_back() {
    if !root_or_skip("test-lan") {
        return;
    }
    let lab = TestLab::new("tlan");
    lab.write(&example("lan"));
    let report = lab.dir.join("report.xml");
    let r = lab.netlab(&["test", lab.file.to_str().unwrap(), "--junit", report.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("checks: 2 passed, 0 failed"), "{r:?}");
    assert_eq!(junit_counts(&report), (2, 0, 2));
    // Without --down the lab stays up for more.
    assert!(lab.ping("h2", "10.0.0.1"));
}

#[test]
fn nat_sim_checks_pass_with_its_workload_and_down_tears_it_down() {
    if !root_or_skip("test-natsim") {
        return;
    }
    let lab = TestLab::new("tnat");
    lab.write(&example("nat-sim"));
    let report = lab.dir.join("report.xml");
    let r = lab.netlab(&["test", lab.file.to_str().unwrap(), "--junit", report.to_str().unwrap(), "--down"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("checks: 3 passed, 0 failed"), "{r:?}");
    assert_eq!(junit_counts(&report), (3, 0, 3));
    lab.assert_gone();
}

#[test]
fn a_wrong_expectation_fails_the_run_and_is_reported() {
    if !root_or_skip("test-fail") {
        return;
    }
    let lab = TestLab::new("tfail");
    lab.write(&format!(
        "{}\n[[check]]\nname = \"wrong on purpose\"\nfrom = \"h1\"\nping = \"10.0.0.99\"\ntimeout = \"300ms\"\n[[check]]\nfrom = \"h2\"\nconnect = \"10.0.0.1:9\"\nexpect = \"fail\"\ntimeout = \"300ms\"\n",
        example("lan")
    ));
    let report = lab.dir.join("report.xml");
    let r = lab.netlab(&["test", lab.file.to_str().unwrap(), "--junit", report.to_str().unwrap(), "--down"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("wrong on purpose") && r.stdout.contains("FAILED"), "{r:?}");
    assert!(r.stdout.contains("checks: 3 passed, 1 failed"), "{r:?}");
    assert_eq!(junit_counts(&report), (4, 1, 4));
    assert!(std::fs::read_to_string(&report).unwrap().contains("expected ok, got fail (no answer)"));
    lab.assert_gone();
}
