//! A randomized reconcile test. A seeded generator makes a valid topology (nodes, switches,
//! dual-stack addresses on disjoint subnets, routes via neighbours, namespace and
//! per-interface sysctls, MTUs, ends in either order) and a sequence of valid edits to it.
//! After each edit two oracles hold:
//!
//! 1. one `up` succeeds and then `plan` has nothing to do;
//! 2. the lab equals a lab brought up from scratch from the same file under another name
//!    (see `observe` for what is compared).
//!
//! CI runs a few seeds; `scripts/random-reconcile.sh` runs many. `NETLAB_RANDOM_SEEDS`
//! (`1,2,3` or `1-50`) and `NETLAB_RANDOM_EDITS` choose them; `NETLAB_RANDOM_WITHOUT` (a
//! comma-separated list of sysctl keys as the generator writes them, `IF` for the interface,
//! e.g. `net.ipv6.conf.IF.mtu`, and `ipv6-metric-0`) leaves those out, to look past a known
//! failure. A failure names the seed, the
//! edit and both files (before and after the edit), which are also written under
//! `target/tmp/random-reconcile/`; after a failed edit the lab is brought up from scratch and
//! the seed goes on, so one run reports every edit that fails.

mod gen;
mod observe;

use crate::support::*;
use gen::{Rng, Topo};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const DEFAULT_SEEDS: &str = "1,2,3";
const DEFAULT_EDITS: usize = 6;

fn seeds() -> Vec<u64> {
    let spec = std::env::var("NETLAB_RANDOM_SEEDS").unwrap_or_else(|_| DEFAULT_SEEDS.to_string());
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()),
            None => {
                out.push(part.parse().unwrap_or_else(|_| panic!("NETLAB_RANDOM_SEEDS: bad seed {part:?}")))
            }
        }
    }
    out
}

fn edits() -> usize {
    std::env::var("NETLAB_RANDOM_EDITS")
        .ok()
        .map(|e| e.parse().expect("NETLAB_RANDOM_EDITS"))
        .unwrap_or(DEFAULT_EDITS)
}

struct Failure {
    seed: u64,
    step: usize,
    edit: String,
    oracle: &'static str,
    detail: String,
    before: String,
    after: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "=== seed {} edit {}: {}", self.seed, self.step, self.edit)?;
        writeln!(f, "{}:\n{}", self.oracle, self.detail.trim_end())?;
        writeln!(
            f,
            "reproduce: NETLAB_RANDOM_SEEDS={} NETLAB_RANDOM_EDITS={} cargo test --test kernel random -- --nocapture",
            self.seed, self.step
        )?;
        writeln!(f, "--- file before the edit\n{}--- file after the edit\n{}", self.before, self.after)
    }
}

/// Writes a failure's two files under `target/tmp/random-reconcile/`.
fn save(f: &Failure) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("random-reconcile");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("seed{}-edit{}-before.toml", f.seed, f.step)), &f.before);
    let _ = std::fs::write(dir.join(format!("seed{}-edit{}-after.toml", f.seed, f.step)), &f.after);
}

/// The plan lines of a `plan` run (without its summary line).
fn plan_lines(r: &Run) -> String {
    let lines: Vec<&str> = r.stdout.lines().filter(|l| !l.starts_with("lab ")).collect();
    format!("plan exit {}\n{}\n{}", r.code, lines.join("\n"), r.stderr.trim_end())
}

/// Compares the edited lab with the fresh one; a difference is looked at again a few times
/// over two seconds (carrier and operstate settle asynchronously), then reported.
fn compare(lab: &TestLab, fresh: &TestLab, nodes: &[String]) -> Option<String> {
    let mut last = String::new();
    for _ in 0..5 {
        let (a, b): (BTreeSet<String>, BTreeSet<String>) =
            (observe::observe(lab, nodes), observe::observe(fresh, nodes));
        if a == b {
            return None;
        }
        last = observe::diff(&a, &b);
        std::thread::sleep(Duration::from_millis(500));
    }
    Some(last)
}

