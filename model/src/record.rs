//! The rows the pipeline lands in the lake, one type per table (SPEC 4).

use crate::event::{AdminType, Direction};
use crate::reason::{Outcome, Reason};
use crate::time::Micros;

/// Zone-local calendar fields of a decision, computed at decision time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalTime {
    pub date: chrono::NaiveDate,
    pub hour: i8,
    /// ISO weekday, 1 = Monday.
    pub weekday: i8,
}

/// An id of a scan's row (event, site, zone, door, card, person): a string
/// kept inline up to 24 bytes, so the ids a decision copies from the state
/// and from its scan take no allocation of their own.
pub type Id = compact_str::CompactString;

/// Whether two ids (or any two strings) are equal, as `a == b`: compared
/// in two overlapping words when they are 8 to 16 bytes long (the ids of
/// cards, doors and people), in two overlapping halves or three bytes when
/// shorter (sites, zones), in line. `==` calls `memcmp`, which deciding a
/// scan and writing its row would otherwise call several times.
#[inline(always)]
pub fn same_id(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |s: &[u8], at: usize| {
        let mut w = [0; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_le_bytes(w)
    };
    // The ids' lengths first: a match on the ranges would test the short
    // ones before them.
    if (8..=16).contains(&n) {
        word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8)
    } else if n > 16 {
        a == b
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    }
}

/// One decided scan: a `decisions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub event_id: Id,
    pub occurred_at: Micros,
    pub processed_at: Micros,
    pub site_id: Option<Id>,
    pub zone_id: Option<Id>,
    pub door_id: Id,
    pub card_id: Id,
    pub employee_id: Option<Id>,
    pub direction: Direction,
    pub outcome: Outcome,
    pub reason: Reason,
    pub presence_change: i8,
    pub local: Option<LocalTime>,
    /// The numbers the live state knows the row's ids by. Not part of the
    /// row: see [`IdNumbers`].
    pub numbers: IdNumbers,
}

/// The numbers under which the live state keeps a decision's zone, door,
/// card and person ([`IdNumbers::NONE`] where it keeps none). A file writer
/// that meets a number again finds the id's dictionary entry by it instead
/// of hashing the id; it checks that the entry holds the row's id, so a
/// number is only ever a hint, and a wrong one costs time, never a row.
/// Any two are equal: the numbers belong to one process's state, not to
/// the row.
#[derive(Debug, Clone, Copy)]
pub struct IdNumbers {
    pub zone: u32,
    pub door: u32,
    pub card: u32,
    pub employee: u32,
}

impl IdNumbers {
    /// Where the state has no number for an id.
    pub const NONE: u32 = u32::MAX;
    /// No numbers at all: a decision read back or made outside the state.
    pub const UNKNOWN: IdNumbers = IdNumbers {
        zone: Self::NONE,
        door: Self::NONE,
        card: Self::NONE,
        employee: Self::NONE,
    };
}

impl Default for IdNumbers {
    fn default() -> Self {
        Self::UNKNOWN
    }
}

impl PartialEq for IdNumbers {
    fn eq(&self, _: &IdNumbers) -> bool {
        true
    }
}

impl Eq for IdNumbers {}

/// One recorded admin event, applied or not: an `admin_events` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRecord {
    pub event_id: String,
    pub occurred_at: Micros,
    pub received_at: Micros,
    pub actor: String,
    pub admin_type: AdminType,
    pub entity_id: String,
    pub payload: String,
    pub applied: bool,
    /// `stale`, `unknown_employee`, `unknown_zone` or `unknown_card` when not applied.
    pub error: Option<&'static str>,
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Kinesis,
    Sqs,
    File,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Kinesis => "kinesis",
            Source::Sqs => "sqs",
            Source::File => "file",
        }
    }
}

/// A record that could not be decoded: a `rejected` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub received_at: Micros,
    pub source: Source,
    /// Sequence number, message id, or `file:line`.
    pub source_ref: String,
    pub error: String,
    /// The first 64 KiB of the record, invalid UTF-8 replaced by U+FFFD.
    pub raw: String,
}

impl Rejected {
    /// Builds a rejected row, keeping at most [`crate::MAX_RECORD_BYTES`] of the raw bytes.
    pub fn new(
        received_at: Micros,
        source: Source,
        source_ref: String,
        error: String,
        raw: &[u8],
    ) -> Self {
        let cut = &raw[..raw.len().min(crate::MAX_RECORD_BYTES)];
        Rejected {
            received_at,
            source,
            source_ref,
            error,
            // Valid UTF-8 (most raw records) is checked a word at a time;
            // the lossy reading goes byte by byte.
            raw: match std::str::from_utf8(cut) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(cut).into_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_RECORD_BYTES;

    proptest::proptest! {
        /// Strings of every length `same_id` compares apart, equal or
        /// differing in one byte anywhere (or in length).
        #[test]
        fn same_id_is_equality(
            a in proptest::prop_oneof!["[ab]{0,4}", "[ab\u{e9}]{0,20}"],
            at in 0usize..40,
            change in 0usize..4,
        ) {
            let mut b: Vec<char> = a.chars().collect();
            if !b.is_empty() {
                let i = at % b.len();
                match change {
                    // Another character, of the same length in bytes
                    // where it can be.
                    0 | 1 => b[i] = if b[i] == 'a' { 'b' } else { 'a' },
                    2 => {
                        b.remove(i);
                    }
                    _ => {}
                }
            }
            let b: String = b.into_iter().collect();
            proptest::prop_assert_eq!(same_id(&a, &b), a == b);
            proptest::prop_assert!(same_id(&a, &a.clone()));
        }
    }

    fn raw(bytes: &[u8]) -> String {
        Rejected::new(0, Source::File, "f:1".into(), "bad".into(), bytes).raw
    }

    #[test]
    fn raw_keeps_text_and_replaces_what_is_not_utf8() {
        assert_eq!(
            raw("{\"door_id\":\"été\"".as_bytes()),
            "{\"door_id\":\"été\""
        );
        assert_eq!(raw(b"a\xffb\xc3"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(raw(b""), "");
    }

    #[test]
    fn raw_is_cut_at_the_record_limit() {
        let long = vec![b'x'; MAX_RECORD_BYTES + 10];
        assert_eq!(raw(&long).len(), MAX_RECORD_BYTES);
        // A cut through a two-byte character leaves its first byte: replaced.
        let mut split = vec![b'x'; MAX_RECORD_BYTES - 1];
        split.extend_from_slice("é and more".as_bytes());
        let kept = raw(&split);
        assert!(kept.ends_with("x\u{FFFD}"), "{:?}", &kept[kept.len() - 8..]);
        assert_eq!(kept.chars().count(), MAX_RECORD_BYTES);
    }
}
