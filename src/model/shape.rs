//! Link impairments: rate, delay, jitter, loss and queue length, per direction. A direction
//! is an endpoint's egress; `tbf` shapes a rate alone, `netem` does the rest.

use crate::error::SpecError;
use crate::spec::raw::{RawLink, RawShape, S};
use crate::spec::Source;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What leaves one end of a link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Bits per second.
    pub rate: Option<u64>,
    pub delay: Option<Duration>,
    pub jitter: Option<Duration>,
    /// Percent of packets dropped.
    pub loss: Option<f64>,
    /// Queue length in packets.
    pub limit: Option<u32>,
}

impl Shape {
    pub fn is_empty(&self) -> bool {
        *self == Shape::default()
    }
    /// Whether it takes `netem` (anything but a plain rate).
    pub fn needs_netem(&self) -> bool {
        self.delay.is_some() || self.jitter.is_some() || self.loss.is_some()
    }
    /// The qdisc that carries it.
    pub fn kind(&self) -> &'static str {
        if self.needs_netem() {
            "netem"
        } else {
            "tbf"
        }
    }
    fn overlay(self, o: Shape) -> Shape {
        Shape {
            rate: o.rate.or(self.rate),
            delay: o.delay.or(self.delay),
            jitter: o.jitter.or(self.jitter),
            loss: o.loss.or(self.loss),
            limit: o.limit.or(self.limit),
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(r) = self.rate {
            parts.push(format!("rate {}", rate_text(r)));
        }
        if let Some(d) = self.delay {
            parts.push(format!("delay {}ms", d.as_secs_f64() * 1000.0));
        }
        if let Some(j) = self.jitter {
            parts.push(format!("jitter {}ms", j.as_secs_f64() * 1000.0));
        }
        if let Some(l) = self.loss {
            parts.push(format!("loss {l}%"));
        }
        if let Some(l) = self.limit {
            parts.push(format!("limit {l}"));
        }
        write!(f, "{} {}", self.kind(), parts.join(" "))
    }
}

/// A rate as the file writes it: "100mbit", "1500kbit".
pub fn rate_text(bps: u64) -> String {
    for (unit, div) in [("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1_000)] {
        if bps >= div && bps % div == 0 {
            return format!("{}{unit}", bps / div);
        }
    }
    format!("{bps}bit")
}

/// "100mbit", "1.5gbit", "512kbit", "10mbps" (bytes), "1000bit".
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let units: [(&str, f64); 8] = [
        ("gbps", 8e9),
        ("mbps", 8e6),
        ("kbps", 8e3),
        ("bps", 8.0),
        ("gbit", 1e9),
        ("mbit", 1e6),
        ("kbit", 1e3),
        ("bit", 1.0),
    ];
    let bad = || format!("rate \"{s}\" is not a rate; write e.g. \"100mbit\", \"1gbit\" or \"512kbit\"");
    let (num, mult) =
        units.iter().find_map(|(u, m)| t.strip_suffix(u).map(|n| (n.trim(), *m))).ok_or_else(bad)?;
    let v: f64 = num.parse().map_err(|_| bad())?;
    let bps = v * mult;
    if !bps.is_finite() || bps < 8000.0 {
        return Err(format!("rate \"{s}\" is below 8kbit, which no link can usefully run at"));
    }
    if bps > 1e12 {
        return Err(format!("rate \"{s}\" is above 1000gbit"));
    }
    Ok(bps as u64)
}

/// The longest delay or jitter of a link.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// "20ms", "1.5s", "250us": a delay or jitter given as text (not from the file, whose values
/// go through `duration::of_file`), parsed by the one duration parser, at most 60 s.
pub fn parse_time(s: &str) -> Result<Duration, String> {
    let d = super::duration::parse_str(s).map_err(|why| match why.as_str() {
        "has no unit" => format!("\"{s}\" has no unit; write e.g. \"{}ms\" or \"{}s\"", s.trim(), s.trim()),
        "is not a duration" => format!("\"{s}\" is not a duration; write e.g. \"20ms\" or \"1s\""),
        _ => format!("\"{s}\" {why}"),
    })?;
    super::duration::within(d, Duration::ZERO, MAX_DELAY).map_err(|why| format!("\"{s}\" {why}"))
}

