//! Durations of the file (`timeout`, `exec_timeout`, `delay`, `jitter`), parsed here and only
//! here, by one parser: a string with a unit, in humantime's syntax — `"2s"`, `"1m"`,
//! `"500ms"`, `"1.5s"`, `"250us"`, `"1h30m"`. A bare number is refused, in or out of quotes:
//! `2` could mean 2 s as well as 2 ms. Every bound is checked on the number before it becomes a
//! `Duration`, so no value of the file can make the conversion panic.

use crate::error::SpecError;
use crate::spec::raw::S;
use crate::spec::Source;
use std::time::Duration;

/// No duration of a lab is longer than this: a longer one is a typo or an attack.
pub const MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a value is no duration, in words that follow the key ("timeout 1e300 ...").
fn too_long() -> String {
    "is longer than a day".to_string()
}

/// What follows the key for a number without a unit.
const NO_UNIT: &str = "has no unit";

/// Parses a duration written as a string: a number with a unit, as humantime reads it.
pub fn parse_str(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err("is negative".into());
    }
    if let Ok(n) = t.parse::<f64>() {
        if n.is_nan() {
            return Err("is not a number".into());
        }
        if n > MAX.as_secs_f64() {
            return Err(too_long());
        }
        return Err(NO_UNIT.into());
    }
    match humantime::parse_duration(t) {
        Ok(d) if d > MAX => Err(too_long()),
        Ok(d) => Ok(d),
        Err(humantime::DurationError::NumberOverflow) => Err(too_long()),
        Err(_) => Err("is not a duration".into()),
    }
}

/// Parses a duration of the file: a string with a unit. A bare number is refused (`NO_UNIT`).
pub fn parse_value(v: &toml::Value) -> Result<Duration, String> {
    match v {
        toml::Value::Integer(i) if *i < 0 => Err("is negative".into()),
        toml::Value::Float(f) if *f < 0.0 => Err("is negative".into()),
        toml::Value::Float(f) if f.is_nan() => Err("is not a number".into()),
        toml::Value::Float(f) if *f > MAX.as_secs_f64() => Err(too_long()),
        toml::Value::Integer(i) if *i as f64 > MAX.as_secs_f64() => Err(too_long()),
        toml::Value::Integer(_) | toml::Value::Float(_) => Err(NO_UNIT.into()),
        toml::Value::String(s) => parse_str(s),
        _ => Err("is not a duration".into()),
    }
}

/// The duration of key `key` of the file, within `[min, max]`, or an error at its value.
/// The hint of a bare number is that number in seconds (`write timeout = "2s"`); any other
/// is the bounds and `example`. Every duration key of the format goes through here.
pub fn of_file(
    src: &Source,
    key: &str,
    v: &S<toml::Value>,
    min: Duration,
    max: Duration,
    example: &str,
) -> Result<Duration, SpecError> {
    let written = src.text.get(v.span()).unwrap_or("").trim();
    parse_value(v.get_ref()).and_then(|d| within(d, min, max)).map_err(|why| {
        // A bare number that would be a good duration in seconds: say how to write it.
        let number = match v.get_ref() {
            toml::Value::Integer(_) | toml::Value::Float(_) => Some(written.to_string()),
            toml::Value::String(s) => Some(s.trim().to_string()),
            _ => None,
        }
        .filter(|n| {
            n.parse::<f64>().is_ok_and(|secs| (min.as_secs_f64()..=max.as_secs_f64()).contains(&secs))
        });
        let hint = match number {
            Some(n) if why == NO_UNIT => {
                // In the unit of the example: a delay is more likely milliseconds.
                let unit = example.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
                format!("write {key} = \"{n}{unit}\": a duration is a string with a unit (ms, s, m, h)")
            }
            _ => format!(
                "write a duration between {} and {}, such as {key} = \"{example}\" (units: ms, s, m, h)",
                show(min),
                show(max)
            ),
        };
        src.error(v.span(), format!("{key} {written} {why}"), hint)
    })
}

