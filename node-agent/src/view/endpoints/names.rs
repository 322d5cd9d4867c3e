//! Node and namespace names of the endpoint table: one copy of each, counted by the
//! entries that use it, and referred to by a 4-byte number instead of a 16-byte
//! pointer. A million endpoints share a few hundred node names.

use std::{collections::HashMap, sync::Arc};

/// A name held by [`Names`]; valid until its last user releases it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NameId(u32);

#[derive(Debug, Default)]
pub(super) struct Names {
    ids: HashMap<Arc<str>, NameId>,
    /// Indexed by `NameId`; `None` once released, until reused.
    slots: Vec<Option<Slot>>,
    free: Vec<NameId>,
}

#[derive(Debug)]
struct Slot {
    name: Arc<str>,
    users: u32,
}

impl Names {
    /// `name`'s id, with one more user.
    pub(super) fn acquire(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.ids.get(name) {
            self.slot_mut(id).users += 1;
            return id;
        }
        let name: Arc<str> = Arc::from(name);
        let slot = Some(Slot {
            name: name.clone(),
            users: 1,
        });
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id.0 as usize] = slot;
                id
            }
            None => {
                let id = NameId(u32::try_from(self.slots.len()).expect("fewer than 2^32 names"));
                self.slots.push(slot);
                id
            }
        };
        self.ids.insert(name, id);
        id
    }

    /// One user fewer; the name is forgotten with its last.
    pub(super) fn release(&mut self, id: NameId) {
        let slot = self.slot_mut(id);
        slot.users -= 1;
        if slot.users > 0 {
            return;
        }
        if let Some(slot) = self.slots[id.0 as usize].take() {
            self.ids.remove(&slot.name);
            self.free.push(id);
        }
    }

    pub(super) fn get(&self, id: NameId) -> &str {
        match &self.slots[id.0 as usize] {
            Some(slot) => &slot.name,
            None => unreachable!("name {} used after its last release", id.0),
        }
    }

    /// How many distinct names are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Every name held, in no particular order.
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = &str> {
        self.ids.keys().map(|name| &**name)
    }

    fn slot_mut(&mut self, id: NameId) -> &mut Slot {
        match &mut self.slots[id.0 as usize] {
            Some(slot) => slot,
            None => unreachable!("name {} used after its last release", id.0),
        }
    }
}
