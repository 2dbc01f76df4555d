//! Strict RFC 3339 timestamps (SPEC 3.1) as UTC microseconds since the epoch.
//!
//! The grammar accepted is RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
//! `T` and `Z` may be lower case (RFC 3339 §5.6 note); a space separator, a missing
//! offset, out-of-range or calendar-invalid fields are errors. Fractions of any length
//! are accepted and truncated to microseconds. Leap seconds (`:60`) are rejected: no
//! reader clock emits them and they have no UTC-microsecond representation.

use std::cell::Cell;

use chrono::{DateTime, NaiveDate, Utc};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Why a timestamp string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp: {0}")]
pub struct TimestampError(pub &'static str);

fn digits(b: &[u8], from: usize, n: usize) -> Result<u32, TimestampError> {
    let s = b.get(from..from + n).ok_or(TimestampError("too short"))?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return Err(TimestampError("expected a digit"));
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

fn expect(b: &[u8], at: usize, want: &[u8]) -> Result<(), TimestampError> {
    match b.get(at) {
        Some(c) if want.contains(c) => Ok(()),
        _ => Err(TimestampError("unexpected character")),
    }
}

/// A time given by a user (report parameters): RFC 3339, or a bare date
/// `YYYY-MM-DD` meaning midnight UTC. The error says what to write instead.
pub fn parse_time_arg(s: &str) -> Result<Micros, String> {
    let full;
    let text = if s.len() == 10 {
        full = format!("{s}T00:00:00Z");
        &full
    } else {
        s
    };
    parse_rfc3339(text).map_err(|e| format!("{e} (use e.g. 2026-03-02 or 2026-03-02T08:00:00Z)"))
}

/// Parses a strict RFC 3339 timestamp into UTC microseconds.
pub fn parse_rfc3339(s: &str) -> Result<Micros, TimestampError> {
    let b = s.as_bytes();
    let (days, second_of_day) = match date_and_time(b) {
        Some(read) => read,
        None => date_and_time_or_why(b)?,
    };
    let (micros, offset_secs) = match millis_and_offset(b) {
        Some(read) => read,
        None => fraction_and_offset(b)?,
    };
    let secs = days * 86_400 + i64::from(second_of_day) - offset_secs;
    let t = secs * 1_000_000 + i64::from(micros);
    // An offset can carry a year-0000 or year-9999 time across the calendar's
    // edge; such an instant has no four-digit UTC date to partition it by.
    if !(MIN_MICROS..=MAX_MICROS).contains(&t) {
        return Err(TimestampError("UTC date outside years 0000-9999"));
    }
    Ok(t)
}

/// What follows the first 19 bytes in the shapes nearly every scan's
/// timestamp has, milliseconds and an offset, `.mmmZ` or `.mmm±HH:MM`: the
/// microseconds and the offset's seconds east of UTC. `None` for anything
/// else, which [`fraction_and_offset`] reads.
#[inline]
fn millis_and_offset(b: &[u8]) -> Option<(u32, i64)> {
    let digit = |c: u8| {
        Some(c.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
            .map(u32::from)
    };
    let (millis, offset) = match *b.get(19..)? {
        [b'.', m1, m2, m3, b'Z' | b'z'] => ([m1, m2, m3], 0),
        [b'.', m1, m2, m3, sign @ (b'+' | b'-'), h1, h2, b':', n1, n2] => {
            let hours = digit(h1)? * 10 + digit(h2)?;
            let minutes = digit(n1)? * 10 + digit(n2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let v = i64::from(hours * 3600 + minutes * 60);
            ([m1, m2, m3], if sign == b'-' { -v } else { v })
        }
        _ => return None,
    };
    let [m1, m2, m3] = millis;
    let millis = digit(m1)? * 100 + digit(m2)? * 10 + digit(m3)?;
    Some((millis * 1000, offset))
}

/// What follows the first 19 bytes: an optional fraction of any length
/// and the offset, as microseconds and the offset's seconds east of UTC.
/// Out of line, as [`date_and_time_or_why`] is: kept apart from the common
/// shape's reading, they leave it registers enough not to save any.
#[cold]
#[inline(never)]
fn fraction_and_offset(b: &[u8]) -> Result<(u32, i64), TimestampError> {
    let mut i = 19;
    let mut micros = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 6 {
                micros = micros * 10 + u32::from(c - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err(TimestampError("empty fraction"));
        }
        for _ in n..6 {
            micros *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            expect(b, i + 3, b":")?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err(TimestampError("offset out of range"));
            }
            i += 6;
            let v = i64::from(oh * 3600 + om * 60);
            if sign == b'-' { -v } else { v }
        }
        _ => return Err(TimestampError("missing offset (Z or ±HH:MM)")),
    };
    if i != b.len() {
        return Err(TimestampError("trailing characters"));
    }
    Ok((micros, offset_secs))
}

thread_local! {
    /// The date (the first ten bytes) of the last timestamp this thread
    /// read whole, and its day number. Scans come in time order, and nearly
    /// every one falls on the day of the one before: its date is then
    /// neither checked nor counted again, being the same bytes.
    static LAST_DATE: Cell<(u64, u16, i64)> =
        const { Cell::new((u64::from_le_bytes(*b"1970-01-"), u16::from_le_bytes(*b"01"), 0)) };
}

/// `YYYY-MM-DDTHH:MM:SS`, the first 19 bytes of every timestamp, as the
/// day number of the date (as [`date_day`]) and the second of the day;
/// `None` when anything in them is wrong, which
/// [`date_and_time_or_why`] then names. The digits are read and checked
/// all at once, and the date counted without a calendar type (or taken
/// from [`LAST_DATE`]).
fn date_and_time(b: &[u8]) -> Option<(i64, u32)> {
    let h = b.get(..19)?;
    let d = |i: usize| h[i].wrapping_sub(b'0');
    let two = |i: usize| u32::from(d(i)) * 10 + u32::from(d(i + 1));
    // `T` in either case: 0x54 and 0x74 are the only bytes that become `t` when bit 5 is set.
    if h[10] | 0x20 != b't' {
        return None;
    }
    let (hour, minute, second) = time_of_day(h)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut head = [0; 8];
    head.copy_from_slice(&h[..8]);
    let date = (u64::from_le_bytes(head), u16::from_le_bytes([h[8], h[9]]));
    let (last_head, last_tail, last_day) = LAST_DATE.get();
    let day = if date == (last_head, last_tail) {
        last_day
    } else {
        let mut wrong = 0;
        for i in [0, 1, 2, 3, 5, 6, 8, 9] {
            wrong |= u8::from(d(i) > 9);
        }
        if wrong != 0 || h[4] != b'-' || h[7] != b'-' {
            return None;
        }
        let day = civil_day(two(0) * 100 + two(2), two(5), two(8))?;
        LAST_DATE.set((date.0, date.1, day));
        day
    };
    Some((day, hour * 3600 + minute * 60 + second))
}

/// `HH:MM:SS` (bytes 11 to 18) read as one word: every digit's byte is
/// 0x30 to 0x39 (high nibble 3, low nibble at most 9), the colons are
/// colons, and each two digits come out as one number by a multiply.
#[inline]
fn time_of_day(h: &[u8]) -> Option<(u32, u32, u32)> {
    // Little-endian lanes: the digits are bytes 0, 1, 3, 4, 6 and 7.
    const DIGITS: u64 = 0xFFFF_00FF_FF00_FFFF;
    const COLONS: u64 = 0x0000_3A00_003A_0000;
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let mut w = [0; 8];
    w.copy_from_slice(h.get(11..19)?);
    let x = u64::from_le_bytes(w);
    let d = x & DIGITS & LOW;
    let digits = x & DIGITS & HIGH == 0x3030_3030_3030_3030 & DIGITS
        // A low nibble over 9 carries into the high one (no lane overflows).
        && (d + (0x0606_0606_0606_0606 & DIGITS)) & HIGH == 0;
    if !digits || x & !DIGITS != COLONS {
        return None;
    }
    // Each lane is at most 9 · 10 + 9: no carry crosses into the next.
    let v = d * 10 + (d >> 8);
    let lane = |i: u32| (v >> (8 * i)) as u32 & 0xFF;
    Some((lane(0), lane(3), lane(6)))
}

/// [`date_and_time`], field by field, saying what is wrong.
#[cold]
#[inline(never)]
fn date_and_time_or_why(b: &[u8]) -> Result<(i64, u32), TimestampError> {
    let year = digits(b, 0, 4)?;
    expect(b, 4, b"-")?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b"-")?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b"Tt")?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b":")?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b":")?;
    let second = digits(b, 17, 2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err(TimestampError("time of day out of range"));
    }
    let days = civil_day(year, month, day).ok_or(TimestampError("not a calendar date"))?;
    Ok((days, hour * 3600 + minute * 60 + second))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (years 0 to 9999 here), or `None` when there is no such date. Counted in
