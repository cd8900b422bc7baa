//! Durations of the file (`timeout`, `delay`, `jitter`), parsed once, here, by one parser:
//! `"2s"`, `"1m"`, `"500ms"`, `"1.5s"`, `"250us"`, `"1h30m"` (humantime's syntax), or a bare
//! number of seconds (`3`, `0.5`, `"3"`). Every bound is checked on the number before it
//! becomes a `Duration`, so no value of the file can make the conversion panic.

use std::time::Duration;

/// No duration of a lab is longer than this: a longer one is a typo or an attack.
pub const MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a value is no duration, in words that follow the key ("timeout 1e300 ...").
fn too_long() -> String {
    "is longer than a day".to_string()
}

/// A number of seconds, checked before conversion.
fn seconds(secs: f64) -> Result<Duration, String> {
    if secs.is_nan() {
        return Err("is not a number".into());
    }
    if secs < 0.0 {
        return Err("is negative".into());
    }
    if secs > MAX.as_secs_f64() {
        return Err(too_long());
    }
    // Finite, non-negative and at most a day: the conversion cannot fail.
    Duration::try_from_secs_f64(secs).map_err(|_| too_long())
}

/// Parses a duration written as a string: humantime's units, or a bare number of seconds.
pub fn parse_str(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err("is negative".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        // "3", "0.5", and also "nan", "inf" and "1e300", which `seconds` refuses.
        return seconds(secs);
    }
    match humantime::parse_duration(t) {
        Ok(d) if d > MAX => Err(too_long()),
        Ok(d) => Ok(d),
        Err(humantime::DurationError::NumberOverflow) => Err(too_long()),
        Err(_) => Err("is not a duration".into()),
    }
}

/// Parses a duration of the file: a number of seconds (integer or float) or a string.
pub fn parse_value(v: &toml::Value) -> Result<Duration, String> {
    match v {
        toml::Value::Integer(i) if *i < 0 => Err("is negative".into()),
        toml::Value::Integer(i) => seconds(*i as f64),
        toml::Value::Float(f) => seconds(*f),
        toml::Value::String(s) => parse_str(s),
        _ => Err("is not a duration".into()),
    }
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
    fn units_and_bare_numbers() {
        assert_eq!(parse_str("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_str("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_str("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_str("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_str("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_str("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_value(&Integer(3)), Ok(Duration::from_secs(3)));
        assert_eq!(parse_value(&Float(0.25)), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn huge_values_are_refused_not_panicked_on() {
        assert_eq!(parse_value(&Float(1e300)), Err("is longer than a day".into()));
        assert_eq!(parse_value(&Float(1e20)), Err("is longer than a day".into()));
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
