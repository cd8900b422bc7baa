//! Hostile state: a record is data to check, never to obey, and nothing under /run/netlab is
//! followed through a symlink or readable by anyone but root.

use crate::support::*;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

fn record_path(lab: &TestLab) -> String {
    format!("/run/netlab/{}/state.json", lab.name)
}

fn edit_record(lab: &TestLab, f: impl FnOnce(&mut serde_json::Value)) {
    let path = record_path(lab);
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut v);
    // Written aside and renamed over, as netlab writes it: another test's `netlab ls` reads
    // every record, and one it catches half-written it moves aside as broken.
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = format!("{path}.edit");
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).unwrap();
    std::io::Write::write_all(&mut file, serde_json::to_string(&v).unwrap().as_bytes()).unwrap();
    drop(file);
    std::fs::rename(&tmp, &path).unwrap();
}

/// The files a lab keeps are private: the directories 0700, the files 0600.
#[test]
fn run_files_are_private_to_root() {
    if !root_or_skip("modes") {
        return;
    }
    let lab = TestLab::new("modes");
    lab.write(ROUTED);
    lab.up();
    let mode = |p: &str| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("/run/netlab") & 0o077, 0, "/run/netlab is readable by others");
    assert_eq!(mode(&format!("/run/netlab/{}", lab.name)), 0o700);
    for f in ["state.json", "lock"] {
        assert_eq!(mode(&format!("/run/netlab/{}/{f}", lab.name)), 0o600, "{f}");
    }
}

/// A record that names another lab's namespace does not get it removed: only a namespace
/// whose `lo` carries this lab's mark is this lab's.
#[test]
fn a_record_naming_a_namespace_that_is_not_the_labs_does_not_get_it_removed() {
    if !root_or_skip("foreignrec") {
        return;
    }
    let victim = TestLab::new("vict");
    victim.write(ROUTED);
    victim.up();
    let lab = TestLab::new("frec");
    lab.write(ROUTED);
    lab.up();
    let theirs = victim.ns("a");
    edit_record(&lab, |v| {
        v["namespaces"].as_array_mut().unwrap().push(theirs.clone().into());
    });
    let r = lab.down();
    assert!(r.stderr.contains(&format!("left alone: {theirs}")), "{r:?}");
    assert!(victim.namespaces().contains(&theirs), "down removed another lab's namespace");
    lab.assert_gone();
    victim.assert_converged();
}

/// A sysctl key in the record that is a path is never written: the record is moved aside.
#[test]
fn a_record_with_a_path_for_a_sysctl_is_moved_aside_and_not_obeyed() {
    if !root_or_skip("pathkey") {
        return;
    }
    let lab = TestLab::new("pkey");
    lab.write(ROUTED);
    lab.up();
    let victim = lab.dir.join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    let key = victim.to_str().unwrap().to_string();
    let ns = lab.ns("a");
    edit_record(&lab, |v| {
        v["sysctl_orig"][ns.as_str()] = serde_json::json!({ key.clone(): "overwritten" });
    });
    let r = lab.plan();
    assert!(r.code == 0 || r.code == 2, "{r:?}");
    // Any netlab command that reads every record (another test's `netlab ls`) may have moved
    // it aside first; then this `plan` finds none to warn about.
    let moved_aside = std::fs::read_dir(format!("/run/netlab/{}", lab.name))
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("state.json.bad-"));
    let warned = r.stderr.contains("which is no sysctl name") && r.stderr.contains("moved it to");
    assert!(moved_aside && (warned || r.stderr.is_empty()), "{r:?}");
    // Without the record, the marks still say what is the lab's.
    lab.up();
    lab.assert_converged();
    lab.down();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    lab.assert_gone();
}

/// A record that does not parse blocks nothing: it is moved aside, and `up` and `down` go on
/// from the kernel's marks.
#[test]
fn a_garbage_record_is_moved_aside_and_the_marks_decide() {
    if !root_or_skip("garbage") {
        return;
    }
    let lab = TestLab::new("garb");
    lab.write(ROUTED);
    lab.up();
    std::fs::write(record_path(&lab), "{\"lab\": \"trunc").unwrap();
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    // Whoever reads it first (this `up`, or a `netlab ls` of a test running beside it) moves
    // it aside.
    let aside = std::fs::read_dir(format!("/run/netlab/{}", lab.name))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("state.json.bad-"));
    assert!(aside, "the garbage record was not moved aside: {r:?}");
    assert!(r.stderr.is_empty() || r.stderr.contains("does not parse"), "{r:?}");
    lab.assert_converged();
    std::fs::write(record_path(&lab), [0xffu8, 0, 1, 2]).unwrap();
    lab.down();
    lab.assert_gone();
}

