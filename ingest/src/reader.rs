//! Reading JSON Lines input with bounded memory, and the streaming merge of
//! several files (SPEC 3, "Local ordering").

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use accesslake_model::{
    Clock, Event, MAX_RECORD_BYTES, Rejected, Source, parse_line, parse_text_line, plain_line,
};

use crate::{Error, Result};

/// One line's outcome.
#[derive(Debug)]
pub enum Line {
    Event(Event),
    Rejected {
        line_no: u64,
        error: String,
        raw: Vec<u8>,
    },
}

/// Bytes asked of a stream at a time.
const READ_CHUNK: usize = 1 << 20;

/// Reads lines of at most [`MAX_RECORD_BYTES`]; a longer line is consumed
/// to its end without being held in memory (past one read) and reported as
/// rejected.
///
/// The stream is read a chunk at a time into one buffer that the lines are
/// then cut from, checked as UTF-8 in one pass. A line that is not UTF-8 is
/// set aside whole, blanked in the buffer so that the rest passes the
/// check, and decoded on its own when its turn comes, so that it gets its
/// own error.
#[derive(Debug)]
pub struct JsonlReader<R> {
    inner: R,
    chunk: usize,
    line_no: u64,
    bytes_read: u64,
    /// Whole lines, each ending in a newline; the next one starts at `pos`.
    lines: String,
    pos: usize,
    /// The lines of `lines` that are not UTF-8, by where they start there,
    /// in order: their bytes, which `lines` holds as spaces.
    bad: VecDeque<(usize, Vec<u8>)>,
    /// Bytes read after the last newline of `lines`.
    pending: Vec<u8>,
}

/// What [`JsonlReader::refill`] found.
enum Refill {
    Lines,
    /// A line over the record limit that had no newline within a read:
    /// its length and its first [`MAX_RECORD_BYTES`].
    TooLong(usize, Vec<u8>),
    End,
}