/// "1%", "0.5%".
pub fn parse_loss(s: &str) -> Result<f64, String> {
    let bad = || format!("loss \"{s}\" is not a percentage; write e.g. \"1%\"");
    let v: f64 = s.trim().strip_suffix('%').ok_or_else(bad)?.trim().parse().map_err(|_| bad())?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("loss \"{s}\" is not between 0% and 100%"));
    }
    Ok(v)
}

type R<T> = Result<T, SpecError>;

/// A delay or jitter of the file, by the one duration parser.
fn time(src: &Source, key: &str, v: &Option<S<toml::Value>>, example: &str) -> R<Option<Duration>> {
    v.as_ref().map(|v| super::duration::of_file(src, key, v, Duration::ZERO, MAX_DELAY, example)).transpose()
}

/// One direction's impairment from its keys, each error located.
pub(crate) fn one(
    src: &Source,
    rate: &Option<S<String>>,
    delay: &Option<S<toml::Value>>,
    jitter: &Option<S<toml::Value>>,
    loss: &Option<S<String>>,
    limit: &Option<S<i64>>,
) -> R<Shape> {
    fn conv<T>(
        src: &Source,
        v: &Option<S<String>>,
        f: fn(&str) -> Result<T, String>,
        hint: &str,
    ) -> R<Option<T>> {
        v.as_ref().map(|x| f(x.get_ref()).map_err(|e| src.error(x.span(), e, hint))).transpose()
    }
    let shape = Shape {
        rate: conv(src, rate, parse_rate, "write rate = \"100mbit\"")?,
        delay: time(src, "delay", delay, "20ms")?,
        jitter: time(src, "jitter", jitter, "5ms")?,
        loss: conv(src, loss, parse_loss, "write loss = \"1%\"")?,
        limit: match limit {
            None => None,
            Some(l) => {
                Some(u32::try_from(*l.get_ref()).ok().filter(|v| (1..=1_000_000).contains(v)).ok_or_else(
                    || {
                        src.error(
                            l.span(),
                            format!("limit {} is not a queue length", l.get_ref()),
                            "write limit = 1000 (packets)",
                        )
                    },
                )?)
            }
        },
    };
    if let (Some(j), None) = (shape.jitter, shape.delay) {
        let span = jitter.as_ref().map(|x| x.span()).unwrap_or(0..0);
        return Err(src.error(
            span,
            format!("jitter {}ms needs a delay to vary around", j.as_millis()),
            "add delay = \"20ms\"",
        ));
    }
    Ok(shape)
}

/// The egress shape of each end of a link: (a's, b's).
pub fn resolve(src: &Source, l: &RawLink) -> R<(Shape, Shape)> {
    let both = one(src, &l.rate, &l.delay, &l.jitter, &l.loss, &l.limit)?;
    let dir = |d: Option<&S<RawShape>>| -> R<Shape> {
        match d {
            None => Ok(both),
            Some(s) => {
                let s = s.get_ref();
                Ok(both.overlay(one(src, &s.rate, &s.delay, &s.jitter, &s.loss, &s.limit)?))
            }
        }
    };
    Ok((dir(l.a_to_b.as_deref())?, dir(l.b_to_a.as_deref())?))
}

/// What to tell the user when the kernel lacks the qdisc `kind` that an impairment needs.
pub fn missing(kind: &str) -> String {
    let what = if kind == "netem" { "delay, jitter and loss" } else { "rate" };
    format!(
        "this kernel has no sch_{kind}: load the module (modprobe sch_{kind}) or drop {what} from the file"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_rate("100mbit"), Ok(100_000_000));
        assert_eq!(parse_rate("1.5Gbit"), Ok(1_500_000_000));
        assert_eq!(parse_rate("10mbps"), Ok(80_000_000));
        assert!(parse_rate("fast").is_err() && parse_rate("1bit").is_err());
        assert_eq!(parse_time("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(parse_time("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_time("20").is_err());
        assert_eq!(parse_loss("0.5%"), Ok(0.5));
        assert!(parse_loss("101%").is_err());
        let s = Shape { rate: Some(100_000_000), ..Default::default() };
        assert_eq!(s.to_string(), "tbf rate 100mbit");
        assert!(!s.needs_netem());
    }
}
