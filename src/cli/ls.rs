//! `netlab ls [--json]`: the labs with a record on this machine.

use super::table::Table;
use crate::backend::Store;
use crate::error::Result;

pub fn run<S: Store>(sys: &S, json: bool) -> Result<i32> {
    let labs = sys.all()?;
    if json {
        let view = super::json::labs(&labs);
        println!("{}", serde_json::to_string_pretty(&view).expect("labs serialize"));
        return Ok(0);
    }
    if labs.is_empty() {
        println!("no labs are up");
        return Ok(0);
    }
    let mut t = Table::new(&["LAB", "PREFIX", "NODES", "FILE"]).right(2);
    for r in labs {
        t.row(vec![r.lab, r.prefix, r.nodes.len().to_string(), r.file.display().to_string()]);
    }
    print!("{t}");
    Ok(0)
}
