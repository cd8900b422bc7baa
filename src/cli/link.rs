//! `netlab link down|up NODE:IFACE [--lab LAB]`: a link held down like a pulled cable, as a
//! runtime override that `plan` and `up` respect until `link up`, `up --reset` or `down`.

use crate::backend::System;
use crate::engine::live::{self, Change};
use crate::error::Result;

pub async fn run<S: System>(sys: &S, target: &str, lab: Option<&str>, down: bool) -> Result<i32> {
    let lab = live::locate_lab(sys, target, lab)?;
    let report = live::set(sys, &lab, target, if down { Change::Down } else { Change::Up }).await?;
    print!("{}", report.plan);
    if down {
        println!("lab {}: {target} down (held until `netlab link up {target}`)", lab.name);
    } else {
        println!("lab {}: {target} up", lab.name);
    }
    Ok(0)
}
