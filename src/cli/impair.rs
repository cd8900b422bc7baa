//! `netlab impair NODE:IFACE [--rate R] [--delay D] [--jitter J] [--loss L] [--limit N] |
//! --clear [--lab LAB]`: an interface's egress impairment changed at run time, as a recorded
//! override; with no impairment given, what is in force (file, override, kernel).

use crate::backend::System;
use crate::engine::live::{self, Change};
use crate::error::{Error, Result};
use crate::model::shape::{parse_loss, parse_rate, parse_time, Shape};

/// The impairment flags as given.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub rate: Option<String>,
    pub delay: Option<String>,
    pub jitter: Option<String>,
    pub loss: Option<String>,
    pub limit: Option<u32>,
    pub clear: bool,
}

impl Flags {
    fn shape(&self) -> Result<Shape> {
        let usage = |r: std::result::Result<_, String>| r.map_err(Error::Usage);
        let time = |what: &str, s: &str| parse_time(s).map_err(|e| format!("--{what} {e}"));
        Ok(Shape {
            rate: self.rate.as_deref().map(parse_rate).transpose().map_err(Error::Usage)?,
            delay: usage(self.delay.as_deref().map(|d| time("delay", d)).transpose())?,
            jitter: usage(self.jitter.as_deref().map(|j| time("jitter", j)).transpose())?,
            loss: self.loss.as_deref().map(parse_loss).transpose().map_err(Error::Usage)?,
            limit: match self.limit {
                Some(0) | Some(1_000_001..) => {
                    return Err(Error::Usage("--limit is a queue length of 1 to 1000000 packets".into()))
                }
                l => l,
            },
        })
    }
}

pub async fn run<S: System>(sys: &S, target: &str, lab: Option<&str>, flags: Flags) -> Result<i32> {
    let lab = live::locate_lab(sys, target, lab)?;
    let shape = flags.shape()?;
    let change = match (flags.clear, shape.is_empty()) {
        (true, true) => Change::Clear,
        (true, false) => return Err(Error::Usage("--clear takes no impairment beside it".into())),
        (false, true) => {
            println!("{}", live::impairment(sys, &lab, target).await?);
            return Ok(0);
        }
        (false, false) => Change::Impair(shape),
    };
    let report = live::set(sys, &lab, target, change).await?;
    print!("{}", report.plan);
    match change {
        Change::Impair(s) => {
            println!("lab {}: {target} impaired {s} (until `netlab impair {target} --clear`)", lab.name)
        }
        _ => println!("lab {}: {target} back to the file's impairment", lab.name),
    }
    Ok(0)
}