impl<R: Read> JsonlReader<R> {
    /// A reader asking `chunk` bytes (at least one) of `inner` at a time.
    pub fn with_chunk(inner: R, chunk: usize) -> Self {
        JsonlReader {
            inner,
            chunk: chunk.max(1),
            line_no: 0,
            bytes_read: 0,
            lines: String::new(),
            pos: 0,
            bad: VecDeque::new(),
            pending: Vec::new(),
        }
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Appends up to a chunk of the stream to `buf`; 0 at its end.
    fn read_chunk(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        buf.reserve(self.chunk);
        let n = (&mut self.inner).take(self.chunk as u64).read_to_end(buf)?;
        self.bytes_read += n as u64;
        Ok(n)
    }

    /// Reads the next whole lines into `lines`: the bytes pending from the
    /// last read and as many chunks as it takes to reach a newline (or the
    /// end of the stream, which ends the last line).
    fn refill(&mut self) -> std::io::Result<Refill> {
        let mut buf = std::mem::take(&mut self.lines).into_bytes();
        buf.clear();
        buf.append(&mut self.pending);
        self.pos = 0;
        loop {
            let before = buf.len();
            let n = self.read_chunk(&mut buf)?;
            if let Some(i) = memchr::memrchr(b'\n', &buf[before..]) {
                let last = before + i;
                self.pending.extend_from_slice(&buf[last + 1..]);
                buf.truncate(last + 1);
                return self.take_lines(buf);
            }
            if n == 0 {
                if buf.is_empty() {
                    return Ok(Refill::End);
                }
                buf.push(b'\n');
                return self.take_lines(buf);
            }
            // Room for a `\r` that the limit does not count.
            if buf.len() > MAX_RECORD_BYTES + 1 {
                return self.skip_line(buf);
            }
        }
    }

    /// Makes whole lines `buf` the lines to hand out, its lines that are
    /// not UTF-8 set aside in `bad`.
    fn take_lines(&mut self, buf: Vec<u8>) -> std::io::Result<Refill> {
        let e = match String::from_utf8(buf) {
            Ok(lines) => {
                self.lines = lines;
                return Ok(Refill::Lines);
            }
            Err(e) => e,
        };
        let mut from = e.utf8_error().valid_up_to();
        let mut buf = e.into_bytes();
        while let Err(e) = std::str::from_utf8(&buf[from..]) {
            let at = from + e.valid_up_to();
            let start = memchr::memrchr(b'\n', &buf[..at]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &buf[at..]).map_or(buf.len(), |i| at + i);
            self.bad.push_back((start, buf[start..end].to_vec()));
            buf[start..end].fill(b' ');
            from = end;
        }
        self.lines = String::from_utf8(buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(Refill::Lines)
    }

    /// Reads to the end of a line too long for the record limit, of which
    /// `buf` holds the start and no newline.
    fn skip_line(&mut self, mut buf: Vec<u8>) -> std::io::Result<Refill> {
        let mut len = buf.len();
        let head = buf[..MAX_RECORD_BYTES].to_vec();
        loop {
            buf.clear();
            if self.read_chunk(&mut buf)? == 0 {
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf) {
                len += i;
                self.pending.extend_from_slice(&buf[i + 1..]);
                break;
            }
            len += buf.len();
        }
        buf.clear();
        // An empty buffer, so that the next line is read afresh.
        self.lines = String::from_utf8(buf).unwrap_or_default();
        Ok(Refill::TooLong(len, head))
    }

    /// The next event or rejected line; blank lines are skipped.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            if self.pos >= self.lines.len() {
                match self.refill()? {
                    Refill::Lines => continue,
                    Refill::TooLong(len, head) => {
                        self.line_no += 1;
                        return Ok(Some(too_long(self.line_no, len, head)));
                    }
                    Refill::End => return Ok(None),
                }
            }
            let start = self.pos;
            let bad_here = self.bad.front().is_some_and(|(at, _)| *at == start);
            if !bad_here && let Some((entry, len)) = plain_line(&self.lines[start..]) {
                self.pos = start + len;
                self.line_no += 1;
                return Ok(Some(Line::Event(Event::Entry(entry))));
            }
            let rest = &self.lines.as_bytes()[start..];
            let end = start + memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            self.pos = end + 1;
            self.line_no += 1;
            let bad = if bad_here {
                self.bad.pop_front().map(|(_, b)| b)
            } else {
                None
            };
            let full = bad.as_deref().unwrap_or(&self.lines.as_bytes()[start..end]);
            let len = match full.strip_suffix(b"\r") {
                Some(line) if full.len() <= MAX_RECORD_BYTES + 1 => line.len(),
                _ => full.len(),
            };
            if len > MAX_RECORD_BYTES {
                let raw = full[..MAX_RECORD_BYTES].to_vec();
                return Ok(Some(too_long(self.line_no, len, raw)));
            }
            let parsed = match &bad {
                Some(bytes) => parse_line(&bytes[..len]),
                None => parse_text_line(&self.lines[start..start + len]),
            };
            return Ok(Some(match parsed {
                Ok(None) => continue,
                Ok(Some(ev)) => Line::Event(ev),
                Err(e) => Line::Rejected {
                    line_no: self.line_no,
                    error: e.0,
                    raw: full[..len].to_vec(),
                },
            }));
        }
    }
}

/// A line over the record limit: `raw` holds its first [`MAX_RECORD_BYTES`].
fn too_long(line_no: u64, len: usize, raw: Vec<u8>) -> Line {
    Line::Rejected {
        line_no,
        error: format!("line is {len} bytes, over the {MAX_RECORD_BYTES}-byte limit"),
        raw,
    }
}

/// An item of the merged input.
#[derive(Debug)]
pub enum Item {
    Event(Event),
    Rejected(Rejected),
}

struct Cursor {
    name: String,
    reader: JsonlReader<Box<dyn Read + Send>>,
    head: Option<Event>,
}

/// Merges several JSONL streams: each is read in its own line order; the
/// stream whose next event has the smallest `occurred_at` goes first, on a
/// tie admin before entry, then the stream named first. Rejected lines are
/// emitted as soon as they are read. Memory holds one event per stream.
pub struct Merge<'c> {
    cursors: Vec<Cursor>,
    rejected: VecDeque<Rejected>,
    clock: &'c dyn Clock,
}

