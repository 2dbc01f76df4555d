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

/// An id of a scan's row (site, zone, door, card, person): a string kept
/// inline up to 24 bytes, so the ids a decision copies from the state and
/// from its scan take no allocation of their own. The event's own id is an
/// [`EventId`].
pub type Id = compact_str::CompactString;

/// An event's id: kept inline up to [`EventId::INLINE`] bytes, so that a
/// scan's id (a UUID, 36 bytes, past the 24 an [`Id`] keeps inline) takes
/// no allocation of its own on its way from the scan's line to its
/// decision's row; a longer id is kept on the heap. Compares, orders and
/// hashes as its text.
#[derive(Clone)]
pub struct EventId(EventIdRepr);

#[derive(Clone)]
enum EventIdRepr {
    Inline(arrayvec::ArrayString<{ EventId::INLINE }>),
    Heap(Box<str>),
}

impl EventId {
    /// The longest id kept inline: 40 bytes fill the 48 the type takes.
    pub const INLINE: usize = 40;

    pub fn new(id: &str) -> Self {
        match arrayvec::ArrayString::from(id) {
            Ok(inline) => EventId(EventIdRepr::Inline(inline)),
            Err(_) => EventId(EventIdRepr::Heap(id.into())),
        }
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            EventIdRepr::Inline(id) => id.as_str(),
            EventIdRepr::Heap(id) => id,
        }
    }
}

impl Default for EventId {
    fn default() -> Self {
        EventId(EventIdRepr::Inline(arrayvec::ArrayString::new()))
    }
}

impl std::ops::Deref for EventId {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for EventId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for EventId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for EventId {
    fn from(id: &str) -> Self {
        EventId::new(id)
    }
}

impl From<&String> for EventId {
    fn from(id: &String) -> Self {
        EventId::new(id)
    }
}

impl From<String> for EventId {
    fn from(id: String) -> Self {
        if id.len() <= EventId::INLINE {
            EventId::new(&id)
        } else {
            EventId(EventIdRepr::Heap(id.into_boxed_str()))
        }
    }
}

impl std::fmt::Debug for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for EventId {
    fn eq(&self, o: &EventId) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Eq for EventId {}

impl PartialEq<str> for EventId {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}

impl PartialEq<&str> for EventId {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

impl PartialEq<String> for EventId {
    fn eq(&self, o: &String) -> bool {
        self.as_str() == o
    }
}

impl PartialOrd for EventId {
    fn partial_cmp(&self, o: &EventId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for EventId {
    fn cmp(&self, o: &EventId) -> std::cmp::Ordering {
        self.as_str().cmp(o.as_str())
    }
}

impl std::hash::Hash for EventId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

/// Whether two ids (or any two strings) are equal, as `a == b`: compared
/// in two overlapping words when they are 8 to 16 bytes long (the ids of
/// cards, doors and people), in two overlapping halves or three bytes when
/// shorter (sites, zones), in line. `==` calls `memcmp`, which deciding a
/// scan and writing its row would otherwise call several times.
#[inline(always)]
pub fn same_id(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same_id`] for bytes.
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
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
    pub event_id: EventId,
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

        /// An event id holds its text whether it is kept inline or on the
        /// heap, and compares, orders and hashes as that text, across the
        /// two.
        #[test]
        fn event_id_is_its_text(
            a in "[a-f0-9\u{e9}-]{0,48}",
            b in "[a-f0-9\u{e9}-]{0,48}",
        ) {
            use std::hash::BuildHasher;
            let (x, y) = (EventId::new(&a), EventId::from(b.clone()));
            proptest::prop_assert_eq!(x.as_str(), a.as_str());
            proptest::prop_assert_eq!(&*y, b.as_str());
            proptest::prop_assert_eq!(x == y, a == b);
            proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            proptest::prop_assert!(x == a.as_str() && y == b);
            let hasher = std::collections::hash_map::RandomState::new();
            proptest::prop_assert_eq!(hasher.hash_one(&x), hasher.hash_one(a.as_str()));
        }
    }

    #[test]
    fn event_ids_up_to_forty_bytes_are_inline() {
        let uuid = "b0ee9ff4-4881-4196-b71a-d4786bdf19fa";
        let inline = |id: &EventId| matches!(id.0, EventIdRepr::Inline(_));
        assert!(inline(&EventId::new(uuid)));
        assert!(inline(&EventId::from(uuid.to_string())));
        assert!(inline(&EventId::new(&"é".repeat(20))));
        assert!(inline(&EventId::default()) && EventId::default().is_empty());
        let long = "x".repeat(41);
        for id in [EventId::new(&long), EventId::from(long.clone())] {
            assert!(!inline(&id));
            assert_eq!(id, long);
            assert_eq!(format!("{id} {id:?}"), format!("{long} {long:?}"));
        }
        assert_eq!(std::mem::size_of::<EventId>(), 48);
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
