//! `netlab up` and `netlab plan`.

use super::words::plural;
use crate::backend::System;
use crate::engine::up;
use crate::error::Result;
use crate::Lab;
use std::path::Path;
use std::sync::OnceLock;

pub async fn up<S: System>(sys: &S, file: &Path, opts: up::Options) -> Result<i32> {
    let lab = Lab::load(file)?;
    let bar = OnceLock::new();
    let report =
        up::up(sys, &lab, opts, &|n| drop(bar.set(progress(n, &format!("up {}", lab.name)))), &|| {
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
    for line in crate::engine::live::describe(Some(&lab), &report.held) {
        println!("held: {line}");
    }
    if report.plan.is_empty() {
        println!("lab {} is up to date: nothing to change", lab.name);
    } else {
        print!("{}", report.plan);
        if !report.reapplied.is_empty() {
            // Worth knowing: the kernel reacted to the change on its own.
            println!("the kernel undid these on its own; applied again:");
            for op in &report.reapplied {
                println!("  {op}");
            }
        }
        println!("lab {}: {} applied", lab.name, plural(report.plan.ops.len(), "change"));
    }
    Ok(0)
}

pub async fn plan<S: System>(sys: &S, file: &Path, opts: up::Options) -> Result<i32> {
    let lab = Lab::load(file)?;
    let planned = up::plan(sys, &lab, opts).await?;
    if let Some(n) = &planned.notice {
        eprintln!("netlab: {n}");
    }
    let held = crate::engine::up::overrides(&lab, planned.seen.record.as_ref(), opts);
    for line in crate::engine::live::describe(Some(&lab), &held) {
        println!("held: {line}");
    }
    let plan = planned.plan;
    if plan.is_empty() {
        println!("lab {}: no changes", lab.name);
        return Ok(0);
    }
    print!("{plan}");
    println!("lab {}: {}", lab.name, plural(plan.ops.len(), "change"));
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
