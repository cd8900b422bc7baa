//! `netlab down FILE` / `netlab down --lab NAME`.

use crate::backend::System;
use crate::engine::down::down;
use crate::error::{Error, Result};
use crate::model::names::lab_name_problem;
use crate::Lab;
use std::path::Path;

pub async fn run<S: System>(sys: &S, file: Option<&Path>, lab: Option<&str>) -> Result<i32> {
    let name = match (file, lab) {
        (Some(f), None) => Lab::load(f)?.name,
        (None, Some(l)) => {
            if let Some(p) = lab_name_problem(l) {
                return Err(Error::Usage(p));
            }
            l.to_string()
        }
        _ => return Err(Error::Usage("give either a topology file or --lab NAME".into())),
    };
    let report = down(sys, &name).await?;
    for s in &report.skipped {
        eprintln!("netlab: left alone: {s}");
    }
    if report.found_anything {
        println!(
            "lab {name}: removed {} namespaces and {} host interfaces",
            report.namespaces.len(),
            report.host_links.len()
        );
    } else {
        println!("lab {name}: nothing to remove");
    }
    Ok(0)
}
