//! Entry and admin events (SPEC 2) and their validating decoder (SPEC 3.1).
//!
//! [`parse_line`] turns one line of input into an [`Event`] or a [`RecordError`]
//! whose text becomes the `error` column of a `rejected` row. It never panics on
//! any input.

use std::borrow::Cow;
use std::fmt;

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::record::{EventId, Id};
use crate::time::{Micros, parse_rfc3339};

/// The largest accepted line or record, in bytes, not counting the newline.
pub const MAX_RECORD_BYTES: usize = 65_536;

/// Why a record was rejected. The message names fields, never their values,
/// so it can be logged without leaking card ids or names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

impl RecordError {
    fn field(name: &str, what: impl fmt::Display) -> Self {
        RecordError(format!("`{name}`: {what}"))
    }
}

/// Scan direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    /// The direction a record names: `in` or `out`, nothing else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// One card scan at a door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryEvent {
    pub event_id: EventId,
    pub occurred_at: Micros,
    pub door_id: Id,
    pub card_id: Id,
    pub direction: Direction,
}

/// Card life-cycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardStatus {
    Active,
    Lost,
    Stolen,
    Revoked,
    Destroyed,
    Expired,
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Lost => "lost",
            CardStatus::Stolen => "stolen",
            CardStatus::Revoked => "revoked",
            CardStatus::Destroyed => "destroyed",
            CardStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => CardStatus::Active,
            "lost" => CardStatus::Lost,
            "stolen" => CardStatus::Stolen,
            "revoked" => CardStatus::Revoked,
            "destroyed" => CardStatus::Destroyed,
            "expired" => CardStatus::Expired,
            _ => return None,
        })
    }
}

/// Whether an employee may use their cards at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmployeeStatus {
    Active,
    Inactive,
}

impl EmployeeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EmployeeStatus::Active => "active",
            EmployeeStatus::Inactive => "inactive",
        }
    }
}

/// When a grant lets its holder in, in the zone's local wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schedule {
    Always,
    /// `weekdays` is a bit set: bit `d` is ISO weekday `d` (1 = Monday … 7 = Sunday).
    /// Minutes since local midnight; `start_min ≤ t < end_min`, or overnight when
    /// `end_min ≤ start_min`. `end_min` may be 1440 (`24:00`).
    Window {
        weekdays: u8,
        start_min: u16,
        end_min: u16,
    },
}

impl Schedule {
    /// The schedule as the JSON it was given in (`"always"` or an object).
    pub fn to_json(&self) -> String {
        match *self {
            Schedule::Always => "\"always\"".to_string(),
            Schedule::Window {
                weekdays,
                start_min,
                end_min,
            } => {
                let days: Vec<String> = (1..=7)
                    .filter(|d| weekdays & (1 << d) != 0)
                    .map(|d: u8| d.to_string())
                    .collect();
                format!(
                    "{{\"weekdays\":[{}],\"start\":\"{}\",\"end\":\"{}\"}}",
                    days.join(","),
                    hhmm(start_min),
                    hhmm(end_min)
                )
            }
        }
    }
}

impl Schedule {
    /// The schedule for people: `always`, or weekday runs and the zone-local
    /// window, e.g. `Mon-Fri 07:00-19:00`, `Mon,Wed,Fri 22:00-06:00`.
    pub fn describe(&self) -> String {
        const DAYS: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        match *self {
            Schedule::Always => "always".to_string(),
            Schedule::Window {
                weekdays,
                start_min,
                end_min,
            } => {
                let mut runs: Vec<String> = Vec::new();
                let mut d = 1u8;
                while d <= 7 {
                    if weekdays & (1 << d) == 0 {
                        d += 1;
                        continue;
                    }
                    let start = d;
                    while d < 7 && weekdays & (1 << (d + 1)) != 0 {
                        d += 1;
                    }
                    runs.push(match d - start {
                        0 => DAYS[start as usize].to_string(),
                        1 => format!("{},{}", DAYS[start as usize], DAYS[d as usize]),
                        _ => format!("{}-{}", DAYS[start as usize], DAYS[d as usize]),
                    });
                    d += 1;
                }
                let days = if runs.is_empty() {
                    "never".to_string()
                } else {
                    runs.join(",")
                };
                format!("{days} {}-{}", hhmm(start_min), hhmm(end_min))
            }
        }
    }
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// A zone: an area with its own occupancy, in one site and one timezone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub zone_id: String,
    pub name: String,
    pub site_id: String,
    pub timezone: Tz,
    pub capacity: u32,
}

