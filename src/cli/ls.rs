//! `netlab ls`: the labs with a record on this machine.

use crate::backend::Store;
use crate::error::Result;

pub fn run<S: Store>(sys: &S) -> Result<i32> {
    let labs = sys.all()?;
    if labs.is_empty() {
        println!("no labs are up");
        return Ok(0);
    }
    println!("{:<12}  {:<12}  {:>5}  FILE", "LAB", "PREFIX", "NODES");
    for r in labs {
        println!("{:<12}  {:<12}  {:>5}  {}", r.lab, r.prefix, r.nodes.len(), r.file.display());
    }
    Ok(0)
}