impl std::fmt::Debug for Merge<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merge")
            .field("streams", &self.cursors.len())
            .finish()
    }
}

impl<'c> Merge<'c> {
    /// Opens every file first, so a missing one fails before anything is read.
    pub fn open(paths: &[impl AsRef<Path>], clock: &'c dyn Clock) -> Result<Self> {
        let mut streams: Vec<(String, Box<dyn Read + Send>)> = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let f = File::open(p).map_err(|source| Error::Input {
                path: p.display().to_string(),
                source,
            })?;
            streams.push((p.display().to_string(), Box::new(f)));
        }
        Self::from_streams(streams, clock)
    }

    /// Merges arbitrary readers; `name` is the `file` part of `source_ref`.
    pub fn from_streams(
        streams: Vec<(String, Box<dyn Read + Send>)>,
        clock: &'c dyn Clock,
    ) -> Result<Self> {
        Self::from_streams_chunked(streams, clock, READ_CHUNK)
    }

    /// [`Merge::from_streams`], reading `chunk` bytes of a stream at a time.
    pub fn from_streams_chunked(
        streams: Vec<(String, Box<dyn Read + Send>)>,
        clock: &'c dyn Clock,
        chunk: usize,
    ) -> Result<Self> {
        let mut m = Merge {
            cursors: streams
                .into_iter()
                .map(|(name, r)| Cursor {
                    name,
                    reader: JsonlReader::with_chunk(r, chunk),
                    head: None,
                })
                .collect(),
            rejected: VecDeque::new(),
            clock,
        };
        for i in 0..m.cursors.len() {
            m.refill(i)?;
        }
        Ok(m)
    }

    /// Total bytes consumed from all streams.
    pub fn bytes_read(&self) -> u64 {
        self.cursors.iter().map(|c| c.reader.bytes_read()).sum()
    }

    fn refill(&mut self, i: usize) -> Result<()> {
        let c = &mut self.cursors[i];
        loop {
            let line = c.reader.next_line().map_err(|source| Error::Input {
                path: c.name.clone(),
                source,
            })?;
            match line {
                None => {
                    c.head = None;
                    return Ok(());
                }
                Some(Line::Event(ev)) => {
                    c.head = Some(ev);
                    return Ok(());
                }
                Some(Line::Rejected {
                    line_no,
                    error,
                    raw,
                }) => self.rejected.push_back(Rejected::new(
                    self.clock.now(),
                    Source::File,
                    format!("{}:{line_no}", c.name),
                    error,
                    &raw,
                )),
            }
        }
    }

    /// The stream whose head goes next, if any.
    #[inline]
    fn pick(&self) -> Option<usize> {
        let mut best: Option<(usize, (i64, u8))> = None;
        for (i, c) in self.cursors.iter().enumerate() {
            if let Some(ev) = &c.head {
                let key = (ev.occurred_at(), u8::from(matches!(ev, Event::Entry(_))));
                if best.is_none_or(|(_, k)| key < k) {
                    best = Some((i, key));
                }
            }
        }
        best.map(|(i, _)| i)
    }

    /// The next item, or `None` when every stream is exhausted.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Item>> {
        if let Some(r) = self.rejected.pop_front() {
            return Ok(Some(Item::Rejected(r)));
        }
        let Some(i) = self.pick() else {
            return Ok(None);
        };
        let ev = self.cursors[i].head.take();
        self.refill(i)?;
        Ok(ev.map(Item::Event))
    }

    /// Moves the next item ([`Merge::next`]) onto `events` or `rejected`;
    /// `false` when every stream is exhausted. Inlined into the caller's
    /// loop, an event goes from its stream's head into `events` without
    /// being copied through an item first.
    #[inline]
    pub fn next_into(
        &mut self,
        events: &mut Vec<Event>,
        rejected: &mut Vec<Rejected>,
    ) -> Result<bool> {
        if let Some(r) = self.rejected.pop_front() {
            rejected.push(r);
            return Ok(true);
        }
        let Some(i) = self.pick() else {
            return Ok(false);
        };
        if let Some(ev) = self.cursors[i].head.take() {
            events.push(ev);
        }
        self.refill(i)?;
        Ok(true)
    }
}

