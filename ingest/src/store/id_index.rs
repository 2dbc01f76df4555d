//! The set of decided event ids, kept as sorted runs that are written once
//! and merged by size tiers, the way a log-structured merge tree keeps keys.
//!
//! A B-tree of every id ever decided made each chunk's commit rewrite most of
//! its leaves: ids are random, so a chunk's inserts land all over the tree and
//! the commit grew with the lake's history. Here a commit writes its ids as a
//! new sorted run (blocks appended in key order, nothing old rewritten); when
//! [`FAN_IN`] runs of one tier exist they are merged into one run of the next
//! tier, in the same transaction, so each id is rewritten once per tier, a
//! logarithmic number of times over the life of the lake.
//!
//! Lookups consult each run's filter, held in memory: a blocked Bloom filter
//! (one 64-byte block per lookup, [`FILTER_BITS_PER_KEY`] bits per id, about
//! 0.1 % false positives) whose block is chosen by the key's top bits, so a
//! chunk's lookups, made in key order, sweep each filter front to back. Only
//! a filter hit reads the run's block that may hold the key. Runs, blocks and
//! filters live in redb tables, committed in the same transaction as the rest
//! of the state, so a crash never leaves an id recorded without its chunk.

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use crate::{Error, Result};

/// Runs of one tier that are merged into one run of the next. Eight, not
/// four: each key is rewritten about half as many times over a lake's life
/// (on the 10M ingest 606 → 511 MB written to the state file, the commits
/// 3.3 → 3.0 s, −0.8 % of the ingest's instructions), for a few more
/// filters to test per lookup, which cost far less than a rewrite.
pub(super) const FAN_IN: usize = 8;
/// Keys per stored block: 16,256 bytes, so that a block, its key and the
/// leaf's header fill one 16 KiB page. Each block is one B-tree insert,
/// whose cost (about 35,000 instructions) the block's keys share. Runs
/// of blocks of another size (stores written with 248 keys a block) are
/// read and merged the same: a block's length says how many keys it holds.
const BLOCK_KEYS: usize = 1016;
/// Filter bits per key of the runs written now: about 0.1 % false
/// positives, each of which costs a read of a block. At 12 bits (0.4 %) a
/// 10M-event ingest read 1.08 GB of its state file, at 16 0.49 GB. A
/// run's header keeps its filter's block count, so runs written with fewer
/// bits (12, in earlier stores) are read as they are until merged.
const FILTER_BITS_PER_KEY: u64 = 16;
/// The fewest filter bits per key any run was written with.
const FEWEST_FILTER_BITS_PER_KEY: u64 = 12;
/// Bits set per key, each chosen by 9 bits of the key's low half.
const FILTER_PROBES: u32 = 7;
/// Filter blocks per stored part: 3,968 bytes.
const PART_BLOCKS: usize = 62;
const HEADER_VERSION: u8 = 1;

/// The three tables of one index, named after its id namespace.
#[derive(Clone, Copy)]
pub(super) struct IdTables {
    /// run id → header (version, tier, key count, filter blocks)
    runs: TableDefinition<'static, u64, &'static [u8]>,
    /// (run id, first key of the block) → sorted keys, [`BLOCK_KEYS`] at most
    blocks: TableDefinition<'static, (u64, u128), &'static [u8]>,
    /// (run id, part number) → up to [`PART_BLOCKS`] filter blocks
    filters: TableDefinition<'static, (u64, u32), &'static [u8]>,
}

impl IdTables {
    pub(super) const fn new(
        runs: &'static str,
        blocks: &'static str,
        filters: &'static str,
    ) -> Self {
        IdTables {
            runs: TableDefinition::new(runs),
            blocks: TableDefinition::new(blocks),
            filters: TableDefinition::new(filters),
        }
    }

    pub(super) fn open_blocks(
        &self,
        txn: &ReadTransaction,
    ) -> Result<redb::ReadOnlyTable<(u64, u128), &'static [u8]>> {
        Ok(txn.open_table(self.blocks)?)
    }

    pub(super) fn open_blocks_mut<'t>(
        &self,
        txn: &'t WriteTransaction,
    ) -> Result<redb::Table<'t, (u64, u128), &'static [u8]>> {
        Ok(txn.open_table(self.blocks)?)
    }

    /// Creates the tables if they do not exist.
    pub(super) fn create(&self, txn: &WriteTransaction) -> Result<()> {
        txn.open_table(self.runs)?;
        txn.open_table(self.blocks)?;
        txn.open_table(self.filters)?;
        Ok(())
    }
}

