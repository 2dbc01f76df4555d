//! The live state that decisions read: dimensions, grants, presence and the
//! version (last applied `occurred_at`) of every admin entity.
//!
//! `State` is plain data in memory; a [`crate::StateStore`] persists it. Every
//! mutation records what it touched in [`State::take_dirty`], so a store
//! writes only what changed in a chunk.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use hashbrown::HashTable;

/// The maps of the state and of a chunk's duplicate checks: std's maps with
/// foldhash, several times faster than SipHash on short ids. Its seed is
/// random per process, which keeps collisions from being aimed from outside
/// without reading the process; foldhash promises no more than that (it is
/// not a keyed PRF like SipHash), which suits ids a chunk holds for seconds.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// See [`Map`].
pub type Set<T> = HashSet<T, foldhash::fast::RandomState>;

/// A map from ids that also numbers its entries in the order they came,
/// a number an entry keeps: entries are replaced, never removed. The
/// state's zones, doors and cards, whose numbers a decision carries to
/// the file writer ([`accesslake_model::IdNumbers`]).
///
/// Its table compares ids with [`same_id`], in line: a scan looks up its
/// card and its door here. Its ids are [`Id`]s, kept in the table's slot
/// when they are short (as nearly every card id is), so that a lookup's
/// comparison reads no memory but the slot's.
///
/// Each slot also holds a link, a number its owner gave the entry (a
/// card's holder's interned id), which every put of the entry sets or
/// clears: a link read is never stale, and it is there as soon as the slot
/// is, before the entry's own memory arrives.
#[derive(Debug, Clone)]
pub struct NumberedMap<V> {
    /// Each id with its number and link, hashed by `hasher`.
    numbers: HashTable<Slot>,
    hasher: foldhash::fast::RandomState,
    entries: Vec<V>,
}

#[derive(Debug, Clone)]
struct Slot {
    id: Id,
    number: usize,
    /// [`NO_LINK`] when the entry has none.
    link: u32,
}

const NO_LINK: u32 = u32::MAX;

impl<V> Default for NumberedMap<V> {
    fn default() -> Self {
        NumberedMap {
            numbers: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            entries: Vec::new(),
        }
    }
}

impl<V> NumberedMap<V> {
    /// The entry of `id` and its number.
    #[inline(always)]
    pub fn get_numbered(&self, id: &str) -> Option<(usize, &V)> {
        self.get_linked(id).map(|(n, v, _)| (n, v))
    }

    /// The entry of `id`, its number and its link.
    #[inline(always)]
    fn get_linked(&self, id: &str) -> Option<(usize, &V, Option<u32>)> {
        let slot = self.slot(id)?;
        let link = (slot.link != NO_LINK).then_some(slot.link);
        Some((slot.number, self.entries.get(slot.number)?, link))
    }

    #[inline(always)]
    fn slot(&self, id: &str) -> Option<&Slot> {
        let hash = self.hasher.hash_one(id);
        self.numbers.find(hash, |slot| same_id(&slot.id, id))
    }

    /// The number of `id`'s entry.
    fn number(&self, id: &str) -> Option<usize> {
        self.slot(id).map(|slot| slot.number)
    }

    /// Each id with its entry's number, in no particular order.
    fn ids(&self) -> impl Iterator<Item = (&str, usize)> {
        self.numbers.iter().map(|s| (s.id.as_str(), s.number))
    }

    #[inline]
    pub fn get(&self, id: &str) -> Option<&V> {
        self.get_numbered(id).map(|(_, v)| v)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.number(id).is_some()
    }

    /// The entry numbered `n`.
    #[inline]
    pub fn numbered(&self, n: usize) -> Option<&V> {
        self.entries.get(n)
    }

    /// Sets the entry of `id`, which keeps its number if it had one; the
    /// entry it replaced.
    pub fn insert(&mut self, id: &str, v: V) -> Option<V> {
        self.insert_linked(Id::from(id), v, None).1
    }

    /// [`NumberedMap::insert`] setting the entry's link (none when it does
    /// not fit one), also giving the entry's number.
    fn insert_linked(&mut self, id: Id, v: V, link: Option<usize>) -> (usize, Option<V>) {
        let link = link.and_then(|l| u32::try_from(l).ok()).unwrap_or(NO_LINK);
        let hasher = &self.hasher;
        let hash = hasher.hash_one(id.as_str());
        match self.numbers.entry(
            hash,
            |slot| same_id(&slot.id, &id),
            |slot| hasher.hash_one(slot.id.as_str()),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut e) => {
                let slot = e.get_mut();
                slot.link = link;
                let n = slot.number;
                (n, Some(std::mem::replace(&mut self.entries[n], v)))
            }
            hashbrown::hash_table::Entry::Vacant(e) => {
                let number = self.entries.len();
                e.insert(Slot { id, number, link });
                self.entries.push(v);
                (number, None)
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in number order.
    pub fn values(&self) -> std::slice::Iter<'_, V> {
        self.entries.iter()
    }
}

/// Equal when they hold the same entries under the same ids, whatever
/// their numbers.
impl<V: PartialEq> PartialEq for NumberedMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .ids()
                .all(|(id, n)| other.get(id) == self.entries.get(n))
    }
}