/// Reads everything from a `Read` as one stream (tests, stdin).
pub fn stream<R: Read + Send + 'static>(name: &str, r: R) -> (String, Box<dyn Read + Send>) {
    (name.to_string(), Box::new(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    /// Each line as the reader must give it, read off the bytes directly.
    fn expected(data: &[u8]) -> Vec<String> {
        let mut lines: Vec<&[u8]> = data.split(|&c| c == b'\n').collect();
        if data.is_empty() || data.ends_with(b"\n") {
            lines.pop();
        }
        let mut out = Vec::new();
        for (n, full) in lines.into_iter().enumerate() {
            let line_no = n as u64 + 1;
            let line = match full.strip_suffix(b"\r") {
                Some(l) if full.len() <= MAX_RECORD_BYTES + 1 => l,
                _ => full,
            };
            let item = if line.len() > MAX_RECORD_BYTES {
                Some(Line::Rejected {
                    line_no,
                    error: format!(
                        "line is {} bytes, over the {MAX_RECORD_BYTES}-byte limit",
                        line.len()
                    ),
                    raw: line[..MAX_RECORD_BYTES].to_vec(),
                })
            } else {
                match parse_line(line) {
                    Ok(None) => None,
                    Ok(Some(ev)) => Some(Line::Event(ev)),
                    Err(e) => Some(Line::Rejected {
                        line_no,
                        error: e.0,
                        raw: line.to_vec(),
                    }),
                }
            };
            out.extend(item.map(|i| format!("{i:?}")));
        }
        out
    }

    fn line() -> impl Strategy<Value = Vec<u8>> {
        let entry = |id: u32| {
            format!(
                r#"{{"event_id":"e{id}","occurred_at":"2026-03-02T08:00:00.000Z","door_id":"d","card_id":"c","direction":"in"}}"#
            )
            .into_bytes()
        };
        let long = |n: usize, last: u8| {
            let mut l = vec![b'x'; n - 1];
            l.push(last);
            l
        };
        prop_oneof![
            4 => any::<u32>().prop_map(entry),
            1 => Just(b"".to_vec()),
            1 => Just(b"  \t".to_vec()),
            1 => Just(b"{oops".to_vec()),
            1 => Just(b"{oops\r".to_vec()),
            1 => Just(b"{\"event_id\":\"\xff\"}".to_vec()),
            1 => Just("{\"door_id\":\"Zürich ✓\"}".as_bytes().to_vec()),
            1 => any::<u32>().prop_map(move |id| [entry(id), b"\r".to_vec()].concat()),
            1 => Just(long(MAX_RECORD_BYTES, b'x')),
            1 => Just(long(MAX_RECORD_BYTES + 1, b'\r')),
            1 => Just(long(MAX_RECORD_BYTES + 1, b'x')),
            1 => Just(long(MAX_RECORD_BYTES + 2, b'\r')),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Lines come out as the bytes say, with their line numbers,
        /// whatever the size of a read: lines, `\r\n` and characters of
        /// several bytes split across small reads, lines at, just over and
        /// over the record limit (`\r` included or not), blank and bad
        /// lines, bad UTF-8 among good lines.
        #[test]
        fn lines_are_read_the_same_whatever_the_buffer(
            lines in proptest::collection::vec(line(), 0..12),
            trailing_newline in any::<bool>(),
            capacity in prop_oneof![1usize..9, Just(64usize), Just(1 << 16), Just(1 << 20)],
        ) {
            let mut data = lines.join(&b'\n');
            if trailing_newline && !data.is_empty() {
                data.push(b'\n');
            }
            let mut reader = JsonlReader::with_chunk(Cursor::new(data.clone()), capacity);
            let mut got = Vec::new();
            while let Some(item) = reader.next_line().unwrap() {
                got.push(format!("{item:?}"));
            }
            prop_assert_eq!(got, expected(&data));
            prop_assert_eq!(reader.bytes_read(), data.len() as u64);
        }
    }
}