/// A door (card reader) into one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Door {
    pub door_id: String,
    pub zone_id: String,
    pub name: String,
}

/// A person who may hold cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub employee_id: String,
    pub name: String,
    pub department: String,
    pub status: EmployeeStatus,
}

/// The kinds of admin event, with the stable names used in the `type` field and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminType {
    ZoneUpserted,
    DoorUpserted,
    EmployeeUpserted,
    CardIssued,
    CardStatusChanged,
    AccessGranted,
    AccessRevoked,
}

impl AdminType {
    pub const ALL: [AdminType; 7] = [
        AdminType::ZoneUpserted,
        AdminType::DoorUpserted,
        AdminType::EmployeeUpserted,
        AdminType::CardIssued,
        AdminType::CardStatusChanged,
        AdminType::AccessGranted,
        AdminType::AccessRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdminType::ZoneUpserted => "zone_upserted",
            AdminType::DoorUpserted => "door_upserted",
            AdminType::EmployeeUpserted => "employee_upserted",
            AdminType::CardIssued => "card_issued",
            AdminType::CardStatusChanged => "card_status_changed",
            AdminType::AccessGranted => "access_granted",
            AdminType::AccessRevoked => "access_revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The validated `data` of an admin event.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminData {
    ZoneUpserted(Zone),
    DoorUpserted(Door),
    EmployeeUpserted(Employee),
    CardIssued {
        card_id: String,
        employee_id: String,
        valid_from: Option<Micros>,
        valid_until: Option<Micros>,
    },
    CardStatusChanged {
        card_id: String,
        status: CardStatus,
    },
    AccessGranted {
        employee_id: String,
        zone_id: String,
        schedule: Schedule,
    },
    AccessRevoked {
        employee_id: String,
        zone_id: String,
    },
}

impl AdminData {
    pub fn admin_type(&self) -> AdminType {
        match self {
            AdminData::ZoneUpserted(_) => AdminType::ZoneUpserted,
            AdminData::DoorUpserted(_) => AdminType::DoorUpserted,
            AdminData::EmployeeUpserted(_) => AdminType::EmployeeUpserted,
            AdminData::CardIssued { .. } => AdminType::CardIssued,
            AdminData::CardStatusChanged { .. } => AdminType::CardStatusChanged,
            AdminData::AccessGranted { .. } => AdminType::AccessGranted,
            AdminData::AccessRevoked { .. } => AdminType::AccessRevoked,
        }
    }

    /// The entity this event changes (SPEC 3.1) as (kind, id, second id):
    /// `("zone" | "door" | "employee" | "card", id, "")` or
    /// `("grant", employee_id, zone_id)`. `card_issued` and
    /// `card_status_changed` name the same card.
    pub fn entity(&self) -> (&'static str, &str, &str) {
        match self {
            AdminData::ZoneUpserted(z) => ("zone", &z.zone_id, ""),
            AdminData::DoorUpserted(d) => ("door", &d.door_id, ""),
            AdminData::EmployeeUpserted(e) => ("employee", &e.employee_id, ""),
            AdminData::CardIssued { card_id, .. }
            | AdminData::CardStatusChanged { card_id, .. } => ("card", card_id, ""),
            AdminData::AccessGranted {
                employee_id,
                zone_id,
                ..
            }
            | AdminData::AccessRevoked {
                employee_id,
                zone_id,
            } => ("grant", employee_id, zone_id),
        }
    }

    /// The `entity_id` column: the entity's id, or `employee_id/zone_id` for a grant.
    pub fn entity_id(&self) -> String {
        match self.entity() {
            (_, id, "") => id.to_string(),
            (_, employee_id, zone_id) => format!("{employee_id}/{zone_id}"),
        }
    }
}

/// One back-office change.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminEvent {
    pub event_id: String,
    pub occurred_at: Micros,
    pub actor: String,
    pub data: AdminData,
    /// The `data` object as compact JSON with sorted keys.
    pub payload: String,
}

/// Either kind of input record.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Entry(EntryEvent),
    /// Boxed: an admin event is several times the size of a scan, and
    /// every scan moves through the reader's merge and the decider.
    Admin(Box<AdminEvent>),
}

impl Event {
    pub fn occurred_at(&self) -> Micros {
        match self {
            Event::Entry(e) => e.occurred_at,
            Event::Admin(a) => a.occurred_at,
        }
    }
}

/// Which of the two event shapes a line claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Entry,
    Admin,
}