/// 400-year eras of 146,097 days from a year that starts in March, so
/// that the leap day ends the year (Howard Hinnant's `days_from_civil`).
fn civil_day(year: u32, month: u32, day: u32) -> Option<i64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let length = match month {
        2 => 28 + u32::from(leap),
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > length {
        return None;
    }
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let march_month = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * march_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    Some(era * 146_097 + day_of_era - 719_468)
}

/// 0000-01-01T00:00:00Z
const MIN_MICROS: Micros = -62_167_219_200_000_000;
/// 9999-12-31T23:59:59.999999Z
const MAX_MICROS: Micros = 253_402_300_799_999_999;

use chrono::Datelike;
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Formats UTC microseconds as RFC 3339 with a `Z` suffix and microsecond precision.
pub fn format_rfc3339(t: Micros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(t) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => format!("invalid({t})"),
    }
}

/// `YYYY-MM-DD`, written directly: chrono's `format` interprets its pattern
/// on every call, which is most of the cost of a row's `local_date`. Years
/// outside 0–9999 keep chrono's form (a sign and more digits).
pub fn format_date(d: NaiveDate) -> String {
    let mut s = String::with_capacity(10);
    push_date(&mut s, d);
    s
}

/// Appends [`format_date`]'s text of `d` to `s`.
pub fn push_date(s: &mut String, d: NaiveDate) {
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        s.push_str(&d.format("%Y-%m-%d").to_string());
        return;
    }
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let y = y as u32;
    s.extend([digit(y / 1000), digit(y / 100), digit(y / 10), digit(y)]);
    s.push('-');
    s.extend([digit(m / 10), digit(m)]);
    s.push('-');
    s.extend([digit(day / 10), digit(day)]);
}