fn run_seed(seed: u64, edits: usize, failures: &mut Vec<Failure>) {
    let mut rng = Rng::new(seed);
    let mut topo = Topo::generate(&mut rng);
    let lab = TestLab::new("rnd");
    let fresh = TestLab::new("rndf");
    let file = lab.file.to_str().unwrap().to_string();
    let fresh_file = fresh.file.to_str().unwrap().to_string();
    let mut before = String::new();
    for step in 0..=edits {
        let started = Instant::now();
        let edit = if step == 0 { "the initial topology".to_string() } else { topo.edit(&mut rng) };
        lab.write(&topo.render());
        let after = std::fs::read_to_string(&lab.file).unwrap();
        let nodes: Vec<String> = topo.nodes.keys().cloned().collect();
        let n0 = failures.len();
        let mut fail = |oracle: &'static str, detail: String| {
            let f = Failure {
                seed,
                step,
                edit: edit.clone(),
                oracle,
                detail,
                before: before.clone(),
                after: after.clone(),
            };
            save(&f);
            eprintln!("{f}");
            failures.push(f);
        };

        let v = lab.netlab(&["validate", &file]);
        if v.code != 0 {
            fail(
                "the generator made a file that validate refuses (a test bug, or validate too strict)",
                format!("{v:?}"),
            );
            return;
        }
        let up = lab.netlab(&["up", &file]);
        if up.code != 0 {
            fail("oracle 1: up failed", format!("{up:?}"));
        } else {
            let plan = lab.plan();
            if plan.code == 1 {
                fail("oracle 1: plan fails after an up that succeeded", plan_lines(&plan));
            } else if plan.code != 0 {
                fail(
                    "oracle 1: plan is not empty after one up",
                    format!("{}\n--- the up said\n{}", plan_lines(&plan), up.stdout),
                );
            } else {
                fresh.write(&topo.render());
                let fu = fresh.netlab(&["up", &fresh_file]);
                if fu.code != 0 {
                    fail("a from-scratch up of the same file failed", format!("{fu:?}"));
                    return;
                }
                let fplan = fresh.plan();
                if fplan.code != 0 {
                    // The fresh lab is the one that is off: no comparison would be fair.
                    fail(
                        "oracle 1: plan is not empty after a from-scratch up of the file",
                        plan_lines(&fplan),
                    );
                } else if let Some(d) = compare(&lab, &fresh, &nodes) {
                    fail("oracle 2: the edited lab differs from a from-scratch lab of the same file", d);
                }
                fresh.down();
            }
        }
        let ok = failures.len() == n0;
        if !ok {
            // Start over from scratch, so that the next edits are tested on a sound lab.
            lab.down();
            let again = lab.netlab(&["up", &file]);
            if again.code != 0 {
                let f = Failure {
                    seed,
                    step,
                    edit: edit.clone(),
                    oracle: "a from-scratch up of the same file failed",
                    detail: format!("{again:?}"),
                    before: before.clone(),
                    after: after.clone(),
                };
                eprintln!("{f}");
                failures.push(f);
                return;
            }
        }
        eprintln!(
            "seed {seed} edit {step}: {edit}: {} ({:.1?})",
            if ok { "ok" } else { "FAILED" },
            started.elapsed()
        );
        before = after;
    }
    lab.down();
    lab.assert_gone();
    fresh.assert_gone();
}

#[test]
fn random_edits_converge_in_one_up_and_equal_a_fresh_lab() {
    if !root_or_skip("random") {
        return;
    }
    let (seeds, edits) = (seeds(), edits());
    let started = Instant::now();
    let mut failures = Vec::new();
    for &seed in &seeds {
        run_seed(seed, edits, &mut failures);
    }
    let failed: BTreeSet<u64> = failures.iter().map(|f| f.seed).collect();
    eprintln!(
        "random reconcile: {} seeds x {edits} edits in {:.1?}; {} failures in seeds {failed:?}",
        seeds.len(),
        started.elapsed(),
        failures.len()
    );
    if !failures.is_empty() {
        let summary: Vec<String> = failures
            .iter()
            .map(|f| format!("seed {} edit {}: {}: {}", f.seed, f.step, f.oracle, f.edit))
            .collect();
        panic!("{} of the random edits failed (details above):\n{}", failures.len(), summary.join("\n"));
    }
}