/// Nothing under /run/netlab is followed through a symlink: not the lab's directory, not its
/// record, not its lock.
#[test]
fn symlinks_under_the_run_directory_are_refused_not_followed() {
    if !root_or_skip("symlink") {
        return;
    }
    let lab = TestLab::new("syml");
    lab.write(ROUTED);
    let target = lab.dir.join("elsewhere");
    std::fs::create_dir_all(&target).unwrap();
    let dir = format!("/run/netlab/{}", lab.name);
    std::fs::create_dir_all("/run/netlab").unwrap();
    // The lab's directory itself.
    symlink(&target, &dir).unwrap();
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    std::fs::remove_file(&dir).unwrap();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("follows no links"), "{r:?}");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "wrote through the symlinked directory");
    assert!(lab.namespaces().is_empty(), "refused, yet made something");
    // The lock and the record.
    for file in ["lock", "state.json"] {
        std::fs::create_dir_all(&dir).unwrap();
        let victim = target.join(file);
        symlink(&victim, format!("{dir}/{file}")).unwrap();
        let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{file}: {r:?}");
        assert!(!Path::new(&victim).exists(), "{file}: created the symlink's target");
        std::fs::remove_dir_all(&dir).unwrap();
        lab.cleanup();
    }
    lab.assert_gone();
}

/// Lab names are checked wherever one is accepted: a path is not a lab.
#[test]
fn a_lab_name_that_is_a_path_is_refused_everywhere() {
    if !root_or_skip("labpath") {
        return;
    }
    let lab = TestLab::new("lpath");
    for args in [
        vec!["status", "../../tmp/x"],
        vec!["down", "--lab", "../x"],
        vec!["exec", "a", "--lab", "../x", "--", "true"],
        vec!["logs", "a", "--lab", "../x"],
    ] {
        let r = lab.netlab(&args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains("lab name"), "{args:?}: {r:?}");
    }
}

/// A node with every kind of runtime file: a holder (pid, fp, spec), limits, exec commands
/// (exec info and fp), a workload (spec, pid, fp, log, status).
const EVERY_FILE: &str = r#"
[nodes.a]
isolate = ["pid"]
limits = { pids = 64 }
exec = ["echo exec ran"]
run = [{ name = "w", cmd = ["sh", "-c", "echo secret; exec sleep 600"], env = { TOKEN = "s3cret" }, restart = "always" }]
"#;

const NODE_FILES: [&str; 6] = ["pid", "fp", "holder.json", "limits", "exec.json", "exec.fp"];
const WORKLOAD_FILES: [&str; 5] = ["json", "pid", "fp", "log", "status"];

/// Every runtime file under /run/netlab/LAB (pid files, specs, logs, statuses, exec info,
/// fingerprints) that is a symlink is replaced by the lab's own file, never written through:
/// the links' targets stay as they were (or are not created), and the files are private.
#[test]
fn symlinked_runtime_files_are_replaced_never_written_through() {
    if !root_or_skip("runsyml") {
        return;
    }
    let lab = TestLab::new("rsyml");
    lab.write(EVERY_FILE);
    let outside = lab.dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let dir = format!("/run/netlab/{}", lab.name);
    let mut links = Vec::new();
    for (sub, names) in [
        ("nodes", NODE_FILES.iter().map(|e| format!("a.{e}")).collect::<Vec<_>>()),
        ("workloads", WORKLOAD_FILES.iter().map(|e| format!("a.w.{e}")).collect()),
    ] {
        std::fs::create_dir_all(format!("{dir}/{sub}")).unwrap();
        for (i, name) in names.iter().enumerate() {
            // Every other target exists (it must stay untouched), the rest must not be made.
            let victim = outside.join(name);
            if i % 2 == 0 {
                std::fs::write(&victim, "victim\n").unwrap();
            }
            let link = format!("{dir}/{sub}/{name}");
            symlink(&victim, &link).unwrap();
            links.push((link, victim, i % 2 == 0));
        }
    }
    lab.up();
    lab.assert_converged();
    let mode = |p: &str| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    for (link, victim, existed) in &links {
        if *existed {
            assert_eq!(std::fs::read_to_string(victim).unwrap(), "victim\n", "{link} was written through");
        } else {
            assert!(!victim.exists(), "{link}: its target was created");
        }
        let meta = std::fs::symlink_metadata(link).unwrap_or_else(|e| panic!("{link}: {e}"));
        assert!(meta.file_type().is_file(), "{link} is still a symlink");
        assert_eq!(mode(link), 0o600, "{link}");
    }
    for sub in ["", "/nodes", "/workloads"] {
        assert_eq!(mode(&format!("{dir}{sub}")), 0o700, "{dir}{sub}");
    }
    let log = lab.netlab(&["logs", "--lab", &lab.name, "a/w"]);
    assert!(log.stdout.contains("secret"), "{log:?}");
    lab.down();
    lab.assert_gone();
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 6, "files appeared outside");
}

/// A symlinked directory of runtime files is refused: nothing is written where it points.
#[test]
fn a_symlinked_runtime_directory_is_refused() {
    if !root_or_skip("runsymd") {
        return;
    }
    let lab = TestLab::new("rsymd");
    lab.write(EVERY_FILE);
    let outside = lab.dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let dir = format!("/run/netlab/{}", lab.name);
    for sub in ["nodes", "workloads"] {
        std::fs::create_dir_all(&dir).unwrap();
        symlink(&outside, format!("{dir}/{sub}")).unwrap();
        let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{sub}: {r:?}");
        assert!(r.stderr.contains("follows no links"), "{sub}: {r:?}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "{sub}: wrote through the symlink");
        std::fs::remove_file(format!("{dir}/{sub}")).unwrap();
        lab.cleanup();
        lab.assert_gone();
    }
}