/// Decodes one input line. `Ok(None)` for a blank line (skipped, not rejected).
pub fn parse_line(line: &[u8]) -> Result<Option<Event>, RecordError> {
    if line.len() > MAX_RECORD_BYTES {
        return Err(too_long(line.len()));
    }
    let text = std::str::from_utf8(line)
        .map_err(|e| RecordError(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    parse_text_line(text)
}

/// [`parse_line`] of a line already known to be UTF-8 (a reader that
/// checked a whole buffer of lines at once).
pub fn parse_text_line(text: &str) -> Result<Option<Event>, RecordError> {
    if text.len() > MAX_RECORD_BYTES {
        return Err(too_long(text.len()));
    }
    // Blank means JSON whitespace only: a line of other whitespace (vertical
    // tab, no-break space, U+2028) is not a record and not nothing either,
    // so it is rejected and shows, rather than skipped in silence.
    if text
        .bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return Ok(None);
    }
    parse_json(text).map(Some)
}

fn too_long(len: usize) -> RecordError {
    RecordError(format!(
        "record is {len} bytes, over the {MAX_RECORD_BYTES}-byte limit"
    ))
}

/// Decodes one JSON record (a line, a Kinesis record, an SQS message body).
pub fn parse_json(text: &str) -> Result<Event, RecordError> {
    if text.len() > MAX_RECORD_BYTES {
        return Err(too_long(text.len()));
    }
    // serde would read a JSON array positionally into the envelope's fields.
    if !text.starts_with('{') && !text.trim_start().starts_with('{') {
        return Err(RecordError(
            "invalid JSON: a record must be a JSON object".into(),
        ));
    }
    match plain_entry(text) {
        Some(e) => Ok(Event::Entry(e)),
        None => parse_envelope(text),
    }
}

/// The full decoder: any JSON object, every rule checked, every error named.
fn parse_envelope(text: &str) -> Result<Event, RecordError> {
    let env: Envelope<'_> = serde_json::from_str(text).map_err(json_error)?;
    if env.kind.is_some() {
        parse_admin(&env).map(|a| Event::Admin(Box::new(a)))
    } else {
        parse_entry(&env).map(Event::Entry)
    }
}

/// The keys of an entry event in a compact line, quoted and followed by
/// their colon, in the order of SPEC 2.1 (that of [`plain_entry`]'s slots).
const PLAIN_KEYS: [&str; 5] = [
    r#""event_id":"#,
    r#""occurred_at":"#,
    r#""door_id":"#,
    r#""card_id":"#,
    r#""direction":"#,
];

/// A key of [`PLAIN_KEYS`] as its first and its last eight bytes (they
/// overlap: keys are 10 to 14 bytes long), so that it is compared as two
/// words instead of through `memcmp`.
struct KeyWords {
    len: usize,
    head: u64,
    tail: u64,
}

impl KeyWords {
    const fn of(key: &str) -> KeyWords {
        let b = key.as_bytes();
        let len = b.len();
        assert!(len >= 8);
        let (mut head, mut tail, mut i) = (0u64, 0u64, 0);
        while i < 8 {
            head |= (b[i] as u64) << (8 * i);
            tail |= (b[len - 8 + i] as u64) << (8 * i);
            i += 1;
        }
        KeyWords { len, head, tail }
    }

    /// Whether `b` holds the key at byte `at`.
    #[inline(always)]
    fn is_at(&self, b: &[u8], at: usize) -> bool {
        let word = |r: &[u8], i: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&r[i..i + 8]);
            u64::from_le_bytes(w)
        };
        b.get(at..at + self.len)
            .is_some_and(|r| word(r, 0) == self.head && word(r, self.len - 8) == self.tail)
    }
}

const PLAIN_KEY_WORDS: [KeyWords; 5] = [
    KeyWords::of(PLAIN_KEYS[0]),
    KeyWords::of(PLAIN_KEYS[1]),
    KeyWords::of(PLAIN_KEYS[2]),
    KeyWords::of(PLAIN_KEYS[3]),
    KeyWords::of(PLAIN_KEYS[4]),
];

/// The shape nearly every scan arrives in, decoded without serde: one compact
/// object (no whitespace inside) holding exactly the five entry fields, in any
/// order, each once, each a string without escapes or control characters,
/// with only JSON whitespace after it. It answers only where the full decoder
/// would answer the same; anything else (another key, a `type`, an escape, a
/// value the rules refuse) is `None` and goes through that decoder, which
/// accepts it or says what is wrong.
fn plain_entry(text: &str) -> Option<EntryEvent> {
    let (entry, end) = plain_entry_start(text)?;
    text.as_bytes()[end..]
        .iter()
        .all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        .then_some(entry)
}