/// A duration within `[min, max]`, or why not ("is not a duration between 1ms and 300s").
pub fn within(d: Duration, min: Duration, max: Duration) -> Result<Duration, String> {
    if d < min || d > max {
        return Err(format!("is not between {} and {}", show(min), show(max)));
    }
    Ok(d)
}

/// A short spelling of a bound: `1ms`, `300s`, `0s`.
pub fn show(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_nanos() % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else {
        humantime::format_duration(d).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value::{Float, Integer, String as Str};

    #[test]
    fn units() {
        assert_eq!(parse_str("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_str("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_str("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_str("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_str("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_str("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_value(&Str("1m".into())), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn bare_numbers_have_no_unit() {
        assert_eq!(parse_str("3"), Err("has no unit".into()));
        assert_eq!(parse_str("0.5"), Err("has no unit".into()));
        assert_eq!(parse_value(&Integer(3)), Err("has no unit".into()));
        assert_eq!(parse_value(&Float(0.25)), Err("has no unit".into()));
    }

    #[test]
    fn a_bare_number_in_the_file_is_answered_with_its_seconds() {
        let text = "[[check]]\ntimeout = 2\n".to_string();
        let src = Source { path: "t.toml".into(), text };
        let at = src.text.find('2').unwrap();
        let v = S::new(at..at + 1, Integer(2));
        let e = of_file(&src, "timeout", &v, Duration::from_millis(1), Duration::from_secs(300), "3s");
        let e = e.unwrap_err();
        let d = &e.diagnostics()[0];
        assert_eq!((d.line, d.col), (2, 11));
        assert_eq!(d.message, "timeout 2 has no unit");
        assert!(d.hint.starts_with("write timeout = \"2s\""), "{}", d.hint);
        let v = S::new(at..at + 1, Str("1m".into()));
        assert_eq!(
            of_file(&src, "timeout", &v, Duration::from_millis(1), Duration::from_secs(300), "3s").unwrap(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn huge_values_are_refused_not_panicked_on() {
        assert_eq!(parse_value(&Float(1e300)), Err("is longer than a day".into()));
        assert_eq!(parse_value(&Float(f64::INFINITY)), Err("is longer than a day".into()));
        assert_eq!(parse_value(&Integer(i64::MAX)), Err("is longer than a day".into()));
        assert_eq!(parse_str("1e300"), Err("is longer than a day".into()));
        assert_eq!(parse_str("1e20s"), Err("is not a duration".into()));
        assert_eq!(parse_str("99999999999999999999999s"), Err("is longer than a day".into()));
        assert_eq!(parse_str("2d"), Err("is longer than a day".into()));
        assert_eq!(parse_str("1d"), Ok(MAX));
    }

    #[test]
    fn negative_and_nan_are_refused() {
        assert_eq!(parse_value(&Integer(-1)), Err("is negative".into()));
        assert_eq!(parse_value(&Float(-1.0)), Err("is negative".into()));
        assert_eq!(parse_str("-1s"), Err("is negative".into()));
        assert_eq!(parse_str("-1"), Err("is negative".into()));
        assert_eq!(parse_value(&Float(f64::NAN)), Err("is not a number".into()));
        assert_eq!(parse_str("NaN"), Err("is not a number".into()));
        assert_eq!(parse_value(&Str("soon".into())), Err("is not a duration".into()));
        assert_eq!(parse_value(&toml::Value::Boolean(true)), Err("is not a duration".into()));
    }

    #[test]
    fn bounds() {
        let (lo, hi) = (Duration::from_millis(1), Duration::from_secs(300));
        assert!(within(Duration::from_secs(2), lo, hi).is_ok());
        assert_eq!(within(Duration::ZERO, lo, hi), Err("is not between 1ms and 300s".into()));
    }
}
