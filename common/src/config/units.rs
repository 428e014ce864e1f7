//! Values with units, as users write them in flags and in the config file:
//! durations (`250ms`, `1.5s`, `2m`, or plain seconds) parsed by
//! `humantime`, sizes (`10MiB`, `64 KB`, or plain bytes) parsed by
//! `bytesize`, and plain counts. A leading `-` is rejected with "must not
//! be negative" instead of clap's "unexpected argument '-1'".
//!
//! Each type parses from a string (a flag, or a quoted TOML value) and, in
//! the file, from a bare number in its plain unit.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

const NEGATIVE: &str = "must not be negative";

fn check_sign(s: &str) -> Result<&str, String> {
    let s = s.trim();
    if s.starts_with("--") {
        Err(format!("a value is missing (found the flag {s})"))
    } else if s.starts_with('-') {
        Err(NEGATIVE.to_owned())
    } else {
        Ok(s)
    }
}

/// A clap value parser for counts: a clear message for `-1`, then the
/// type's own parse error.
pub fn count<T>(s: &str) -> Result<T, String>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    check_sign(s)?.parse::<T>().map_err(|e| format!("{e} (expected a whole number)"))
}

/// A duration: `250ms`, `1.5s`, `2m 30s`, or a plain number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    fn from_secs(v: f64) -> Result<Self, String> {
        if v.is_nan() || v.is_infinite() {
            return Err(format!("{v} is not a number of seconds"));
        }
        if v < 0.0 {
            return Err(NEGATIVE.to_owned());
        }
        Duration::try_from_secs_f64(v).map(Self).map_err(|e| e.to_string())
    }
}

impl FromStr for HumanDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = check_sign(s)?;
        match s.parse::<f64>() {
            Ok(v) => Self::from_secs(v),
            Err(_) => humantime::parse_duration(s)
                .map(Self)
                .map_err(|e| format!("{e} in {s:?} (e.g. 30s, 250ms, 1.5s, 2m, or plain seconds)")),
        }
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds (a number) or a duration such as \"250ms\" or \"1.5s\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                HumanDuration::from_secs(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v < 0 { Err(E::custom(NEGATIVE)) } else { self.visit_u64(v.unsigned_abs()) }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(HumanDuration(Duration::from_secs(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: `10MiB`, `512 KiB`, `1.5MB`, or a plain number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanBytes(pub u64);

impl FromStr for HumanBytes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = check_sign(s)?;
        if let Ok(n) = s.parse::<u64>() {
            return Ok(Self(n));
        }
        s.parse::<bytesize::ByteSize>()
            .map(|b| Self(b.as_u64()))
            .map_err(|_| format!("not a size: {s:?} (e.g. 10MiB, 512KiB, 1MB, or plain bytes)"))
    }
}

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", bytesize::ByteSize(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for HumanBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes (a whole number) or a size such as \"10MiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v < 0 { Err(E::custom(NEGATIVE)) } else { self.visit_u64(v.unsigned_abs()) }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(HumanBytes(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        let ok = [
            ("30", ms(30_000)),
            ("0.25", ms(250)),
            ("0", Duration::ZERO),
            ("30s", ms(30_000)),
            ("250ms", ms(250)),
            ("1.5s", ms(1500)),
            ("2m 30s", ms(150_000)),
            (" 1h ", ms(3_600_000)),
        ];
        for (s, want) in ok {
            assert_eq!(s.parse::<HumanDuration>(), Ok(HumanDuration(want)), "{s:?}");
        }
        for (s, says) in [
            ("-1", NEGATIVE),
            ("-0.5s", NEGATIVE),
            ("soon", "soon"),
            ("10 parsecs", "parsecs"),
            ("inf", "not a number"),
            ("NaN", "not a number"),
            ("", "empty"),
        ] {
            let e = s.parse::<HumanDuration>().unwrap_err();
            assert!(e.contains(says), "{s:?}: {e}");
        }
    }

    #[test]
    fn sizes() {
        for (s, want) in [
            ("1024", 1024),
            ("10MiB", 10 << 20),
            ("10 MiB", 10 << 20),
            ("512KiB", 512 << 10),
            ("1MB", 1_000_000),
            ("1.5KiB", 1536),
            ("0", 0),
        ] {
            assert_eq!(s.parse::<HumanBytes>(), Ok(HumanBytes(want)), "{s:?}");
        }
        for (s, says) in [("-1", NEGATIVE), ("-5MiB", NEGATIVE), ("lots", "lots"), ("10 XB", "XB")]
        {
            let e = s.parse::<HumanBytes>().unwrap_err();
            assert!(e.contains(says), "{s:?}: {e}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(count::<u32>("16"), Ok(16));
        assert_eq!(count::<u32>("-1").unwrap_err(), NEGATIVE);
        assert!(count::<u32>("many").unwrap_err().contains("whole number"));
        assert!(count::<u8>("300").is_err());
    }

    #[test]
    fn file_values_are_numbers_or_strings() {
        #[derive(serde::Deserialize)]
        struct T {
            d: HumanDuration,
            b: HumanBytes,
        }
        let t: T = toml::from_str("d = 1.5\nb = 4096\n").unwrap();
        assert_eq!((t.d.0, t.b.0), (Duration::from_millis(1500), 4096));
        let t: T = toml::from_str("d = \"250ms\"\nb = \"10MiB\"\n").unwrap();
        assert_eq!((t.d.0, t.b.0), (Duration::from_millis(250), 10 << 20));
        let t: T = toml::from_str("d = 2\nb = \"1KiB\"\n").unwrap();
        assert_eq!(t.d.0, Duration::from_secs(2));
        for (text, says) in [
            ("d = -1.0\nb = 1\n", NEGATIVE),
            ("d = -1\nb = 1\n", NEGATIVE),
            ("d = 1\nb = -1\n", NEGATIVE),
            ("d = true\nb = 1\n", "seconds (a number)"),
            ("d = 1\nb = 1.5\n", "bytes (a whole number)"),
        ] {
            let e = toml::from_str::<T>(text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
