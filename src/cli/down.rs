//! `netlab down FILE` / `netlab down --lab NAME`.

use super::words::plural;
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
            "lab {name}: removed {} and {}",
            plural(report.namespaces.len(), "namespace"),
            plural(report.host_links.len(), "host interface")
        );
    } else {
        // Not an error: `down` of a lab that is gone is done (and a script may run it twice).
        println!("{}", crate::engine::status::not_up(&name, &sys.all().unwrap_or_default()));
    }
    Ok(0)
}