/// One index in memory: the runs' headers and filters.
pub(super) struct IdIndex {
    tables: IdTables,
    /// Oldest first.
    runs: Vec<Run>,
    next_run: u64,
    /// Keys per block of the runs this index writes ([`BLOCK_KEYS`]).
    block_keys: usize,
}

struct Run {
    id: u64,
    tier: u8,
    len: u64,
    filter: Filter,
}

/// What a commit wrote, applied to the in-memory index once the transaction
/// has committed.
pub(super) struct Pending {
    added: Option<Run>,
    merged: Vec<u64>,
}

impl IdIndex {
    /// Reads the runs' headers and filters.
    pub(super) fn load(txn: &ReadTransaction, tables: IdTables) -> Result<Self> {
        let headers = txn.open_table(tables.runs)?;
        let parts = txn.open_table(tables.filters)?;
        let mut runs = Vec::new();
        for row in headers.iter()? {
            let (id, header) = row?;
            let id = id.value();
            let (tier, len, blocks) = decode_header(header.value())
                .ok_or_else(|| corrupt(format!("run {id} has a damaged header")))?;
            let mut filter = Filter::with_blocks(blocks);
            let mut at = 0;
            for part in parts.range((id, 0)..=(id, u32::MAX))? {
                let (_, bytes) = part?;
                at = filter
                    .read_part(at, bytes.value())
                    .ok_or_else(|| corrupt(format!("run {id} has a damaged filter")))?;
            }
            if at != filter.blocks.len() {
                return Err(corrupt(format!("run {id} misses part of its filter")));
            }
            runs.push(Run {
                id,
                tier,
                len,
                filter,
            });
        }
        let next_run = runs.last().map_or(1, |r| r.id + 1);
        Ok(IdIndex {
            tables,
            runs,
            next_run,
            block_keys: BLOCK_KEYS,
        })
    }

    /// The tables this index lives in.
    pub(super) fn tables(&self) -> IdTables {
        self.tables
    }

    /// Ids held, over all runs.
    pub(super) fn len(&self) -> u64 {
        self.runs.iter().map(|r| r.len).sum()
    }

    /// Runs held (for tests and logs).
    pub(super) fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Marks `known[i]` for each `(key, i)` of `lookups` (sorted by key) that
    /// the index holds. `blocks` is the block table read in any transaction
    /// that sees the committed runs.
    pub(super) fn mark_known(
        &self,
        blocks: &impl ReadableTable<(u64, u128), &'static [u8]>,
        lookups: &[(u128, usize)],
        known: &mut [bool],
    ) -> Result<()> {
        for run in &self.runs {
            let mut cached: Option<Block> = None;
            for &(key, i) in lookups {
                if known[i] || !run.filter.may_contain(key) {
                    continue;
                }
                let hit = match &cached {
                    Some(b) if b.covers(key) => b.contains(key),
                    _ => match Block::holding(blocks, run.id, key)? {
                        Some(b) => {
                            let hit = b.contains(key);
                            cached = Some(b);
                            hit
                        }
                        None => false,
                    },
                };
                known[i] |= hit;
            }
        }
        Ok(())
    }

    /// Whether the index holds `key`.
    pub(super) fn contains(
        &self,
        blocks: &impl ReadableTable<(u64, u128), &'static [u8]>,
        key: u128,
    ) -> Result<bool> {
        let mut known = [false];
        self.mark_known(blocks, &[(key, 0)], &mut known)?;
        Ok(known[0])
    }

