//! The item log: the node core's view of its durable store.
//!
//! The core decides what to store and whether it must reach the disk before the core goes on
//! ([`Durability`]); the driver's store carries it out. Like raft-rs's `Storage`, this is a
//! trait the core calls, not I/O the core does: `netsd` implements it over sled, and tests and
//! the simulator use [`MemLog`].

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use crate::hash::Hash32;

use super::item::Item;

/// Whether a write must reach the disk before the call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Flushed before returning: what this node signed or is about to announce.
    Now,
    /// Written out by the store's background flush: what peers sent, which they still hold.
    Background,
}

/// A node's stored items, by id and by epoch.
pub trait ItemLog {
    /// The store's failure.
    type Error: std::fmt::Display;

    /// Whether the item is stored.
    fn has_item(&self, id: &Hash32) -> Result<bool, Self::Error>;
    /// Stores a validated item under its id and epoch; `false` if it was already there.
    fn put_item(
        &self,
        item: &Item,
        bytes: &[u8],
        durability: Durability,
    ) -> Result<bool, Self::Error>;
    /// The canonical bytes of an item.
    fn item_bytes(&self, id: &Hash32) -> Result<Option<Vec<u8>>, Self::Error>;
    /// The ids of an epoch's items, ascending.
    fn epoch_ids(&self, epoch: u64) -> Result<Vec<Hash32>, Self::Error>;
    /// An epoch's items, in id order.
    fn epoch_items(&self, epoch: u64) -> Result<Vec<Item>, Self::Error>;
    /// The epochs with stored items, ascending.
    fn epochs(&self) -> Result<Vec<u64>, Self::Error>;
}

/// Items in memory: for tests and the simulator. [`MemLog::fail`] makes every call fail, as
/// a broken disk would.
#[derive(Debug, Default)]
pub struct MemLog {
    items: RefCell<BTreeMap<Hash32, Vec<u8>>>,
    by_epoch: RefCell<BTreeSet<(u64, Hash32)>>,
    failing: Cell<bool>,
}

/// [`MemLog`]'s failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the store is failing")]
pub struct MemLogError;

impl MemLog {
    /// From now on every call fails (`true`) or works again (`false`).
    pub fn fail(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.borrow().len()
    }

    /// Whether it holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.borrow().is_empty()
    }

    fn check(&self) -> Result<(), MemLogError> {
        if self.failing.get() {
            Err(MemLogError)
        } else {
            Ok(())
        }
    }
}

impl ItemLog for MemLog {
    type Error = MemLogError;

    fn has_item(&self, id: &Hash32) -> Result<bool, MemLogError> {
        self.check()?;
        Ok(self.items.borrow().contains_key(id))
    }

    fn put_item(&self, item: &Item, bytes: &[u8], _: Durability) -> Result<bool, MemLogError> {
        self.check()?;
        let id = Item::id_of(bytes);
        if self.items.borrow().contains_key(&id) {
            return Ok(false);
        }
        self.items.borrow_mut().insert(id, bytes.to_vec());
        self.by_epoch.borrow_mut().insert((item.epoch(), id));
        Ok(true)
    }

    fn item_bytes(&self, id: &Hash32) -> Result<Option<Vec<u8>>, MemLogError> {
        self.check()?;
        Ok(self.items.borrow().get(id).cloned())
    }

    fn epoch_ids(&self, epoch: u64) -> Result<Vec<Hash32>, MemLogError> {
        self.check()?;
        Ok(self
            .by_epoch
            .borrow()
            .range((epoch, Hash32::ZERO)..=(epoch, Hash32([0xff; 32])))
            .map(|(_, id)| *id)
            .collect())
    }

    fn epoch_items(&self, epoch: u64) -> Result<Vec<Item>, MemLogError> {
        let items = self.items.borrow();
        Ok(self
            .epoch_ids(epoch)?
            .iter()
            .filter_map(|id| items.get(id))
            .filter_map(|bytes| Item::from_bytes(bytes).ok())
            .collect())
    }

    fn epochs(&self) -> Result<Vec<u64>, MemLogError> {
        self.check()?;
        let epochs: BTreeSet<u64> = self.by_epoch.borrow().iter().map(|(e, _)| *e).collect();
        Ok(epochs.into_iter().collect())
    }
}