/// The line at the start of `text` (a buffer of whole lines) when it is a
/// plain scan ([`plain_entry`]) whose closing brace ends the line, newline
/// (or `\r\n`) right after it: the scan and the bytes of the line with its
/// newline. The plain decoder finds the line's end itself, so a reader need
/// not search for it first. `None` for any other line, which the reader
/// then cuts at its newline and decodes with [`parse_text_line`]: the same
/// answer for a line both read.
pub fn plain_line(text: &str) -> Option<(EntryEvent, usize)> {
    let (entry, end) = plain_entry_start(text)?;
    let b = text.as_bytes();
    let len = match b.get(end) {
        Some(b'\n') => end + 1,
        Some(b'\r') if b.get(end + 1) == Some(&b'\n') => end + 2,
        _ => return None,
    };
    (end <= MAX_RECORD_BYTES).then_some((entry, len))
}

/// [`plain_entry`] of the object `text` starts with, whatever follows it,
/// and the index just after the object's closing brace. A string's scan
/// stops at a newline (a control character), so on a buffer of lines it
/// reads no further than the first line's end.
fn plain_entry_start(text: &str) -> Option<(EntryEvent, usize)> {
    let b = text.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut fields: [Option<&str>; 5] = [None; 5];
    let mut at = 1;
    // Fields read so far.
    let mut n = 0;
    loop {
        // Fields come in the order of SPEC 2.1 as a rule: the key expected
        // next is compared whole, quotes and colon included, before a key
        // is read as a string of its own.
        let (slot, value_at) = match PLAIN_KEY_WORDS.get(n) {
            Some(key) if key.is_at(b, at) => (n, at + key.len),
            _ => {
                let (key, next) = plain_string(text, at)?;
                if b.get(next) != Some(&b':') {
                    return None;
                }
                let slot = match key {
                    "event_id" => 0,
                    "occurred_at" => 1,
                    "door_id" => 2,
                    "card_id" => 3,
                    "direction" => 4,
                    _ => return None,
                };
                (slot, next + 1)
            }
        };
        n += 1;
        let (value, next) = match known_length(b, slot, value_at) {
            Some(len) => (
                text.get(value_at + 1..value_at + 1 + len)?,
                value_at + len + 2,
            ),
            None => plain_string(text, value_at)?,
        };
        if fields[slot].replace(value).is_some() {
            return None;
        }
        at = next + 1;
        match b.get(next)? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    let [
        Some(event_id),
        Some(occurred_at),
        Some(door_id),
        Some(card_id),
        Some(direction),
    ] = fields
    else {
        return None;
    };
    if event_id.is_empty() || door_id.is_empty() || card_id.is_empty() {
        return None;
    }
    let direction = Direction::parse(direction)?;
    let entry = EntryEvent {
        event_id: EventId::new(event_id),
        occurred_at: parse_rfc3339(occurred_at).ok()?,
        door_id: Id::from(door_id),
        card_id: Id::from(card_id),
        direction,
    };
    Some((entry, at))
}

/// The length of the value of field `slot` starting at byte `at` (its
/// opening quote) when it has the length nearly every scan's has, so that
/// it is taken without a search for its closing quote: a timestamp of 24
/// bytes (`2026-03-02T08:00:00.000Z`) or a direction. A quote at the
/// expected end is not proof that the value is a plain string, but the
/// value's own decoding is: a timestamp or a direction read from it holds
/// no quote, backslash or control character, and one that does not read
/// sends the record to the full decoder.
#[inline(always)]
fn known_length(b: &[u8], slot: usize, at: usize) -> Option<usize> {
    let quote = |i: usize| b.get(at + i) == Some(&b'"');
    let len = match slot {
        1 => 24,
        4 if quote(3) => 2,
        4 => 3,
        _ => return None,
    };
    (quote(0) && quote(len + 1)).then_some(len)
}

/// The JSON string starting at byte `at` (its opening quote) when it holds no
/// escape and no control character, and the index just after its closing quote.
/// Inlined into the decoder's loop, which keeps the word masks in registers.
#[inline(always)]
fn plain_string(text: &str, at: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let len = first_json_special(b.get(start..)?)?;
    if b[start + len] != b'"' {
        return None;
    }
    Some((text.get(start..start + len)?, start + len + 1))
}

/// Index of the first `"`, `\` or control character, eight bytes at a time
/// (a record's strings are short and a line goes on after each of them, so
/// nearly every string is scanned in whole words): the bytes a JSON string
/// cannot hold as they are.
pub fn first_json_special(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte that is zero (exact up to the first one).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut at = 0;
    while let Some(w) = b.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(w);
        let x = u64::from_le_bytes(word);
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        let found =
            below_space | zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    b[at..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|i| at + i)
}

/// Decodes a record that must be an entry event (a Kinesis record).
pub fn parse_entry_json(text: &str) -> Result<EntryEvent, RecordError> {
    match parse_json(text)? {
        Event::Entry(e) => Ok(e),
        Event::Admin(_) => Err(RecordError(
            "an admin event where an entry event was expected".into(),
        )),
    }
}

/// Decodes a record that must be an admin event (an SQS message).
pub fn parse_admin_json(text: &str) -> Result<AdminEvent, RecordError> {
    match parse_json(text)? {
        Event::Admin(a) => Ok(*a),
        Event::Entry(_) => Err(RecordError(
            "an entry event where an admin event was expected (no `type`)".into(),
        )),
    }
}

fn json_error(e: serde_json::Error) -> RecordError {
    // serde_json's messages name the field and the expected type but, for strings,
    // may quote the offending value; keep only the classification and position.
    let msg = e.to_string();
    let msg = match msg.find("invalid type: string \"") {
        Some(_) => format!(
            "invalid type: string, at line {} column {}",
            e.line(),
            e.column()
        ),
        None => msg,
    };
    RecordError(format!("invalid JSON: {msg}"))
}

/// Keeps a present field's raw text, including a literal `null`.
fn present<'de, D>(d: D) -> Result<Option<&'de RawValue>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    event_id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    occurred_at: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    door_id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    card_id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    direction: Option<&'a RawValue>,
    #[serde(rename = "type", default, borrow, deserialize_with = "present")]
    kind: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    actor: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

fn string<'a>(raw: Option<&'a RawValue>, name: &str) -> Result<Cow<'a, str>, RecordError> {
    let raw = raw.ok_or_else(|| RecordError::field(name, "missing"))?;
    let s: Cow<'a, str> = match serde_json::from_str::<&'a str>(raw.get()) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(serde_json::from_str::<String>(raw.get()).map_err(|_| {
            RecordError::field(name, format!("expected a string, found {}", json_kind(raw)))
        })?),
    };
    Ok(s)
}