/// Microseconds in a UTC day (the lake's days have no leap seconds).
pub const DAY_MICROS: Micros = 86_400_000_000;

/// Whole UTC days since the Unix epoch: instants on the same day number
/// have the same [`utc_date`]. Day `d` runs from `d * DAY_MICROS` on.
pub fn utc_day(t: Micros) -> i64 {
    t.div_euclid(DAY_MICROS)
}

/// Days from 1970-01-01 to `d`: the day number [`utc_day`] gives the
/// instants of that date.
pub fn date_day(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE
}

/// The UTC calendar date of an instant, as used for `dt=` partitions.
pub fn utc_date(t: Micros) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt((utc_day(t) + UNIX_EPOCH_DAYS_FROM_CE) as i32)
        .unwrap_or(NaiveDate::MIN)
}

/// A source of "now", so that processing times are deterministic in tests.
pub trait Clock: Send + Sync {
    /// Current time in UTC microseconds.
    fn now(&self) -> Micros;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Micros {
        Utc::now().timestamp_micros()
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Micros);

impl Clock for FixedClock {
    fn now(&self) -> Micros {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Micros {
        parse_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_offsets_and_fractions() {
        let base = ok("2026-03-02T08:01:02Z");
        assert_eq!(base, 1_772_438_462_000_000);
        assert_eq!(ok("2026-03-02T08:01:02.123Z"), base + 123_000);
        assert_eq!(ok("2026-03-02T09:01:02+01:00"), base);
        assert_eq!(ok("2026-03-02T03:31:02-04:30"), base);
        assert_eq!(ok("2026-03-02t08:01:02z"), base);
        // beyond six digits is truncated, not rounded
        assert_eq!(ok("2026-03-02T08:01:02.1234569Z"), base + 123_456);
        assert_eq!(ok("2026-03-02T08:01:02.000000000001Z"), base);
        assert_eq!(ok("1969-12-31T23:59:59.5Z"), -500_000);
        assert_eq!(ok("2024-02-29T00:00:00Z"), 1_709_164_800_000_000);
        assert_eq!(ok("0000-01-01T00:00:00Z"), MIN_MICROS);
        assert_eq!(ok("9999-12-31T23:59:59.999999Z"), MAX_MICROS);
        assert_eq!(utc_date(MAX_MICROS).to_string(), "9999-12-31");
        assert_eq!(utc_date(MIN_MICROS).to_string(), "0000-01-01");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "2026-03-02 08:01:02Z",
            "2026-03-02T08:01:02",
            "2026-03-02T08:01Z",
            "2026-02-30T08:01:02Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-03-02T24:00:00Z",
            "2026-03-02T23:60:00Z",
            "2026-03-02T23:59:60Z",
            "2026-03-02T08:01:02.Z",
            "2026-03-02T08:01:02+0100",
            "2026-03-02T08:01:02+24:00",
            "2026-03-02T08:01:02Z ",
            " 2026-03-02T08:01:02Z",
            "2026-3-02T08:01:02Z",
            "+2026-03-02T08:01:02Z",
            "2026-03-02T08:01:02.12a3Z",
            "2026-03-02T08:01:02ZZ",
            "２０２６-03-02T08:01:02Z",
            "9999-12-31T23:59:59-00:01",
            "0000-01-01T00:00:00+00:01",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let t = ok("2026-03-02T08:01:02.123456Z");
        assert_eq!(format_rfc3339(t), "2026-03-02T08:01:02.123456Z");
        for (y, m, d) in [
            (2026, 3, 2),
            (1, 1, 1),
            (0, 12, 31),
            (9999, 12, 31),
            (10_000, 1, 1),
            (-1, 6, 9),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(format_date(date), date.format("%Y-%m-%d").to_string());
        }
        assert_eq!(utc_date(t).to_string(), "2026-03-02");
        assert_eq!(utc_date(-1).to_string(), "1969-12-31");
        for t in [t, -1, 0, MIN_MICROS, MAX_MICROS] {
            assert_eq!(date_day(utc_date(t)), utc_day(t), "{t}");
        }
        assert_eq!(date_day(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()), 0);
    }

    #[test]
    fn every_date_of_four_digit_years_is_chrono_s() {
        // Every year of a 400-year cycle, its edges and those of the range;
        // every month number a timestamp can hold and days past each end.
        let years = (0..=400).chain(1_600..=2_400).chain(9_600..=9_999);
        for year in years {
            for month in 0..=19 {
                for day in 0..=32 {
                    let want = NaiveDate::from_ymd_opt(year as i32, month, day).map(date_day);
                    assert_eq!(civil_day(year, month, day), want, "{year}-{month}-{day}");
                    let text = format!("{year:04}-{month:02}-{day:02}T23:59:59Z");
                    let fast = date_and_time(text.as_bytes()).map(|(d, _)| d);
                    assert_eq!(fast, want, "{text}");
                    let why = date_and_time_or_why(text.as_bytes()).ok().map(|(d, _)| d);
                    assert_eq!(why, want, "{text}");
                }
            }
        }
    }

    proptest::proptest! {
        /// Whatever the first 19 bytes are, the fast reading answers as the
        /// field-by-field one does.
        #[test]
        fn date_and_time_is_the_field_by_field_reading(
            (year, month, day) in (0u32..=9999, 1u32..=12, 1u32..=31),
            (hour, minute, second) in (0u32..24, 0u32..60, 0u32..60),
            t in proptest::sample::select(vec!['T', 't']),
            at in 0usize..19,
            byte in proptest::sample::select(b"09/:;?-Tt p\x00\x7f\xb0\xff".to_vec()),
            change in proptest::bool::ANY,
        ) {
            let text = format!("{year:04}-{month:02}-{day:02}{t}{hour:02}:{minute:02}:{second:02}");
            let mut b = text.into_bytes();
            if change {
                b[at] = byte;
            }
            proptest::prop_assert_eq!(date_and_time(&b), date_and_time_or_why(&b).ok());
        }

        /// Timestamps read one after another, many on the day of the one
        /// before (whose date the fast reading keeps), some wrong in their
        /// date or time: each is read as on its own, field by field.
        #[test]
        fn a_run_of_timestamps_is_read_as_each_alone(
            stamps in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["2026-03-01", "2026-03-02", "2024-02-29", "2023-02-29", "1970-01-01", "0000-01-01"]),
                    (0u32..26, 0u32..61, 0u32..61),
                    proptest::option::of((0usize..19, proptest::sample::select(b"0 9/:-T\x00".to_vec()))),
                ),
                1..40,
            ),
        ) {
            for (date, (hour, minute, second), damage) in stamps {
                let mut b = format!("{date}T{hour:02}:{minute:02}:{second:02}").into_bytes();
                if let Some((at, byte)) = damage {
                    b[at] = byte;
                }
                proptest::prop_assert_eq!(
                    date_and_time(&b),
                    date_and_time_or_why(&b).ok(),
                    "{}", String::from_utf8_lossy(&b)
                );
            }
        }