    /// Writes `keys` (sorted, without repeats) as a new run inside `txn`,
    /// merging it with the runs of every tier it fills. `committed` must see
    /// the state `txn` started from. Apply the result with [`IdIndex::apply`]
    /// once `txn` has committed.
    pub(super) fn write(
        &self,
        committed: &ReadTransaction,
        txn: &WriteTransaction,
        keys: &[u128],
    ) -> Result<Pending> {
        if keys.is_empty() {
            return Ok(Pending {
                added: None,
                merged: Vec::new(),
            });
        }
        // The new run joins tier 0; a tier that then holds FAN_IN runs is
        // merged into one run of the next tier, which may fill that one.
        let mut tier = 0u8;
        let mut merging: Vec<&Run> = Vec::new();
        loop {
            let at: Vec<&Run> = self.runs.iter().filter(|r| r.tier == tier).collect();
            if at.len() + 1 < FAN_IN {
                break;
            }
            merging.extend(at);
            tier += 1;
        }
        let mut out = RunWriter::new(
            txn,
            self.tables,
            self.next_run,
            tier,
            keys.len() as u64 + merging.iter().map(|r| r.len).sum::<u64>(),
            self.block_keys,
        )?;
        if merging.is_empty() {
            for &k in keys {
                out.push(k)?;
            }
        } else {
            let blocks = committed.open_table(self.tables.blocks)?;
            let mut sources = vec![Source::Slice(keys.iter())];
            for r in &merging {
                sources.push(Source::Run(Box::new(RunKeys {
                    range: blocks.range((r.id, 0)..=(r.id, u128::MAX))?,
                    block: Vec::new(),
                    at: 0,
                    run: r.id,
                })));
            }
            // Each live source's next key and the source. A merge reads a
            // few sources (FAN_IN - 1 per tier it fills, and the new run),
            // so the smallest head is found by looking at each: cheaper
            // than a heap's sifting at these counts. Which head is smaller
            // is a coin toss for random keys, so it is selected without a
            // branch the processor would guess wrong half the time.
            let mut heads: Vec<(u128, usize)> = Vec::with_capacity(sources.len());
            for (s, src) in sources.iter_mut().enumerate() {
                if let Some(k) = src.next_key()? {
                    heads.push((k, s));
                }
            }
            let mut last = None;
            while !heads.is_empty() {
                let (mut at, mut k) = (0, heads[0].0);
                for (i, h) in heads.iter().enumerate().skip(1) {
                    let less = h.0 < k;
                    at = std::hint::select_unpredictable(less, i, at);
                    k = std::hint::select_unpredictable(less, h.0, k);
                }
                let s = heads[at].1;
                if last != Some(k) {
                    out.push(k)?;
                    last = Some(k);
                }
                match sources[s].next_key()? {
                    Some(next) => heads[at].0 = next,
                    None => {
                        heads.swap_remove(at);
                    }
                }
            }
        }
        let added = out.finish()?;
        let merged: Vec<u64> = merging.iter().map(|r| r.id).collect();
        if !merged.is_empty() {
            let mut headers = txn.open_table(self.tables.runs)?;
            let mut blocks = txn.open_table(self.tables.blocks)?;
            let mut parts = txn.open_table(self.tables.filters)?;
            for &id in &merged {
                headers.remove(id)?;
                blocks.retain_in((id, 0)..=(id, u128::MAX), |_, _| false)?;
                parts.retain_in((id, 0)..=(id, u32::MAX), |_, _| false)?;
            }
        }
        Ok(Pending {
            added: Some(added),
            merged,
        })
    }

    /// Takes in what a committed [`IdIndex::write`] wrote.
    pub(super) fn apply(&mut self, p: Pending) {
        self.runs.retain(|r| !p.merged.contains(&r.id));
        if let Some(run) = p.added {
            self.next_run = run.id + 1;
            self.runs.push(run);
        }
    }
}

fn corrupt(detail: String) -> Error {
    Error::Corrupt {
        kind: "event id index",
        detail,
    }
}

fn encode_header(tier: u8, len: u64, filter_blocks: u64) -> [u8; 18] {
    let mut h = [0u8; 18];
    h[0] = HEADER_VERSION;
    h[1] = tier;
    h[2..10].copy_from_slice(&len.to_le_bytes());
    h[10..18].copy_from_slice(&filter_blocks.to_le_bytes());
    h
}