fn json_kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        _ => "a number",
    }
}

fn id(raw: Option<&RawValue>, name: &str) -> Result<String, RecordError> {
    let s = string(raw, name)?;
    nonempty(s.into_owned(), name)
}

fn nonempty(s: String, name: &str) -> Result<String, RecordError> {
    if s.is_empty() {
        Err(RecordError::field(name, "must not be empty"))
    } else {
        Ok(s)
    }
}

fn timestamp(raw: Option<&RawValue>, name: &str) -> Result<Micros, RecordError> {
    let s = string(raw, name)?;
    parse_rfc3339(&s).map_err(|e| RecordError::field(name, e))
}

fn parse_entry(env: &Envelope<'_>) -> Result<EntryEvent, RecordError> {
    let event_id = id(env.event_id, "event_id")?;
    let occurred_at = timestamp(env.occurred_at, "occurred_at")?;
    let door_id = id(env.door_id, "door_id")?;
    let card_id = id(env.card_id, "card_id")?;
    let direction = Direction::parse(&string(env.direction, "direction")?)
        .ok_or_else(|| RecordError::field("direction", "expected \"in\" or \"out\""))?;
    Ok(EntryEvent {
        event_id: event_id.into(),
        occurred_at,
        door_id: door_id.into(),
        card_id: card_id.into(),
        direction,
    })
}

fn parse_admin(env: &Envelope<'_>) -> Result<AdminEvent, RecordError> {
    let kind_text = string(env.kind, "type")?;
    let kind = AdminType::parse(&kind_text)
        .ok_or_else(|| RecordError::field("type", "not a known admin event type"))?;
    let event_id = id(env.event_id, "event_id")?;
    let occurred_at = timestamp(env.occurred_at, "occurred_at")?;
    let actor = id(env.actor, "actor")?;
    let data_raw = env
        .data
        .ok_or_else(|| RecordError::field("data", "missing"))?;
    if !data_raw.get().starts_with('{') {
        return Err(RecordError::field(
            "data",
            format!("expected an object, found {}", json_kind(data_raw)),
        ));
    }
    let data = parse_data(kind, data_raw.get())?;
    let payload = serde_json::from_str::<serde_json::Value>(data_raw.get())
        .map_err(json_error)?
        .to_string();
    Ok(AdminEvent {
        event_id,
        occurred_at,
        actor,
        data,
        payload,
    })
}

