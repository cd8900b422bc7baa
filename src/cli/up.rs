//! `netlab up` and `netlab plan`.

use crate::error::Result;
use crate::model::firewall::FirewallKind;
use crate::Lab;
use std::path::Path;

pub async fn up(file: &Path, firewall: Option<FirewallKind>) -> Result<i32> {
    let lab = Lab::load(file)?;
    let report = lab.reconcile(firewall).await?;
    if let Some(n) = &report.notice {
        eprintln!("netlab: {n}");
    }
    if report.plan.is_empty() {
        println!("lab {} is up to date: nothing to change", lab.name());
    } else {
        print!("{}", report.plan);
        println!("lab {}: {} changes applied", lab.name(), report.plan.ops.len());
    }
    Ok(0)
}

pub async fn plan(file: &Path, firewall: Option<FirewallKind>) -> Result<i32> {
    let lab = Lab::load(file)?;
    let planned = lab.plan(firewall).await?;
    if let Some(n) = &planned.notice {
        eprintln!("netlab: {n}");
    }
    let plan = planned.plan;
    if plan.is_empty() {
        println!("lab {}: no changes", lab.name());
        return Ok(0);
    }
    print!("{plan}");
    println!("lab {}: {} changes", lab.name(), plan.ops.len());
    Ok(2)
}
