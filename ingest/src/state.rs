//! The live state that decisions read: dimensions, grants, presence and the
//! version (last applied `occurred_at`) of every admin entity.
//!
//! `State` is plain data in memory; a [`crate::StateStore`] persists it. Every
//! mutation records what it touched in [`State::take_dirty`], so a store
//! writes only what changed in a chunk.

use std::collections::{HashMap, HashSet};

/// The maps of the state and of a chunk's duplicate checks: std's maps with
/// foldhash, several times faster than SipHash on short ids. Its seed is
/// random per process, which keeps collisions from being aimed from outside
/// without reading the process; foldhash promises no more than that (it is
/// not a keyed PRF like SipHash), which suits ids a chunk holds for seconds.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// See [`Map`].
pub type Set<T> = HashSet<T, foldhash::fast::RandomState>;

use accesslake_model::{CardStatus, Door, Employee, Micros, Schedule, Zone};

/// A card as issued, with its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub card_id: String,
    pub employee_id: String,
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

/// Everything the decision rules and admin semantics read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct State {
    pub zones: Map<String, Zone>,
    pub doors: Map<String, Door>,
    pub employees: Map<String, Employee>,
    pub cards: Map<String, Card>,
    /// employee_id → zone_id → grant
    pub grants: Map<String, Map<String, Grant>>,
    /// employee_id → zones the employee is inside
    pub inside: Map<String, Set<String>>,
    /// Last applied `occurred_at` per admin entity (zone, door, employee, card, grant).
    pub versions: Map<EntityRef, Micros>,
    dirty: Set<EntityRef>,
}

impl State {
    pub fn grant(&self, employee_id: &str, zone_id: &str) -> Option<&Grant> {
        self.grants.get(employee_id)?.get(zone_id)
    }

    pub fn is_inside(&self, employee_id: &str, zone_id: &str) -> bool {
        self.inside
            .get(employee_id)
            .is_some_and(|zones| zones.contains(zone_id))
    }

    /// Marks or clears presence of an employee in a zone.
    pub fn set_inside(&mut self, employee_id: &str, zone_id: &str, inside: bool) {
        let changed = if inside {
            // The keys are copied only when they are new.
            match self.inside.get_mut(employee_id) {
                Some(zones) => !zones.contains(zone_id) && zones.insert(zone_id.to_string()),
                None => {
                    let zones = Set::from_iter([zone_id.to_string()]);
                    self.inside.insert(employee_id.to_string(), zones);
                    true
                }
            }
        } else {
            let removed = self
                .inside
                .get_mut(employee_id)
                .is_some_and(|z| z.remove(zone_id));
            if self.inside.get(employee_id).is_some_and(HashSet::is_empty) {
                self.inside.remove(employee_id);
            }
            removed
        };
        if changed {
            self.dirty.insert(EntityRef::Presence(
                employee_id.to_string(),
                zone_id.to_string(),
            ));
        }
    }

    pub fn put_zone(&mut self, z: Zone) {
        self.dirty.insert(EntityRef::Zone(z.zone_id.clone()));
        self.zones.insert(z.zone_id.clone(), z);
    }

    pub fn put_door(&mut self, d: Door) {
        self.dirty.insert(EntityRef::Door(d.door_id.clone()));
        self.doors.insert(d.door_id.clone(), d);
    }

    pub fn put_employee(&mut self, e: Employee) {
        self.dirty
            .insert(EntityRef::Employee(e.employee_id.clone()));
        self.employees.insert(e.employee_id.clone(), e);
    }

    pub fn put_card(&mut self, c: Card) {
        self.dirty.insert(EntityRef::Card(c.card_id.clone()));
        self.cards.insert(c.card_id.clone(), c);
    }

    pub fn put_grant(&mut self, g: Grant) {
        self.dirty
            .insert(EntityRef::Grant(g.employee_id.clone(), g.zone_id.clone()));
        self.grants
            .entry(g.employee_id.clone())
            .or_default()
            .insert(g.zone_id.clone(), g);
    }

    pub fn remove_grant(&mut self, employee_id: &str, zone_id: &str) {
        if let Some(zones) = self.grants.get_mut(employee_id) {
            if zones.remove(zone_id).is_some() {
                self.dirty.insert(EntityRef::Grant(
                    employee_id.to_string(),
                    zone_id.to_string(),
                ));
            }
            if zones.is_empty() {
                self.grants.remove(employee_id);
            }
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
        v.sort();
        v
    }

    /// Marks an entity whose version changed without a value change (a no-op revoke).
    pub(crate) fn touch(&mut self, e: EntityRef) {
        self.dirty.insert(e);
    }

    /// Adds the entities of `other` (a partial state loaded for a batch).
    pub fn merge(&mut self, other: State) {
        self.zones.extend(other.zones);
        self.doors.extend(other.doors);
        self.employees.extend(other.employees);
        self.cards.extend(other.cards);
        for (employee, zones) in other.grants {
            self.grants.entry(employee).or_default().extend(zones);
        }
        for (employee, zones) in other.inside {
            self.inside.entry(employee).or_default().extend(zones);
        }
        self.versions.extend(other.versions);
    }

    /// Number of (employee, zone) pairs marked inside.
    pub fn presence_count(&self) -> usize {
        self.inside.values().map(HashSet::len).sum()
    }
}