fn data_error(e: serde_json::Error) -> RecordError {
    let mut err = json_error(e);
    err.0 = err.0.replacen("invalid JSON: ", "`data`: ", 1);
    err
}

#[derive(Deserialize)]
struct ZoneData {
    zone_id: String,
    name: String,
    site_id: String,
    timezone: String,
    capacity: u32,
}

#[derive(Deserialize)]
struct DoorData {
    door_id: String,
    zone_id: String,
    name: String,
}

#[derive(Deserialize)]
struct EmployeeData {
    employee_id: String,
    name: String,
    department: String,
    status: String,
}

#[derive(Deserialize)]
struct CardIssuedData {
    card_id: String,
    employee_id: String,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
}

#[derive(Deserialize)]
struct CardStatusData {
    card_id: String,
    status: String,
}

#[derive(Deserialize)]
struct GrantData<'a> {
    employee_id: String,
    zone_id: String,
    #[serde(borrow)]
    schedule: &'a RawValue,
}

#[derive(Deserialize)]
struct RevokeData {
    employee_id: String,
    zone_id: String,
}

#[derive(Deserialize)]
struct WindowData {
    weekdays: Vec<i64>,
    start: String,
    end: String,
}

fn parse_data(kind: AdminType, text: &str) -> Result<AdminData, RecordError> {
    fn de<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, RecordError> {
        serde_json::from_str(text).map_err(data_error)
    }
    Ok(match kind {
        AdminType::ZoneUpserted => {
            let z: ZoneData = de(text)?;
            let timezone: Tz = z
                .timezone
                .parse()
                .map_err(|_| RecordError::field("timezone", "not an IANA timezone name"))?;
            AdminData::ZoneUpserted(Zone {
                zone_id: nonempty(z.zone_id, "zone_id")?,
                name: z.name,
                site_id: nonempty(z.site_id, "site_id")?,
                timezone,
                capacity: z.capacity,
            })
        }
        AdminType::DoorUpserted => {
            let d: DoorData = de(text)?;
            AdminData::DoorUpserted(Door {
                door_id: nonempty(d.door_id, "door_id")?,
                zone_id: nonempty(d.zone_id, "zone_id")?,
                name: d.name,
            })
        }
        AdminType::EmployeeUpserted => {
            let e: EmployeeData = de(text)?;
            let status = match e.status.as_str() {
                "active" => EmployeeStatus::Active,
                "inactive" => EmployeeStatus::Inactive,
                _ => {
                    return Err(RecordError::field(
                        "status",
                        "expected \"active\" or \"inactive\"",
                    ));
                }
            };
            AdminData::EmployeeUpserted(Employee {
                employee_id: nonempty(e.employee_id, "employee_id")?,
                name: e.name,
                department: e.department,
                status,
            })
        }
        AdminType::CardIssued => {
            let c: CardIssuedData = de(text)?;
            let opt_ts = |v: Option<String>, name: &str| -> Result<Option<Micros>, RecordError> {
                v.map(|s| parse_rfc3339(&s).map_err(|e| RecordError::field(name, e)))
                    .transpose()
            };
            AdminData::CardIssued {
                card_id: nonempty(c.card_id, "card_id")?,
                employee_id: nonempty(c.employee_id, "employee_id")?,
                valid_from: opt_ts(c.valid_from, "valid_from")?,
                valid_until: opt_ts(c.valid_until, "valid_until")?,
            }
        }
        AdminType::CardStatusChanged => {
            let c: CardStatusData = de(text)?;
            let status = CardStatus::parse(&c.status)
                .ok_or_else(|| RecordError::field("status", "not a known card status"))?;
            AdminData::CardStatusChanged {
                card_id: nonempty(c.card_id, "card_id")?,
                status,
            }
        }
        AdminType::AccessGranted => {
            let g: GrantData<'_> = de(text)?;
            AdminData::AccessGranted {
                employee_id: nonempty(g.employee_id, "employee_id")?,
                zone_id: nonempty(g.zone_id, "zone_id")?,
                schedule: parse_schedule(g.schedule)?,
            }
        }
        AdminType::AccessRevoked => {
            let r: RevokeData = de(text)?;
            AdminData::AccessRevoked {
                employee_id: nonempty(r.employee_id, "employee_id")?,
                zone_id: nonempty(r.zone_id, "zone_id")?,
            }
        }
    })
}