impl<V> std::ops::Index<&str> for NumberedMap<V> {
    type Output = V;

    /// The entry of `id`; panics when there is none, as a map's index does.
    fn index(&self, id: &str) -> &V {
        match self.get(id) {
            Some(v) => v,
            None => panic!("no entry for {id:?}"),
        }
    }
}

use accesslake_model::{CardStatus, Door, Employee, Id, Micros, Schedule, Zone, same_id};

/// A card as issued, with its current status. Its ids are [`Id`]s, in the
/// card's own memory when short: a scan reads its holder's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub card_id: Id,
    pub employee_id: Id,
    pub status: CardStatus,
    pub valid_from: Option<Micros>,
    pub valid_until: Option<Micros>,
}

/// Permission for one employee to enter one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub employee_id: String,
    pub zone_id: String,
    pub schedule: Schedule,
    pub granted_by: String,
    pub granted_at: Micros,
}

/// Which persisted item a mutation touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityRef {
    Zone(String),
    Door(String),
    Employee(String),
    Card(String),
    /// (employee_id, zone_id)
    Grant(String, String),
    /// (employee_id, zone_id): the employee is inside the zone.
    Presence(String, String),
}

impl EntityRef {
    /// The entity's kind name, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            EntityRef::Zone(_) => "zone",
            EntityRef::Door(_) => "door",
            EntityRef::Employee(_) => "employee",
            EntityRef::Card(_) => "card",
            EntityRef::Grant(..) => "grant",
            EntityRef::Presence(..) => "presence",
        }
    }

    /// Rebuilds an entity from its kind name and key parts, as stored and as
    /// [`accesslake_model::AdminData::entity`] names it.
    pub fn from_parts(kind: &str, a: &str, b: &str) -> Option<EntityRef> {
        let (a, b) = (a.to_string(), b.to_string());
        Some(match kind {
            "zone" => EntityRef::Zone(a),
            "door" => EntityRef::Door(a),
            "employee" => EntityRef::Employee(a),
            "card" => EntityRef::Card(a),
            "grant" => EntityRef::Grant(a, b),
            "presence" => EntityRef::Presence(a, b),
            _ => return None,
        })
    }

    /// The two key parts (the second is empty for single-id entities).
    pub fn key(&self) -> (&str, &str) {
        match self {
            EntityRef::Zone(a)
            | EntityRef::Door(a)
            | EntityRef::Employee(a)
            | EntityRef::Card(a) => (a, ""),
            EntityRef::Grant(a, b) | EntityRef::Presence(a, b) => (a, b),
        }
    }
}

/// An interned employee or zone id: an index into [`Symbols`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Sym(usize);

impl Sym {
    /// No id: a hint not set.
    const NONE: Sym = Sym(usize::MAX);

    /// The id's number among the interned ids.
    pub(crate) fn number(self) -> usize {
        self.0
    }
}

/// An (employee, zone) pair of interned ids, the key of grants and presence:
/// two integers to hash and compare instead of two strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Pair(Sym, Sym);

impl Pair {
    pub(crate) fn new(employee: Sym, zone: Sym) -> Pair {
        Pair(employee, zone)
    }
}

/// The employee and zone ids that grants and presence have named. Ids are
/// never forgotten: their number is bounded by the people and zones a site
/// has ever had, not by events. Names are [`Id`]s: a scan's hint check
/// reads its zone's.
#[derive(Debug, Default, Clone)]
struct Symbols {
    ids: Map<Id, Sym>,
    names: Vec<Id>,
}

impl Symbols {
    fn get(&self, name: &str) -> Option<Sym> {
        self.ids.get(name).copied()
    }

    fn intern(&mut self, name: &str) -> Sym {
        if let Some(&s) = self.ids.get(name) {
            return s;
        }
        let s = Sym(self.names.len());
        self.names.push(Id::from(name));
        self.ids.insert(Id::from(name), s);
        s
    }

    fn name(&self, s: Sym) -> &str {
        &self.names[s.0]
    }

