//! Reading JSON Lines input with bounded memory, and the streaming merge of
//! several files (SPEC 3, "Local ordering").

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use accesslake_model::{Clock, Event, MAX_RECORD_BYTES, Rejected, Source, parse_line};

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

/// Reads lines of at most [`MAX_RECORD_BYTES`]; a longer line is consumed
/// to its end without being held in memory and reported as rejected.
#[derive(Debug)]
pub struct JsonlReader<R> {
    inner: R,
    line_no: u64,
    buf: Vec<u8>,
    bytes_read: u64,
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(inner: R) -> Self {
        JsonlReader {
            inner,
            line_no: 0,
            buf: Vec::with_capacity(1024),
            bytes_read: 0,
        }
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads one physical line into `buf` (without the newline and a `\r`
    /// before it); returns its full length, or `None` at end of input.
    fn read_line(&mut self) -> std::io::Result<Option<usize>> {
        self.buf.clear();
        let mut len = 0usize;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (part, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            let room = (MAX_RECORD_BYTES + 1).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&part[..part.len().min(room)]);
            len += part.len();
            let consumed = done.unwrap_or(chunk.len());
            self.inner.consume(consumed);
            self.bytes_read += consumed as u64;
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if len <= MAX_RECORD_BYTES + 1 && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
            len -= 1;
        }
        Ok(Some(len))
    }

    /// The next event or rejected line; blank lines are skipped.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            let Some(len) = self.read_line()? else {
                return Ok(None);
            };
            self.line_no += 1;
            if len > MAX_RECORD_BYTES {
                self.buf.truncate(MAX_RECORD_BYTES);
                return Ok(Some(Line::Rejected {
                    line_no: self.line_no,
                    error: format!("line is {len} bytes, over the {MAX_RECORD_BYTES}-byte limit"),
                    raw: std::mem::take(&mut self.buf),
                }));
            }
            match parse_line(&self.buf) {
                Ok(None) => continue,
                Ok(Some(ev)) => return Ok(Some(Line::Event(ev))),
                Err(e) => {
                    return Ok(Some(Line::Rejected {
                        line_no: self.line_no,
                        error: e.0,
                        raw: std::mem::take(&mut self.buf),
                    }));
                }
            }
        }
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
    reader: JsonlReader<Box<dyn BufRead + Send>>,
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
        let mut streams: Vec<(String, Box<dyn BufRead + Send>)> = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let f = File::open(p).map_err(|source| Error::Input {
                path: p.display().to_string(),
                source,
            })?;
            streams.push((
                p.display().to_string(),
                Box::new(BufReader::with_capacity(1 << 20, f)),
            ));
        }
        Self::from_streams(streams, clock)
    }

    /// Merges arbitrary readers; `name` is the `file` part of `source_ref`.
    pub fn from_streams(
        streams: Vec<(String, Box<dyn BufRead + Send>)>,
        clock: &'c dyn Clock,
    ) -> Result<Self> {
        let mut m = Merge {
            cursors: streams
                .into_iter()
                .map(|(name, r)| Cursor {
                    name,
                    reader: JsonlReader::new(r),
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
pub fn stream<R: Read + Send + 'static>(name: &str, r: R) -> (String, Box<dyn BufRead + Send>) {
    (name.to_string(), Box::new(BufReader::new(r)))
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
        /// whatever the buffer's size: lines and `\r\n` split across
        /// refills of a small buffer, lines at, just over and over the
        /// record limit (`\r` included or not), blank and bad lines.
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
            let mut reader = JsonlReader::new(BufReader::with_capacity(capacity, Cursor::new(data.clone())));
            let mut got = Vec::new();
            while let Some(item) = reader.next_line().unwrap() {
                got.push(format!("{item:?}"));
            }
            prop_assert_eq!(got, expected(&data));
            prop_assert_eq!(reader.bytes_read(), data.len() as u64);
        }
    }
}