fn parse_schedule(raw: &RawValue) -> Result<Schedule, RecordError> {
    let text = raw.get();
    if text.starts_with('"') {
        return match serde_json::from_str::<String>(text).as_deref() {
            Ok("always") => Ok(Schedule::Always),
            _ => Err(RecordError::field(
                "schedule",
                "expected \"always\" or an object",
            )),
        };
    }
    if !text.starts_with('{') {
        return Err(RecordError::field(
            "schedule",
            "expected \"always\" or an object",
        ));
    }
    let w: WindowData = serde_json::from_str(text).map_err(|e| {
        let mut err = data_error(e);
        err.0 = err.0.replacen("`data`", "`schedule`", 1);
        err
    })?;
    let mut weekdays = 0u8;
    for d in w.weekdays {
        if !(1..=7).contains(&d) {
            return Err(RecordError::field(
                "schedule.weekdays",
                "weekday outside 1–7",
            ));
        }
        weekdays |= 1 << d;
    }
    let start_min = parse_hhmm(&w.start, false)
        .ok_or_else(|| RecordError::field("schedule.start", "expected HH:MM (00:00–23:59)"))?;
    let end_min = parse_hhmm(&w.end, true)
        .ok_or_else(|| RecordError::field("schedule.end", "expected HH:MM (00:00–24:00)"))?;
    Ok(Schedule::Window {
        weekdays,
        start_min,
        end_min,
    })
}