    /// `hint` when it is the interned `id`, else `id`'s lookup. The check
    /// is made in line in a scan's decision; the lookup, which a decision
    /// seldom needs, is not.
    #[inline(always)]
    fn hinted(&self, hint: Option<&Sym>, id: &str) -> Option<Sym> {
        match hint {
            Some(&s) if self.names.get(s.0).is_some_and(|name| same_id(name, id)) => Some(s),
            _ => self.unhinted(id),
        }
    }

    #[cold]
    #[inline(never)]
    fn unhinted(&self, id: &str) -> Option<Sym> {
        self.get(id)
    }
}

/// Numbers that spare a decision the lookups of its door's zone, of its
/// zone's interned id and of its card holder's employee record: with the
/// card's link to its holder's interned id, after the card and door
/// lookups a scan needs nothing else by name. The state's puts and loads
/// keep them. A door's zone or a zone's id is checked against its hint
/// before the hint is used, so an entry that came into a map some other
/// way costs its lookup, never a wrong zone or pair.
#[derive(Debug, Default, Clone)]
struct Hints {
    /// By zone number: the zone's interned id.
    zone: Vec<Sym>,
    /// By interned id: the number of the employee of that id.
    employee: Vec<usize>,
    /// By door number: the number of the door's zone.
    door_zone: Vec<usize>,
}

/// An (employee, zone) pair's grant and presence, in one slot of the pair
/// table: a scan reads both, so one lookup finds them. The grant's
/// schedule is in the slot and the rest behind a pointer, which only admin
/// events, commits and snapshots read: a slot of 32 bytes with its key,
/// where the whole grant made one of 104 (its key and schedule often in
/// different cache lines) and presence a second table, a second miss.
#[derive(Debug, Clone)]
struct PairSlot {
    /// The pair's grant, if it has one (grants are put whole).
    grant: Option<Box<Grant>>,
    /// The grant's schedule; meaningless without a grant.
    schedule: Schedule,
    /// [`INSIDE`] and [`MOVED`].
    flags: u8,
}

/// A pair with neither grant nor presence yet.
impl Default for PairSlot {
    fn default() -> Self {
        PairSlot {
            grant: None,
            schedule: Schedule::Always,
            flags: 0,
        }
    }
}

impl PairSlot {
    fn schedule(&self) -> Option<Schedule> {
        self.grant.is_some().then_some(self.schedule)
    }

    fn inside(&self) -> bool {
        self.flags & INSIDE != 0
    }
}

/// Sets `v[at]`, filling any gap before it with `none`.
fn set_hint<T: Copy>(v: &mut Vec<T>, at: usize, value: T, none: T) {
    if v.len() <= at {
        v.resize(at + 1, none);
    }
    v[at] = value;
}

/// Everything the decision rules and admin semantics read.
///
/// Grants and presence are keyed by interned (employee, zone) pairs, in one
/// table: a scan reads both, and a granted entry or an exit writes
/// presence, so this is the lookup every decision makes. Read them through
/// [`State::grant`], [`State::grants`] and [`State::is_inside`].
#[derive(Debug, Default, Clone)]
pub struct State {
    pub zones: NumberedMap<Zone>,
    pub doors: NumberedMap<Door>,
    pub employees: NumberedMap<Employee>,
    pub cards: NumberedMap<Card>,
    /// Last applied `occurred_at` per admin entity (zone, door, employee, card, grant).
    pub versions: Map<EntityRef, Micros>,
    syms: Symbols,
    hints: Hints,
    /// Each (employee, zone) pair with a grant or ever inside: its grant,
    /// and its presence as [`INSIDE`], and [`MOVED`] when it changed an odd
    /// number of times since the last [`State::take_dirty`].
    pairs: Map<Pair, PairSlot>,
    /// Pairs whose [`MOVED`] was set, some since cleared again.
    moved: Vec<Pair>,
    /// Pairs with [`INSIDE`] set.
    inside_count: usize,
    dirty: Set<EntityRef>,
}

/// [`State`]'s presence flags: the employee is inside the zone.
const INSIDE: u8 = 1;
/// The presence changed since the store last had it.
const MOVED: u8 = 2;

/// Two states are equal when they hold the same entities, whatever order
/// their ids were interned in.
impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        let named_grants = |s: &State| -> Map<(String, String), Grant> {
            s.grants()
                .map(|g| ((g.employee_id.clone(), g.zone_id.clone()), g.clone()))
                .collect()
        };
        let named_presence = |s: &State| -> Set<(String, String)> {
            s.presence()
                .map(|(e, z)| (e.to_string(), z.to_string()))
                .collect()
        };
        self.zones == other.zones
            && self.doors == other.doors
            && self.employees == other.employees
            && self.cards == other.cards
            && self.versions == other.versions
            && named_grants(self) == named_grants(other)
            && named_presence(self) == named_presence(other)
    }
}

