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
        println!("{}", not_up(&name, &sys.all().unwrap_or_default()));
    }
    Ok(0)
}

/// "no lab named X is up (labs up: a, b)".
fn not_up(name: &str, up: &[crate::state::Record]) -> String {
    let mut names: Vec<&str> = up.iter().map(|r| r.lab.as_str()).filter(|l| *l != name).collect();
    names.sort();
    if names.is_empty() {
        format!("no lab named {name} is up (no labs are up)")
    } else {
        format!("no lab named {name} is up (labs up: {})", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_that_is_not_up_is_named_with_those_that_are() {
        let rec = |l: &str| crate::state::Record { lab: l.into(), ..Default::default() };
        assert_eq!(not_up("x", &[]), "no lab named x is up (no labs are up)");
        assert_eq!(not_up("x", &[rec("web"), rec("lan")]), "no lab named x is up (labs up: lan, web)");
    }
}