fn decode_header(h: &[u8]) -> Option<(u8, u64, usize)> {
    let h: &[u8; 18] = h.try_into().ok()?;
    if h[0] != HEADER_VERSION {
        return None;
    }
    let len = u64::from_le_bytes(h[2..10].try_into().ok()?);
    let blocks = usize::try_from(u64::from_le_bytes(h[10..18].try_into().ok()?)).ok()?;
    // A filter is sized from its run's length at the bits per key of its
    // day (larger only if the run lost repeated keys in a merge); far
    // larger is damage, not a size to allocate, and so is smaller than any
    // store ever wrote.
    let fewest = Filter::blocks_at(len, FEWEST_FILTER_BITS_PER_KEY);
    let sized = Filter::blocks_for(len);
    (blocks >= fewest && blocks <= sized.saturating_mul(16)).then_some((h[1], len, blocks))
}

/// A blocked Bloom filter over uniformly random 128-bit keys.
struct Filter {
    blocks: Vec<[u64; 8]>,
}

impl Filter {
    fn blocks_for(keys: u64) -> usize {
        Self::blocks_at(keys, FILTER_BITS_PER_KEY)
    }

    /// Blocks for `keys` keys at `bits` bits per key.
    fn blocks_at(keys: u64, bits: u64) -> usize {
        usize::try_from(keys.saturating_mul(bits).div_ceil(512).max(1)).unwrap_or(usize::MAX)
    }

    /// Stores the filter of run `id` as parts of [`PART_BLOCKS`] blocks.
    fn store(&self, parts: &mut redb::Table<'_, (u64, u32), &'static [u8]>, id: u64) -> Result<()> {
        let mut bytes = Vec::with_capacity(PART_BLOCKS * 64);
        for (n, chunk) in self.blocks.chunks(PART_BLOCKS).enumerate() {
            bytes.clear();
            for w in chunk.iter().flatten() {
                bytes.extend_from_slice(&w.to_le_bytes());
            }
            parts.insert((id, n as u32), bytes.as_slice())?;
        }
        Ok(())
    }

    fn with_blocks(n: usize) -> Self {
        Filter {
            blocks: vec![[0; 8]; n],
        }
    }

    /// The block of `key`: its top 64 bits scaled to the block count, so
    /// blocks follow key order.
    fn block(&self, key: u128) -> usize {
        (((key >> 64) * self.blocks.len() as u128) >> 64) as usize
    }

    fn bits(key: u128) -> impl Iterator<Item = (usize, u64)> {
        let low = key as u64;
        (0..FILTER_PROBES).map(move |p| {
            let bit = (low >> (p * 9)) & 511;
            ((bit >> 6) as usize, 1u64 << (bit & 63))
        })
    }

    #[inline(always)]
    fn insert(&mut self, key: u128) {
        let b = self.block(key);
        let block = &mut self.blocks[b];
        for (word, mask) in Self::bits(key) {
            block[word] |= mask;
        }
    }

    fn may_contain(&self, key: u128) -> bool {
        let block = &self.blocks[self.block(key)];
        // 1 for each probe whose bit is clear, as arithmetic: a branch per
        // probe would go either way at random.
        let clear = |any: u64, (word, mask): (usize, u64)| any | u64::from(block[word] & mask == 0);
        let mut bits = Self::bits(key);
        let first = bits.by_ref().take(2).fold(0, clear);
        first == 0 && bits.fold(0, clear) == 0
    }

    /// Reads one stored part into the blocks from `at`; the next position.
    fn read_part(&mut self, at: usize, bytes: &[u8]) -> Option<usize> {
        if !bytes.len().is_multiple_of(64) {
            return None;
        }
        let n = bytes.len() / 64;
        let dest = self.blocks.get_mut(at..at + n)?;
        for (block, src) in dest.iter_mut().zip(bytes.chunks_exact(64)) {
            for (w, b) in block.iter_mut().zip(src.chunks_exact(8)) {
                *w = u64::from_le_bytes(b.try_into().ok()?);
            }
        }
        Some(at + n)
    }
}

/// Whether a stored block of `run` holds whole keys, and at least one.
fn check_block(run: u64, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(16) {
        return Err(corrupt(format!("run {run} has a damaged block")));
    }
    Ok(())
}

/// The key stored at byte `at` of a block (blocks are checked to hold whole keys).
fn stored_key(block: &[u8], at: usize) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&block[at..at + 16]);
    u128::from_le_bytes(b)
}

/// One stored block of a run, read for a lookup: its bytes where the
/// table holds them, not copied (a block is 16 KiB, and a lookup that the
/// filter passes reads one to find one key).
struct Block<'a> {
    keys: redb::AccessGuard<'a, &'static [u8]>,
}