impl State {
    /// The pair of two ids, if both were ever interned.
    pub(crate) fn pair(&self, employee_id: &str, zone_id: &str) -> Option<Pair> {
        Some(Pair(self.syms.get(employee_id)?, self.syms.get(zone_id)?))
    }

    fn intern_pair(&mut self, employee_id: &str, zone_id: &str) -> Pair {
        Pair(self.syms.intern(employee_id), self.syms.intern(zone_id))
    }

    /// The card of `id`, its number and its holder's interned id: the
    /// card's link, or out of line, a lookup of its holder's id.
    #[inline(always)]
    pub(crate) fn card_with_holder(&self, id: &str) -> Option<(usize, &Card, Option<Sym>)> {
        let (n, card, link) = self.cards.get_linked(id)?;
        let holder = match link {
            Some(s) => Some(Sym(s as usize)),
            None => self.syms.unhinted(&card.employee_id),
        };
        Some((n, card, holder))
    }

    /// The interned id of `zone`, numbered `number`.
    #[inline]
    pub(crate) fn zone_sym(&self, number: usize, zone: &Zone) -> Option<Sym> {
        self.syms.hinted(self.hints.zone.get(number), &zone.zone_id)
    }

    /// The zone of `door`, numbered `number`, with the zone's number.
    #[inline]
    pub(crate) fn zone_of_door(&self, number: usize, door: &Door) -> Option<(usize, &Zone)> {
        if let Some(&n) = self.hints.door_zone.get(number)
            && let Some(zone) = self.zones.numbered(n)
            && same_id(&zone.zone_id, &door.zone_id)
        {
            return Some((n, zone));
        }
        self.zones.get_numbered(&door.zone_id)
    }

    /// The employee record of an interned id: by its hint in line, by its
    /// id out of line.
    #[inline(always)]
    pub(crate) fn employee_of(&self, s: Sym) -> Option<&Employee> {
        match self.hints.employee.get(s.0) {
            Some(&n) if n != usize::MAX => self.employees.numbered(n),
            _ => self.employee_by_name(s),
        }
    }

    #[cold]
    #[inline(never)]
    fn employee_by_name(&self, s: Sym) -> Option<&Employee> {
        self.employees.get(self.syms.name(s))
    }

    pub fn grant(&self, employee_id: &str, zone_id: &str) -> Option<&Grant> {
        let pair = self.pair(employee_id, zone_id)?;
        self.pairs.get(&pair).and_then(|slot| slot.grant.as_deref())
    }

    /// The schedule of the pair's grant, if it has one, and whether the
    /// pair is inside: what a scan reads, in one lookup.
    #[inline]
    pub(crate) fn schedule_and_presence(&self, pair: Pair) -> (Option<Schedule>, bool) {
        self.pairs
            .get(&pair)
            .map_or((None, false), |slot| (slot.schedule(), slot.inside()))
    }

    /// Every grant, in no particular order.
    pub fn grants(&self) -> impl Iterator<Item = &Grant> {
        self.pairs.values().filter_map(|slot| slot.grant.as_deref())
    }

    pub fn is_inside(&self, employee_id: &str, zone_id: &str) -> bool {
        self.pair(employee_id, zone_id)
            .is_some_and(|p| self.is_inside_pair(p))
    }

    fn is_inside_pair(&self, pair: Pair) -> bool {
        self.pairs.get(&pair).is_some_and(PairSlot::inside)
    }

    /// Every (employee_id, zone_id) marked inside, in no particular order.
    pub fn presence(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .filter(|&(_, slot)| slot.inside())
            .map(|(&Pair(e, z), _)| (self.syms.name(e), self.syms.name(z)))
    }

    /// Marks or clears presence of an employee in a zone.
    pub fn set_inside(&mut self, employee_id: &str, zone_id: &str, inside: bool) {
        let pair = if inside {
            Some(self.intern_pair(employee_id, zone_id))
        } else {
            self.pair(employee_id, zone_id)
        };
        if let Some(pair) = pair {
            self.set_inside_pair(pair, inside);
        }
    }

