//! `netlab up` and `netlab plan`.

use crate::backend::System;
use crate::engine::up;
use crate::error::Result;
use crate::model::firewall::FirewallKind;
use crate::Lab;
use std::path::Path;
use std::sync::OnceLock;

/// Reads the file; `adopt`: it may take over a lab of its name made from another file.
fn load(file: &Path, adopt: bool) -> Result<Lab> {
    let mut lab = Lab::load(file)?;
    lab.adopt = adopt;
    Ok(lab)
}

pub async fn up<S: System>(sys: &S, file: &Path, firewall: Option<FirewallKind>, adopt: bool) -> Result<i32> {
    let lab = load(file, adopt)?;
    let bar = OnceLock::new();
    let report =
        up::up(sys, &lab, firewall, &|n| drop(bar.set(progress(n, &format!("up {}", lab.name)))), &|| {
            bar.get().map_or((), |b: &indicatif::ProgressBar| b.inc(1))
        })
        .await;
    if let Some(b) = bar.get() {
        b.finish_and_clear();
    }
    let report = report?;
    if let Some(n) = &report.notice {
        eprintln!("netlab: {n}");
    }
    if report.plan.is_empty() {
        println!("lab {} is up to date: nothing to change", lab.name);
    } else {
        print!("{}", report.plan);
        println!("lab {}: {} changes applied", lab.name, report.plan.ops.len());
    }
    Ok(0)
}

pub async fn plan<S: System>(
    sys: &S,
    file: &Path,
    firewall: Option<FirewallKind>,
    adopt: bool,
) -> Result<i32> {
    let lab = load(file, adopt)?;
    let planned = up::plan(sys, &lab, firewall).await?;
    if let Some(n) = &planned.notice {
        eprintln!("netlab: {n}");
    }
    let plan = planned.plan;
    if plan.is_empty() {
        println!("lab {}: no changes", lab.name);
        return Ok(0);
    }
    print!("{plan}");
    println!("lab {}: {} changes", lab.name, plan.ops.len());
    Ok(2)
}

/// A progress bar on stderr for long runs at a terminal; hidden in CI and pipes.
fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if len < 50 || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
