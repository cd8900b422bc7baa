//! `netlab schema`: the JSON Schema of the topology file, or (`--markdown`) the key reference
//! of docs/FORMAT.md generated from it.

use crate::error::Result;
use crate::spec::schema;

pub fn run(markdown: bool) -> Result<i32> {
    let s = schema::schema();
    if markdown {
        print!("{}", schema::markdown(&s));
    } else {
        println!("{}", serde_json::to_string_pretty(&s).expect("a JSON value prints"));
    }
    Ok(0)
}