    /// [`State::set_inside`] for a pair already interned.
    pub(crate) fn set_inside_pair(&mut self, pair: Pair, inside: bool) {
        // A pair never inside has nothing to clear: no entry is made.
        let flags = if inside {
            &mut self.pairs.entry(pair).or_default().flags
        } else {
            match self.pairs.get_mut(&pair) {
                Some(slot) => &mut slot.flags,
                None => return,
            }
        };
        if (*flags & INSIDE != 0) == inside {
            return;
        }
        // Presence is only in or out: a pair that changed an even number of
        // times since the last commit is back where the store has it. Over a
        // chunk of a day or more, that is most people's every zone.
        *flags ^= INSIDE | MOVED;
        if *flags & MOVED != 0 {
            self.moved.push(pair);
        }
        if inside {
            self.inside_count += 1;
        } else {
            self.inside_count -= 1;
        }
    }

    /// Adds a stored presence while loading (not a change to persist).
    pub(crate) fn load_presence(&mut self, employee_id: &str, zone_id: &str) {
        let pair = self.intern_pair(employee_id, zone_id);
        let flags = &mut self.pairs.entry(pair).or_default().flags;
        if *flags & INSIDE == 0 {
            *flags |= INSIDE;
            self.inside_count += 1;
        }
    }

    /// Adds a stored grant while loading (not a change to persist).
    pub(crate) fn load_grant(&mut self, g: Grant) {
        let pair = self.intern_pair(&g.employee_id, &g.zone_id);
        let slot = self.pairs.entry(pair).or_default();
        slot.schedule = g.schedule;
        slot.grant = Some(Box::new(g));
    }

    pub fn put_zone(&mut self, z: Zone) {
        self.dirty.insert(EntityRef::Zone(z.zone_id.clone()));
        self.load_zone(z);
    }

    /// Adds a stored zone while loading (not a change to persist).
    pub(crate) fn load_zone(&mut self, z: Zone) {
        let s = self.syms.intern(&z.zone_id);
        let (n, replaced) = self
            .zones
            .insert_linked(Id::from(z.zone_id.as_str()), z, None);
        set_hint(&mut self.hints.zone, n, s, Sym::NONE);
        if replaced.is_none() {
            // A zone new to the state: the doors already in it.
            let zone_id = &self.zones.entries[n].zone_id;
            for (d, door) in self.doors.entries.iter().enumerate() {
                if &door.zone_id == zone_id {
                    set_hint(&mut self.hints.door_zone, d, n, usize::MAX);
                }
            }
        }
    }

    pub fn put_door(&mut self, d: Door) {
        self.dirty.insert(EntityRef::Door(d.door_id.clone()));
        self.load_door(d);
    }

    /// Adds a stored door while loading (not a change to persist).
    pub(crate) fn load_door(&mut self, d: Door) {
        let zone = self.zones.number(&d.zone_id);
        let (n, _) = self
            .doors
            .insert_linked(Id::from(d.door_id.as_str()), d, None);
        set_hint(
            &mut self.hints.door_zone,
            n,
            zone.unwrap_or(usize::MAX),
            usize::MAX,
        );
    }

    pub fn put_employee(&mut self, e: Employee) {
        self.dirty
            .insert(EntityRef::Employee(e.employee_id.clone()));
        self.load_employee(e);
    }

    /// Whether every card, zone and employee has its hint (what the
    /// state's puts and loads leave).
    #[cfg(test)]
    pub(crate) fn hints_complete(&self) -> bool {
        let cards = self.cards.numbers.iter().all(|slot| {
            let card = &self.cards.entries[slot.number];
            let linked = self.syms.get(&card.employee_id);
            linked.and_then(|s| u32::try_from(s.0).ok()) == Some(slot.link)
        });
        let zones = self
            .zones
            .ids()
            .all(|(id, n)| self.hints.zone.get(n) == self.syms.get(id).as_ref());
        let employees = self.employees.ids().all(|(id, n)| {
            self.syms
                .get(id)
                .is_some_and(|s| self.hints.employee.get(s.0) == Some(&n))
        });
        let doors = self.doors.entries.iter().enumerate().all(|(d, door)| {
            let hint = self.hints.door_zone.get(d).filter(|&&n| n != usize::MAX);
            hint.copied() == self.zones.number(&door.zone_id)
        });
        cards && zones && employees && doors
    }

    /// Adds a stored employee while loading (not a change to persist).
    pub(crate) fn load_employee(&mut self, e: Employee) {
        let s = self.syms.intern(&e.employee_id);
        let (n, _) = self
            .employees
            .insert_linked(Id::from(e.employee_id.as_str()), e, None);
        set_hint(&mut self.hints.employee, s.0, n, usize::MAX);
    }

    pub fn put_card(&mut self, c: Card) {
        self.dirty.insert(EntityRef::Card(c.card_id.to_string()));
        self.load_card(c);
    }