        /// Whatever follows the first 19 bytes, the reading of `.mmmZ` and
        /// `.mmm±HH:MM` answers only as the general one does, and takes
        /// every such tail the general one accepts.
        #[test]
        fn a_millisecond_tail_is_the_general_reading(
            digits in "[0-9]{0,8}",
            end in proptest::sample::select(vec![
                "Z", "z", "+01:00", "-05:00", "-00:00", "+23:59", "+24:00", "-00:60", "+1:00", "", "Zz",
            ]),
            damage in proptest::option::of((0usize..12, proptest::sample::select(b".0 9/:+-Zz\x00\xb0".to_vec()))),
        ) {
            let mut b = format!("2026-03-02T08:01:02.{digits}{end}").into_bytes();
            if let Some((at, byte)) = damage {
                let at = 19 + at % (b.len() - 19);
                b[at] = byte;
            }
            let general = fraction_and_offset(&b).ok();
            match millis_and_offset(&b) {
                Some(read) => proptest::prop_assert_eq!(general, Some(read)),
                None => proptest::prop_assert!(
                    !(general.is_some()
                        && matches!(b.len(), 24 | 29)
                        && b[19] == b'.'
                        && matches!(b[23], b'Z' | b'z' | b'+' | b'-')),
                    "{} left to the general reading", String::from_utf8_lossy(&b)
                ),
            }
        }

        #[test]
        fn agrees_with_chrono(secs in 0i64..4_102_444_800, micros in 0u32..1_000_000, off in -1439i32..1440) {
            let utc = DateTime::<Utc>::from_timestamp(secs, micros * 1000).unwrap();
            let fixed = chrono::FixedOffset::east_opt(off * 60).unwrap();
            let text = utc.with_timezone(&fixed).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            proptest::prop_assert_eq!(parse_rfc3339(&text).unwrap(), secs * 1_000_000 + i64::from(micros));
        }
    }
}
