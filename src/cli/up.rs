//! `netlab up` and `netlab plan`.

use crate::error::Result;
use crate::Lab;
use std::path::Path;

pub async fn up(file: &Path) -> Result<i32> {
    let lab = Lab::load(file)?;
    let report = lab.up().await?;
    if report.plan.is_empty() {
        println!("lab {} is up to date: nothing to change", lab.name());
    } else {
        print!("{}", report.plan);
        println!("lab {}: {} changes applied", lab.name(), report.plan.ops.len());
    }
    Ok(0)
}

pub async fn plan(file: &Path) -> Result<i32> {
    let lab = Lab::load(file)?;
    let (plan, _) = lab.plan().await?;
    if plan.is_empty() {
        println!("lab {}: no changes", lab.name());
        return Ok(0);
    }
    print!("{plan}");
    println!("lab {}: {} changes", lab.name(), plan.ops.len());
    Ok(2)
}
