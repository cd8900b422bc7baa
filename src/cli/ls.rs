//! `netlab ls [--json]`: the labs with a record on this machine.

use super::table::Table;
use crate::backend::Store;
use crate::error::Result;
use crate::state::Record;

pub fn run<S: Store>(sys: &S, json: bool) -> Result<i32> {
    let labs = sys.all()?;
    if json {
        let view = super::json::labs(&labs);
        println!("{}", serde_json::to_string_pretty(&view).expect("labs serialize"));
    } else if labs.is_empty() {
        println!("no labs are up");
    } else {
        print!("{}", table(&labs));
    }
    Ok(0)
}

/// One line per lab, each column as wide as its widest cell.
fn table(labs: &[Record]) -> String {
    let mut t = Table::new(&["LAB", "PREFIX", "NODES", "FILE"]).right(2);
    for r in labs {
        t.row(vec![r.lab.clone(), r.prefix.clone(), r.nodes.len().to_string(), r.file.display().to_string()]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_as_wide_as_their_longest_name() {
        let rec = |lab: &str, prefix: &str, nodes: usize| crate::state::Record {
            lab: lab.into(),
            prefix: prefix.into(),
            file: format!("/labs/{lab}.toml").into(),
            nodes: (0..nodes).map(|n| (format!("n{n}"), None)).collect(),
            ..Default::default()
        };
        let text = super::table(&[rec("a", "", 2), rec("twelve-chars", "a-long-prefix", 130)]);
        assert_eq!(
            text,
            "LAB           PREFIX         NODES  FILE\n\
             a                                2  /labs/a.toml\n\
             twelve-chars  a-long-prefix    130  /labs/twelve-chars.toml\n"
        );
    }
}