    /// Adds a stored card while loading (not a change to persist).
    pub(crate) fn load_card(&mut self, c: Card) {
        let s = self.syms.intern(&c.employee_id);
        self.cards.insert_linked(c.card_id.clone(), c, Some(s.0));
    }

    pub fn put_grant(&mut self, g: Grant) {
        self.dirty
            .insert(EntityRef::Grant(g.employee_id.clone(), g.zone_id.clone()));
        self.load_grant(g);
    }

    pub fn remove_grant(&mut self, employee_id: &str, zone_id: &str) {
        let Some(pair) = self.pair(employee_id, zone_id) else {
            return;
        };
        let Some(slot) = self.pairs.get_mut(&pair) else {
            return;
        };
        let removed = slot.grant.take();
        // A slot left with neither grant nor presence goes, as the grant's
        // entry went when grants had a table of their own.
        if slot.flags == 0 {
            self.pairs.remove(&pair);
        }
        if removed.is_some() {
            self.dirty.insert(EntityRef::Grant(
                employee_id.to_string(),
                zone_id.to_string(),
            ));
        }
    }

    /// Records that an admin event for `entity` was applied at `occurred_at`.
    pub fn set_version(&mut self, entity: EntityRef, occurred_at: Micros) {
        self.versions.insert(entity, occurred_at);
    }

    /// The entities changed since the last call (presence included; versions
    /// are persisted with their entity and listed under it).
    pub fn take_dirty(&mut self) -> Vec<EntityRef> {
        let mut v: Vec<EntityRef> = self.dirty.drain().collect();
        for pair in self.moved.drain(..) {
            // A pair listed twice, or moved back since, has MOVED clear.
            if let Some(PairSlot { flags, .. }) = self.pairs.get_mut(&pair)
                && *flags & MOVED != 0
            {
                *flags &= !MOVED;
                let Pair(e, z) = pair;
                v.push(EntityRef::Presence(
                    self.syms.name(e).to_string(),
                    self.syms.name(z).to_string(),
                ));
            }
        }
        v.sort();
        v.dedup();
        v
    }

    /// Marks an entity whose version changed without a value change (a no-op revoke).
    pub(crate) fn touch(&mut self, e: EntityRef) {
        self.dirty.insert(e);
    }

    /// Number of (employee, zone) pairs marked inside.
    pub fn presence_count(&self) -> usize {
        self.inside_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accesslake_model::Schedule;

    #[test]
    fn a_numbered_map_keeps_each_ids_number_and_compares_as_a_map() {
        let mut m = NumberedMap::default();
        assert!(m.is_empty());
        assert_eq!(m.insert("b", 1), None);
        assert_eq!(m.insert("a", 2), None);
        assert_eq!(m.insert("b", 3), Some(1), "replaced, not added");
        assert_eq!(m.get_numbered("b"), Some((0, &3)));
        assert_eq!(m.get_numbered("a"), Some((1, &2)));
        assert_eq!(m.get_numbered("c"), None);
        assert!(m.contains_key("a") && !m.contains_key("c"));
        assert_eq!((m.len(), m["a"]), (2, 2));
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [3, 2]);

        // The same entries numbered the other way round are the same map.
        let mut other = NumberedMap::default();
        other.insert("a", 2);
        other.insert("b", 3);
        assert_eq!(m, other);
        other.insert("b", 4);
        assert_ne!(m, other);
        other.insert("b", 3);
        other.insert("c", 3);
        assert_ne!(m, other);
        assert_ne!(other, m);
    }

    fn grant(employee_id: &str, zone_id: &str) -> Grant {
        Grant {
            employee_id: employee_id.into(),
            zone_id: zone_id.into(),
            schedule: Schedule::Always,
            granted_by: "admin".into(),
            granted_at: 1,
        }
    }

    #[test]
    fn equality_and_merge_ignore_intern_order() {
        let mut a = State::default();
        a.put_grant(grant("e1", "z1"));
        a.set_inside("e2", "z2", true);
        let mut b = State::default();
        // Interned in the other order: e2 and z2 get the first numbers.
        b.set_inside("e2", "z2", true);
        b.put_grant(grant("e1", "z1"));
        assert_eq!(a, b);
        b.set_inside("e1", "z1", true);
        assert_ne!(a, b);

        // Entities loaded into a state that has numbered ids already (a
        // batch's second read) find those ids by name.
        a.load_presence("e1", "z1");
        a.load_grant(grant("e3", "z2"));
        assert!(a.is_inside("e1", "z1") && a.is_inside("e2", "z2"));
        assert!(!a.is_inside("e1", "z2") && !a.is_inside("e3", "z1"));
        assert!(a.grant("e3", "z2").is_some() && a.grant("e3", "z1").is_none());
        assert_eq!(a.presence_count(), 2);
    }