impl<'a> Block<'a> {
    /// The block of `run` whose range may hold `key`: the last one whose
    /// first key is not above it.
    fn holding(
        blocks: &'a impl ReadableTable<(u64, u128), &'static [u8]>,
        run: u64,
        key: u128,
    ) -> Result<Option<Block<'a>>> {
        let Some(row) = blocks.range((run, 0)..=(run, key))?.next_back() else {
            return Ok(None);
        };
        let (_, keys) = row?;
        check_block(run, keys.value())?;
        Ok(Some(Block { keys }))
    }

    fn len(&self) -> usize {
        self.keys.value().len() / 16
    }

    fn key(&self, i: usize) -> u128 {
        stored_key(self.keys.value(), i * 16)
    }

    /// Whether `key` lies between this block's first and last keys.
    fn covers(&self, key: u128) -> bool {
        self.key(0) <= key && key <= self.key(self.len() - 1)
    }

    fn contains(&self, key: u128) -> bool {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.key(mid).cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

/// Writes one run's blocks, filter and header.
struct RunWriter<'t> {
    blocks: redb::Table<'t, (u64, u128), &'static [u8]>,
    txn: &'t WriteTransaction,
    tables: IdTables,
    id: u64,
    tier: u8,
    len: u64,
    first: u128,
    block: Vec<u8>,
    /// A full block's length in bytes.
    block_bytes: usize,
    filter: Filter,
}

impl<'t> RunWriter<'t> {
    fn new(
        txn: &'t WriteTransaction,
        tables: IdTables,
        id: u64,
        tier: u8,
        expected: u64,
        block_keys: usize,
    ) -> Result<Self> {
        Ok(RunWriter {
            blocks: txn.open_table(tables.blocks)?,
            txn,
            tables,
            id,
            tier,
            len: 0,
            first: 0,
            block: Vec::with_capacity(block_keys * 16),
            block_bytes: block_keys * 16,
            filter: Filter::with_blocks(Filter::blocks_for(expected)),
        })
    }

