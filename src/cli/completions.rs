//! `netlab completions` and `netlab man`: the command line describing itself, generated from
//! the same clap definition that parses it, so they cannot drift from the real flags.

use super::Cli;
use crate::error::{Result, SysError};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> Result<i32> {
    // Generated into memory first: clap_complete panics on a write error, and a closed
    // stdout (`| head`) must end netlab quietly.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "netlab", &mut script);
    std::io::Write::write_all(&mut std::io::stdout(), &script)
        .map_err(|e| SysError::new("writing the completion script", e))?;
    Ok(0)
}

/// Prints the main manual page, or writes `netlab.1` and a `netlab-SUBCOMMAND.1` per
/// subcommand into `dir`.
pub fn man(dir: Option<&Path>) -> Result<i32> {
    let io = |what: String| move |e| SysError::new(what, e);
    match dir {
        None => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(io("writing the manual page".into()))?,
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .map_err(io(format!("writing manual pages into {}", dir.display())))?;
        }
    }
    Ok(0)
}