/// `HH:MM`, exactly five characters; `24:00` only where `allow_24` (an end time).
fn parse_hhmm(s: &str, allow_24: bool) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let h = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
    let m = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
    match (h, m) {
        (24, 0) if allow_24 => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LINE: &str = r#"{"event_id":"b0ee9ff4-4881-4196-b71a-d4786bdf19fa","occurred_at":"2026-03-01T22:09:42.756Z","door_id":"sgp-lobby-main","card_id":"0250:14096","direction":"in"}"#;

    #[test]
    fn a_plain_scan_takes_the_short_path_and_anything_else_does_not() {
        let e = plain_entry(LINE).expect("the generator's shape is plain");
        assert_eq!(Ok(Event::Entry(e)), parse_envelope(LINE));
        assert!(plain_entry(&format!("{LINE} \r\n")).is_some());
        let out = LINE.replacen("\"in\"", "\"out\"", 1);
        assert_eq!(
            plain_entry(&out).map(Event::Entry),
            parse_envelope(&out).ok()
        );
        for cut in 0..LINE.len() {
            assert_eq!(plain_entry(&LINE[..cut]), None);
        }
        for other in [
            LINE.replacen(':', ": ", 1),
            LINE.replacen("{", "{ ", 1),
            LINE.replacen("sgp-lobby-main", "sgp-lobby\\u002dmain", 1),
            LINE.replacen("sgp-lobby-main", "sgp-lobby\u{1}main", 1),
            LINE.replacen("\"direction\"", "\"type\":null,\"direction\"", 1),
            LINE.replacen("\"direction\"", "\"note\":\"x\",\"direction\"", 1),
            LINE.replacen("\"direction\"", "\"card_id\":\"a\",\"direction\"", 1),
            LINE.replacen(",\"direction\":\"in\"", "", 1),
            LINE.replacen("\"in\"", "\"IN\"", 1),
            LINE.replacen("\"in\"", "1", 1),
            LINE.replacen("0250:14096", "", 1),
            LINE.replacen(".756Z", ".756", 1),
            format!("{LINE},"),
            format!(" {LINE}"),
        ] {
            assert_eq!(plain_entry(&other), None, "{other}");
        }
    }

    #[test]
    fn a_plain_line_ends_at_its_newline_and_only_there() {
        let entry = plain_entry(LINE).expect("plain");
        let next = "{\"event_id\":\"x\"}\n";
        for (eol, len) in [("\n", LINE.len() + 1), ("\r\n", LINE.len() + 2)] {
            let lines = format!("{LINE}{eol}{next}");
            assert_eq!(plain_line(&lines), Some((entry.clone(), len)), "{eol:?}");
        }
        // Whatever else follows the brace is read as a whole line.
        for tail in ["", " \n", "\r", "\r \n", "x\n", "}\n", "\u{2028}\n"] {
            assert_eq!(plain_line(&format!("{LINE}{tail}{next}")), None, "{tail:?}");
        }
        // A line cut short: its strings stop at the newline.
        let cut = &LINE[..LINE.len() - 10];
        assert_eq!(plain_line(&format!("{cut}\n{LINE}\n")), None);
    }

    #[test]
    fn a_key_is_found_only_whole() {
        for (key, words) in PLAIN_KEYS.iter().zip(&PLAIN_KEY_WORDS) {
            let line = format!("{{{key}\"x\"}}");
            let b = line.as_bytes();
            assert!(words.is_at(b, 1), "{key}");
            assert!(!words.is_at(b, 0) && !words.is_at(b, 2), "{key}");
            assert!(!words.is_at(&b[..key.len()], 1), "{key} cut short");
            for i in 1..=key.len() {
                let mut other = b.to_vec();
                other[i] ^= 0x01;
                assert!(!words.is_at(&other, 1), "{key} with byte {i} changed");
            }
        }
    }

    #[test]
    fn specials_are_found_in_every_lane() {
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut b: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x20, 0x7f, 0xc3, b'!', b']'][i % 6])
                        .collect();
                    let want = (at < len).then(|| {
                        b[at] = special;
                        at
                    });
                    assert_eq!(first_json_special(&b), want, "{b:?}");
                }
            }
        }
    }

    fn pair(key: &str, value: &str) -> String {
        format!("\"{key}\":{value}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Lines near the plain shape decode exactly as the full decoder
        /// decodes them, accepted or rejected with the same message.
        #[test]
        fn the_short_path_never_disagrees_with_the_full_decoder(
            order in prop_oneof![
                // The order of SPEC 2.1, which the short path looks for first.
                Just((0..5usize).collect::<Vec<_>>()),
                Just((0..5usize).collect::<Vec<_>>()).prop_shuffle(),
            ],
            values in proptest::array::uniform5(prop_oneof![3 => 0..2usize, 1 => 0..9usize]),
            extra in proptest::option::weighted(0.2, (0..6usize, 0..6usize)),
            drop in proptest::option::weighted(0.15, 0..5usize),
            space in proptest::option::weighted(0.1, 0..200usize),
            tail in proptest::sample::select(vec!["", " ", "\r\n", "\t", "x", "}", ",", "\u{a0}"]),
        ) {
            const KEYS: [&str; 5] = ["event_id", "occurred_at", "door_id", "card_id", "direction"];
            // Per field: plain values first, then ones the rules or the short path refuse.
            // The last of each has a quote where the short path may expect
            // a value's end: escaped, or the opening one of the next key.
            let choices: [[&str; 9]; 5] = [
                [r#""b0ee9ff4-4881-4196-b71a-d4786bdf19fa""#, r#""e-1""#, r#""ü-ß""#, r#""""#, r#""a\"b""#, "null", "7", r#""a\u0062""#, r#""e\\""#],
                [r#""2026-03-01T22:09:42.756Z""#, r#""2026-03-02T00:00:00+05:30""#, r#""2026-02-30T00:00:00Z""#, r#""2026-03-01 22:09:42Z""#, r#""""#, "1700000000", r#""2026-03-01T22:09:42.756\u005a""#, "null", r#""2026-03-01T22:09:42.756\"Z""#],
                [r#""sgp-lobby-main""#, r#""d\u00e9""#, r#""""#, "[]", r#""d 1""#, "{}", r#""d""#, "true", r#""d\"e""#],
                [r#""0250:14096""#, r#""c""#, r#""""#, "0250", r#""c\n""#, "null", "\"c\u{7f}\"", r#""\\""#, r#""c\"\"""#],
                [r#""in""#, r#""out""#, r#""IN""#, r#""""#, r#""in ""#, "null", r#""\u0069n""#, "1", r#""o\"t""#],
            ];
            let extras = [("type", "null"), ("type", r#""card_issued""#), ("note", r#""x""#), ("event_id", r#""dup""#), ("direction", r#""out""#), ("event\\u005fid", r#""e""#)];
            let mut pairs: Vec<String> = order
                .iter()
                .filter(|&&k| Some(k) != drop)
                .map(|&k| pair(KEYS[k], choices[k][values[k]]))
                .collect();
            if let Some((at, which)) = extra {
                let (k, v) = extras[which];
                pairs.insert(at.min(pairs.len()), pair(k, v));
            }
            let mut line = format!("{{{}}}{tail}", pairs.join(","));
            if let Some(at) = space {
                let at = (1..line.len()).map(|i| (at + i) % line.len()).find(|&i| line.is_char_boundary(i)).unwrap_or(0);
                line.insert(at, ' ');
            }
            prop_assert_eq!(parse_json(&line), parse_envelope(&line), "{}", line);
        }
    }
}