    /// Adds the next key; keys come in increasing order. Inlined into the
    /// merge's loop, which pushes every key of the runs it merges.
    #[inline(always)]
    fn push(&mut self, key: u128) -> Result<()> {
        if self.block.is_empty() {
            self.first = key;
        }
        self.block.extend_from_slice(&key.to_le_bytes());
        self.filter.insert(key);
        self.len += 1;
        if self.block.len() >= self.block_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Stores the block filled so far: once a block, kept out of the
    /// inlined [`RunWriter::push`].
    #[inline(never)]
    fn flush(&mut self) -> Result<()> {
        if !self.block.is_empty() {
            self.blocks
                .insert((self.id, self.first), self.block.as_slice())?;
            self.block.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Run> {
        self.flush()?;
        // Keys repeated across merged runs (none are expected: a commit's ids
        // were all unknown) leave the filter larger than the run needs.
        let filter = self.filter;
        let len = self.len;
        self.txn.open_table(self.tables.runs)?.insert(
            self.id,
            encode_header(self.tier, len, filter.blocks.len() as u64).as_slice(),
        )?;
        filter.store(&mut self.txn.open_table(self.tables.filters)?, self.id)?;
        Ok(Run {
            id: self.id,
            tier: self.tier,
            len,
            filter,
        })
    }
}

/// The keys a merge reads: the new run's, or a committed run's in block order.
enum Source<'a> {
    Slice(std::slice::Iter<'a, u128>),
    Run(Box<RunKeys>),
}

struct RunKeys {
    range: redb::Range<'static, (u64, u128), &'static [u8]>,
    block: Vec<u8>,
    at: usize,
    run: u64,
}

impl Source<'_> {
    #[inline(always)]
    fn next_key(&mut self) -> Result<Option<u128>> {
        match self {
            Source::Slice(it) => Ok(it.next().copied()),
            Source::Run(r) => {
                if r.at == r.block.len() && !r.next_block()? {
                    return Ok(None);
                }
                let key = stored_key(&r.block, r.at);
                r.at += 16;
                Ok(Some(key))
            }
        }
    }
}

impl RunKeys {
    /// Reads the run's next block; false at the end of the run.
    #[inline(never)]
    fn next_block(&mut self) -> Result<bool> {
        let Some(row) = self.range.next() else {
            return Ok(false);
        };
        let (_, v) = row?;
        check_block(self.run, v.value())?;
        self.block.clear();
        self.block.extend_from_slice(v.value());
        self.at = 0;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{Database, ReadableDatabase, backends::InMemoryBackend};

    const T: IdTables = IdTables::new("runs", "blocks", "filters");

    fn db() -> Database {
        let db = redb::Builder::new()
            .create_with_backend(InMemoryBackend::new())
            .unwrap();
        let txn = db.begin_write().unwrap();
        T.create(&txn).unwrap();
        txn.commit().unwrap();
        db
    }

    /// A splitmix64 stream: uniformly spread keys, like the store's hashes.
    struct Keys(u64);
    impl Keys {
        fn next(&mut self) -> u128 {
            let mut word = || {
                self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            };
            (u128::from(word()) << 64) | u128::from(word())
        }
        fn sorted(&mut self, n: usize) -> Vec<u128> {
            let mut v: Vec<u128> = (0..n).map(|_| self.next()).collect();
            v.sort_unstable();
            v.dedup();
            v
        }
    }

    fn commit(db: &Database, index: &mut IdIndex, keys: &[u128]) {
        let committed = db.begin_read().unwrap();
        let txn = db.begin_write().unwrap();
        let p = index.write(&committed, &txn, keys).unwrap();
        drop(committed);
        txn.commit().unwrap();
        index.apply(p);
    }

    fn known(db: &Database, index: &IdIndex, keys: &[u128]) -> Vec<bool> {
        let txn = db.begin_read().unwrap();
        let mut lookups: Vec<(u128, usize)> = keys.iter().copied().zip(0..).collect();
        lookups.sort_unstable();
        let mut known = vec![false; keys.len()];
        index
            .mark_known(&T.open_blocks(&txn).unwrap(), &lookups, &mut known)
            .unwrap();
        known
    }

    fn load(db: &Database) -> IdIndex {
        IdIndex::load(&db.begin_read().unwrap(), T).unwrap()
    }

    #[test]
    fn holds_every_committed_key_and_no_other_through_merges_and_reopening() {
        let db = db();
        let mut index = load(&db);
        let mut keygen = Keys(7);
        let mut all = Vec::new();
        // Sizes from one key to several blocks and filter parts, one commit
        // of eight empty (no run): enough commits to fill tier 1 once and
        // then some.
        let commits = FAN_IN * FAN_IN * 8 / 7 + 2 * FAN_IN;
        for (n, size) in [1usize, 3, BLOCK_KEYS, BLOCK_KEYS + 1, 700, 5_000, 0, 2]
            .iter()
            .cycle()
            .take(commits)
            .enumerate()
        {
            let keys = keygen.sorted(*size);
            commit(&db, &mut index, &keys);
            all.extend_from_slice(&keys);
            let fresh: Vec<u128> = (0..2_000).map(|_| keygen.next()).collect();
            assert!(known(&db, &index, &all).iter().all(|k| *k), "commit {n}");
            assert!(known(&db, &index, &fresh).iter().all(|k| !*k), "commit {n}");
            assert_eq!(index.len(), all.len() as u64);
            // At most FAN_IN - 1 runs per tier, and few tiers.
            assert!(
                index.run_count() <= (FAN_IN - 1) * 3,
                "{} runs",
                index.run_count()
            );
        }
        assert!(
            index.runs.iter().any(|r| r.tier >= 2),
            "merges reached tier 2"
        );

        // A reopened index answers the same, from the stored runs alone.
        let reopened = load(&db);
        assert_eq!(
            reopened
                .runs
                .iter()
                .map(|r| (r.id, r.tier, r.len))
                .collect::<Vec<_>>(),
            index
                .runs
                .iter()
                .map(|r| (r.id, r.tier, r.len))
                .collect::<Vec<_>>()
        );
        let mut probe = all.clone();
        probe.extend((0..5_000).map(|_| keygen.next()));
        assert_eq!(known(&db, &reopened, &probe), known(&db, &index, &probe));
        assert!(
            reopened
                .contains(&T.open_blocks(&db.begin_read().unwrap()).unwrap(), all[17])
                .unwrap()
        );

        // Merged runs leave nothing behind: blocks hold exactly the keys.
        let txn = db.begin_read().unwrap();
        let blocks = T.open_blocks(&txn).unwrap();
        let mut stored = 0;
        for row in blocks.iter().unwrap() {
            stored += row.unwrap().1.value().len() / 16;
        }
        assert_eq!(stored, all.len());
    }

    /// The largest block of each run, in keys.
    fn largest_blocks(db: &Database) -> Vec<(u64, usize)> {
        let txn = db.begin_read().unwrap();
        let mut largest = std::collections::BTreeMap::new();
        for row in T.open_blocks(&txn).unwrap().iter().unwrap() {
            let (key, block) = row.unwrap();
            let n = largest.entry(key.value().0).or_insert(0);
            *n = (*n).max(block.value().len() / 16);
        }
        largest.into_iter().collect()
    }

    #[test]
    fn runs_of_smaller_blocks_are_read_and_merged() {
        let db = db();
        let mut index = load(&db);
        let mut keygen = Keys(13);
        let mut all = Vec::new();
        // Runs of 248-key blocks, as stores of 4 KiB blocks hold them.
        index.block_keys = 248;
        for _ in 0..FAN_IN - 1 {
            let keys = keygen.sorted(2_000);
            commit(&db, &mut index, &keys);
            all.extend_from_slice(&keys);
        }
        assert!(largest_blocks(&db).iter().all(|&(_, n)| n == 248));
        let mut index = load(&db);
        assert_eq!(index.block_keys, BLOCK_KEYS);
        assert!(known(&db, &index, &all).iter().all(|k| *k));
        // This commit fills tier 0: the old runs merge into one of this
        // version's blocks.
        let keys = keygen.sorted(2_000);
        commit(&db, &mut index, &keys);
        all.extend_from_slice(&keys);
        assert_eq!(largest_blocks(&db), [(index.runs[0].id, BLOCK_KEYS)]);
        let reopened = load(&db);
        assert!(known(&db, &reopened, &all).iter().all(|k| *k));
        let fresh: Vec<u128> = (0..2_000).map(|_| keygen.next()).collect();
        assert!(known(&db, &reopened, &fresh).iter().all(|k| !*k));
        assert_eq!(reopened.len(), all.len() as u64);
    }

    #[test]
    fn an_aborted_commit_changes_neither_the_file_nor_the_index() {
        let db = db();
        let mut index = load(&db);
        let mut keygen = Keys(11);
        let kept = keygen.sorted(300);
        // FAN_IN - 1 runs in tier 0.
        for _ in 0..FAN_IN - 2 {
            commit(&db, &mut index, &keygen.sorted(10));
        }
        commit(&db, &mut index, &kept);
        let runs = index.run_count();
        // This write would merge tier 0; the transaction is dropped.
        let lost = keygen.sorted(300);
        let committed = db.begin_read().unwrap();
        let txn = db.begin_write().unwrap();
        let pending = index.write(&committed, &txn, &lost).unwrap();
        assert!(!pending.merged.is_empty());
        drop(txn);
        drop(pending);
        assert_eq!(index.run_count(), runs);
        assert!(known(&db, &index, &kept).iter().all(|k| *k));
        assert!(known(&db, &index, &lost).iter().all(|k| !*k));
        assert!(known(&db, &load(&db), &lost).iter().all(|k| !*k));
        // The next commit takes the same run id and works.
        commit(&db, &mut index, &lost);
        assert!(known(&db, &load(&db), &lost).iter().all(|k| *k));
        assert!(known(&db, &load(&db), &kept).iter().all(|k| *k));
    }

    #[test]
    fn the_filter_passes_few_absent_keys() {
        let mut keygen = Keys(3);
        let keys = keygen.sorted(100_000);
        let mut f = Filter::with_blocks(Filter::blocks_for(keys.len() as u64));
        keys.iter().for_each(|k| f.insert(*k));
        assert!(keys.iter().all(|k| f.may_contain(*k)));
        let passed = (0..100_000)
            .filter(|_| f.may_contain(keygen.next()))
            .count();
        // 16 bits per key, 7 probes in one 512-bit block: about 0.1 %
        // (12 bits per key would pass about 0.4 %).
        assert!(passed < 200, "{passed} of 100,000 absent keys passed");
    }

    #[test]
    fn runs_written_with_fewer_filter_bits_load_answer_and_merge() {
        let db = db();
        let mut index = load(&db);
        let mut keygen = Keys(11);
        let old = keygen.sorted(20_000);
        commit(&db, &mut index, &old);
        // Rewrite the run as a store of 12 bits per key left it.
        let id = index.runs[0].id;
        let mut filter = Filter::with_blocks(Filter::blocks_at(old.len() as u64, 12));
        assert!(filter.blocks.len() < Filter::blocks_for(old.len() as u64));
        old.iter().for_each(|k| filter.insert(*k));
        let txn = db.begin_write().unwrap();
        {
            let mut parts = txn.open_table(T.filters).unwrap();
            parts.retain(|_, _| false).unwrap();
            filter.store(&mut parts, id).unwrap();
            let header = encode_header(0, old.len() as u64, filter.blocks.len() as u64);
            let mut runs = txn.open_table(T.runs).unwrap();
            runs.insert(id, header.as_slice()).unwrap();
        }
        txn.commit().unwrap();

        let mut index = load(&db);
        assert_eq!(index.runs[0].filter.blocks.len(), filter.blocks.len());
        assert!(known(&db, &index, &old).iter().all(|k| *k));
        let absent = keygen.sorted(1_000);
        assert!(known(&db, &index, &absent).iter().all(|k| !*k));
        // Merged with newer runs into one run of today's filter size.
        let mut all = old.clone();
        for _ in 1..FAN_IN {
            let keys = keygen.sorted(1_000);
            commit(&db, &mut index, &keys);
            all.extend(keys);
        }
        let index = load(&db);
        assert_eq!(index.run_count(), 1);
        assert_eq!(
            index.runs[0].filter.blocks.len(),
            Filter::blocks_for(all.len() as u64)
        );
        assert!(known(&db, &index, &all).iter().all(|k| *k));
        assert!(known(&db, &index, &absent).iter().all(|k| !*k));
    }

    #[test]
    fn damaged_runs_are_reported_not_trusted() {
        let db = db();
        let mut index = load(&db);
        let keys = Keys(5).sorted(1_000);
        commit(&db, &mut index, &keys);
        let id = index.runs[0].id;

        // A block cut short.
        let txn = db.begin_write().unwrap();
        {
            let mut blocks = txn.open_table(T.blocks).unwrap();
            blocks.insert((id, keys[0]), [1u8; 15].as_slice()).unwrap();
        }
        txn.commit().unwrap();
        let read = db.begin_read().unwrap();
        let err = index
            .contains(&T.open_blocks(&read).unwrap(), keys[0])
            .unwrap_err();
        assert!(err.to_string().contains("damaged block"), "{err}");
        drop(read);
        // And a merge that reads it: the commit that fills tier 0.
        for seed in 6..6 + FAN_IN as u64 - 2 {
            commit(&db, &mut index, &Keys(seed).sorted(10));
        }
        let committed = db.begin_read().unwrap();
        let txn = db.begin_write().unwrap();
        let err = index
            .write(&committed, &txn, &Keys(99).sorted(10))
            .err()
            .unwrap();
        assert!(err.to_string().contains("damaged block"), "{err}");
        drop((committed, txn));

        // A header claiming a filter far larger than its run.
        let txn = db.begin_write().unwrap();
        txn.open_table(T.runs)
            .unwrap()
            .insert(id, encode_header(0, 1, 1 << 40).as_slice())
            .unwrap();
        txn.commit().unwrap();
        let err = IdIndex::load(&db.begin_read().unwrap(), T).err().unwrap();
        assert!(err.to_string().contains("damaged header"), "{err}");

        // A filter part missing.
        let txn = db.begin_write().unwrap();
        txn.open_table(T.runs)
            .unwrap()
            .insert(
                id,
                encode_header(0, 1_000, Filter::blocks_for(1_000) as u64).as_slice(),
            )
            .unwrap();
        txn.open_table(T.filters).unwrap().remove((id, 0)).unwrap();
        txn.commit().unwrap();
        let err = IdIndex::load(&db.begin_read().unwrap(), T).err().unwrap();
        assert!(err.to_string().contains("filter"), "{err}");
    }
}