    fn card(card_id: &str, employee_id: &str) -> Card {
        Card {
            card_id: card_id.into(),
            employee_id: employee_id.into(),
            status: CardStatus::Active,
            valid_from: None,
            valid_until: None,
        }
    }

    fn employee(employee_id: &str) -> Employee {
        Employee {
            employee_id: employee_id.into(),
            name: employee_id.into(),
            department: "ops".into(),
            status: accesslake_model::EmployeeStatus::Active,
        }
    }

    fn zone(zone_id: &str) -> Zone {
        Zone {
            zone_id: zone_id.into(),
            name: zone_id.into(),
            site_id: "s".into(),
            timezone: chrono_tz::UTC,
            capacity: 1,
        }
    }

    /// The id of card `id`'s holder and that holder's employee record, as a
    /// decision reads them.
    fn holder_of<'s>(s: &'s State, id: &str) -> (Option<&'s str>, Option<&'s str>) {
        let (_, _, holder) = s.card_with_holder(id).unwrap();
        let employee = holder.and_then(|h| s.employee_of(h));
        (
            holder.map(|h| s.syms.name(h)),
            employee.map(|e| e.employee_id.as_str()),
        )
    }

    fn door(door_id: &str, zone_id: &str) -> Door {
        Door {
            door_id: door_id.into(),
            zone_id: zone_id.into(),
            name: door_id.into(),
        }
    }

    /// The zone of door `id`, as a decision reads it.
    fn zone_of_door<'s>(s: &'s State, id: &str) -> Option<&'s str> {
        let (n, d) = s.doors.get_numbered(id).unwrap();
        s.zone_of_door(n, d).map(|(_, z)| z.zone_id.as_str())
    }

    fn zone_of<'s>(s: &'s State, id: &str) -> Option<&'s str> {
        let (n, z) = s.zones.get_numbered(id).unwrap();
        s.zone_sym(n, z).map(|z| s.syms.name(z))
    }

    #[test]
    fn hints_find_holders_zones_and_employees_and_are_checked_before_use() {
        let mut s = State::default();
        // A card loaded before its holder, as a store reads kinds by name.
        s.load_card(card("c1", "e1"));
        s.load_employee(employee("e1"));
        s.put_employee(employee("e2"));
        s.put_card(card("c2", "e2"));
        // A door loaded before its zone, and one put after it.
        s.load_door(door("d2", "z2"));
        s.put_zone(zone("z1"));
        s.load_zone(zone("z2"));
        s.put_door(door("d1", "z1"));
        s.put_door(door("d9", "z9"));
        assert_eq!(
            ["d1", "d2", "d9"].map(|d| zone_of_door(&s, d)),
            [Some("z1"), Some("z2"), None]
        );
        assert_eq!(holder_of(&s, "c1"), (Some("e1"), Some("e1")));
        assert_eq!(holder_of(&s, "c2"), (Some("e2"), Some("e2")));
        assert_eq!(
            (zone_of(&s, "z1"), zone_of(&s, "z2")),
            (Some("z1"), Some("z2"))
        );
        assert!(s.hints_complete());
        // A card linked anew keeps its number and names its new holder.
        s.put_card(card("c1", "e2"));
        assert_eq!(holder_of(&s, "c1"), (Some("e2"), Some("e2")));

        // Entries put into the maps directly, past the hints: c1 loses its
        // link (to e2) and its holder is looked up, c3 has none.
        s.cards.insert("c1", card("c1", "e1"));
        s.cards.insert("c3", card("c3", "e1"));
        assert!(!s.hints_complete());
        assert_eq!(holder_of(&s, "c1"), (Some("e1"), Some("e1")));
        assert_eq!(holder_of(&s, "c3"), (Some("e1"), Some("e1")));
        // A holder no one interned, and an employee record without a hint.
        s.cards.insert("c4", card("c4", "ghost"));
        assert_eq!(holder_of(&s, "c4"), (None, None));
        s.put_card(card("c5", "e3"));
        assert_eq!(holder_of(&s, "c5"), (Some("e3"), None));
        s.employees.insert("e3", employee("e3"));
        assert_eq!(holder_of(&s, "c5"), (Some("e3"), Some("e3")));
        // A door moved to another zone directly, past its hint (z1), and
        // a zone that came in directly, past the doors' hints.
        s.doors.insert("d1", door("d1", "z2"));
        assert_eq!(zone_of_door(&s, "d1"), Some("z2"));
        s.zones.insert("z9", zone("z9"));
        assert_eq!(zone_of_door(&s, "d9"), Some("z9"));
        s.zones.insert("z3", zone("z3"));
        assert_eq!(zone_of(&s, "z3"), None);
        s.set_inside("e1", "z3", true);
        assert_eq!(zone_of(&s, "z3"), Some("z3"));
    }

    #[test]
    fn presence_changes_are_dirty_once_and_named() {
        let mut s = State::default();
        // Leaving a zone no one was ever inside interns nothing and changes nothing.
        s.set_inside("e1", "z1", false);
        assert!(s.take_dirty().is_empty() && s.pair("e1", "z1").is_none());
        s.set_inside("e1", "z1", true);
        s.set_inside("e1", "z1", true);
        // In and out again: back where the store has it.
        s.set_inside("e1", "z2", true);
        s.set_inside("e1", "z2", false);
        s.load_presence("e2", "z1");
        s.set_inside("e2", "z1", false);
        s.load_presence("e3", "z1");
        s.set_inside("e3", "z1", false);
        s.set_inside("e3", "z1", true);
        assert_eq!(
            s.take_dirty(),
            [
                EntityRef::Presence("e1".into(), "z1".into()),
                EntityRef::Presence("e2".into(), "z1".into()),
            ]
        );
        assert_eq!(s.presence().collect::<Vec<_>>().len(), 2);
        assert!(s.is_inside("e1", "z1") && s.is_inside("e3", "z1"));
        assert_eq!(s.presence_count(), 2);
        assert!(s.take_dirty().is_empty());
        // A pair listed by the last take is listed again at its next change.
        s.set_inside("e1", "z1", false);
        assert_eq!(
            s.take_dirty(),
            [EntityRef::Presence("e1".into(), "z1".into())]
        );
        assert_eq!(s.presence_count(), 1);
        // Loading is not a change.
        s.load_presence("e9", "z9");
        s.load_presence("e9", "z9");
        s.load_grant(grant("e9", "z9"));
        assert!(s.take_dirty().is_empty());
        assert_eq!(s.presence_count(), 2);
        s.remove_grant("e9", "z9");
        s.remove_grant("e9", "z9");
        assert_eq!(s.take_dirty(), [EntityRef::Grant("e9".into(), "z9".into())]);
    }

    /// A pair's grant and presence share its slot, and each comes and goes
    /// without the other: a grant revoked while its holder is inside, a
    /// presence on a pair never granted, a grant put on a pair inside.
    #[test]
    fn a_pairs_grant_and_presence_come_and_go_apart() {
        let mut s = State::default();
        let pair = |s: &mut State, e: &str, z: &str| s.intern_pair(e, z);
        let window = Schedule::Window {
            weekdays: 0b10,
            start_min: 60,
            end_min: 120,
        };
        s.put_grant(Grant {
            schedule: window,
            ..grant("e1", "z1")
        });
        s.set_inside("e1", "z1", true);
        let p = pair(&mut s, "e1", "z1");
        assert_eq!(s.schedule_and_presence(p), (Some(window), true));

        s.remove_grant("e1", "z1");
        assert_eq!(s.schedule_and_presence(p), (None, true));
        assert!(s.grant("e1", "z1").is_none() && s.grants().next().is_none());
        assert!(s.is_inside("e1", "z1"));
        s.set_inside("e1", "z1", false);
        assert_eq!(s.schedule_and_presence(p), (None, false));

        // Inside without a grant, then granted: the presence stays.
        s.set_inside("e2", "z1", true);
        let q = pair(&mut s, "e2", "z1");
        assert_eq!(s.schedule_and_presence(q), (None, true));
        s.put_grant(grant("e2", "z1"));
        assert_eq!(s.schedule_and_presence(q), (Some(Schedule::Always), true));
        assert_eq!(s.grant("e2", "z1"), Some(&grant("e2", "z1")));
        assert_eq!(s.presence().collect::<Vec<_>>(), [("e2", "z1")]);
        assert_eq!(s.presence_count(), 1);

        // A pair with neither, and one whose grant went before it was
        // ever inside: no slot is left for either.
        let r = pair(&mut s, "e3", "z1");
        assert_eq!(s.schedule_and_presence(r), (None, false));
        assert!(!s.is_inside("e3", "z1"));
        s.put_grant(grant("e4", "z1"));
        let slots = s.pairs.len();
        s.remove_grant("e4", "z1");
        assert_eq!(s.pairs.len(), slots - 1);
        assert!(s.grant("e4", "z1").is_none());
    }
}
