//! The `netlab` command: parse the command line, call the library, choose the exit code.

use clap::Parser;
use netlab::cli::Cli;

fn main() {
    let cli = Cli::parse();
    let code = match netlab::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("netlab: {e}");
            1
        }
    };
    std::process::exit(code);
}
