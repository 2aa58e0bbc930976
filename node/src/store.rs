//! The node's durable state, in sled.
//!
//! Trees:
//! - `meta`: the schema version (refused if it is not [`SCHEMA`]);
//! - `items`: item id → canonical item bytes (outcomes, claims, answers, evidence);
//! - `by_epoch`: epoch (8 bytes, big-endian) ++ item id → empty, to list an epoch's items;
//! - `ratings`: league id ++ epoch → canonical ratings after the epoch;
//! - `peers`: peer id → its last known addresses (newline-separated multiaddrs);
//! - `matches`: match id → header of a match in flight (removed when it ends);
//! - `settlement`: `a` ++ epoch ++ message id → a settlement attestation received or made;
//!   `d` ++ epoch → the entry fee this node deposited for the epoch.
//!
//! An item is *acknowledged* once [`Store::put_item`] returned with [`Durability::Now`]: that
//! call flushes, so the item survives a crash (`kill -9`) from then on. The node announces an
//! item of its own only after that. Items from peers are written with
//! [`Durability::Background`]: sled writes them out within half a second, and a crash before
//! that loses only what the peers still hold and the node fetches again when it restarts. (At
//! 100 devnet nodes, flushing every received item wrote 14 GB to disk in under five minutes.)

use std::path::Path;

use nets_tournament::hash::Hash32;
use nets_tournament::messages::MatchHeader;
use nets_tournament::wire;

use nets_tournament::node::item::{Item, ItemError};

/// A peer-book entry: peer id bytes and addresses.
pub type PeerEntry = (Vec<u8>, Vec<String>);

/// The schema version this build reads and writes.
pub const SCHEMA: u32 = 1;

/// Store failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed (I/O, corruption, or the directory is locked by a running node).
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// The data dir was written by another schema version.
    #[error("store schema version {found} is not supported (this build uses {SCHEMA})")]
    Schema {
        /// The version found.
        found: u32,
    },
    /// A stored value does not decode (a damaged store).
    #[error("damaged store entry in {tree}: {reason}")]
    Damaged {
        /// The tree.
        tree: &'static str,
        /// Why.
        reason: String,
    },
}

/// The node's store. Cheap to clone; clones share the database.
#[derive(Clone, Debug)]
pub struct Store {
    db: sled::Db,
    items: sled::Tree,
    by_epoch: sled::Tree,
    ratings: sled::Tree,
    peers: sled::Tree,
    matches: sled::Tree,
    settlement: sled::Tree,
}

fn epoch_key(epoch: u64, id: &Hash32) -> Vec<u8> {
    [&epoch.to_be_bytes()[..], &id.0].concat()
}

pub use nets_tournament::node::Durability;

/// sled's page cache per store.
const CACHE_BYTES: u64 = 16 << 20;

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // sled's default page cache is 1 GiB; a node's working set (the current epochs'
        // items) is a few MiB, and one process may run many nodes (devnet, simnet).
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()?;
        let meta = db.open_tree("meta")?;
        match meta.get("schema")? {
            None => {
                meta.insert("schema", &SCHEMA.to_be_bytes())?;
                db.flush()?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX);
                if found != SCHEMA {
                    return Err(StoreError::Schema { found });
                }
            }
        }
        Ok(Self {
            items: db.open_tree("items")?,
            by_epoch: db.open_tree("by_epoch")?,
            ratings: db.open_tree("ratings")?,
            peers: db.open_tree("peers")?,
            matches: db.open_tree("matches")?,
            settlement: db.open_tree("settlement")?,
            db,
        })
    }

    /// Keeps a settlement attestation message; `false` if it was kept already.
    pub fn put_attestation(
        &self,
        epoch: u64,
        bytes: &[u8],
        durability: Durability,
    ) -> Result<bool, StoreError> {
        let key = [&b"a"[..], &epoch.to_be_bytes(), &Item::id_of(bytes).0].concat();
        if self.settlement.contains_key(&key)? {
            return Ok(false);
        }
        self.settlement.insert(key, bytes)?;
        if durability == Durability::Now {
            self.db.flush()?;
        }
        Ok(true)
    }

    /// The attestation messages kept for epochs from `from` on, in epoch order.
    pub fn attestations(&self, from: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let start = [&b"a"[..], &from.to_be_bytes()].concat();
        let mut out = Vec::new();
        for entry in self.settlement.range(start..) {
            let (k, v) = entry?;
            if !k.starts_with(b"a") {
                break;
            }
            out.push(v.to_vec());
        }
        Ok(out)
    }

    /// Records that this node deposited `amount` wei of entry fees for `epoch`.
    pub fn put_deposit(&self, epoch: u64, amount: u128) -> Result<(), StoreError> {
        let key = [&b"d"[..], &epoch.to_be_bytes()].concat();
        self.settlement.insert(key, &amount.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// What this node deposited for `epoch`, if it did.
    pub fn deposit(&self, epoch: u64) -> Result<Option<u128>, StoreError> {
        let key = [&b"d"[..], &epoch.to_be_bytes()].concat();
        match self.settlement.get(key)? {
            None => Ok(None),
            Some(v) => <[u8; 16]>::try_from(v.as_ref())
                .map(|b| Some(u128::from_be_bytes(b)))
                .map_err(|_| StoreError::Damaged {
                    tree: "settlement",
                    reason: "a deposit is not 16 bytes".into(),
                }),
        }
    }

    /// Whether the item is stored.
    pub fn has_item(&self, id: &Hash32) -> Result<bool, StoreError> {
        Ok(self.items.contains_key(id.0)?)
    }

    /// Stores a validated item; `false` if it was already there.
    pub fn put_item(
        &self,
        item: &Item,
        bytes: &[u8],
        durability: Durability,
    ) -> Result<bool, StoreError> {
        let id = Item::id_of(bytes);
        if self.items.contains_key(id.0)? {
            return Ok(false);
        }
        self.items.insert(id.0, bytes)?;
        self.by_epoch.insert(epoch_key(item.epoch(), &id), &[])?;
        if durability == Durability::Now {
            self.db.flush()?;
        }
        Ok(true)
    }

    /// The raw bytes of an item.
    pub fn item_bytes(&self, id: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.items.get(id.0)?.map(|v| v.to_vec()))
    }

    /// An item, decoded.
    pub fn item(&self, id: &Hash32) -> Result<Option<Item>, StoreError> {
        match self.items.get(id.0)? {
            None => Ok(None),
            Some(v) => Item::from_bytes(&v)
                .map(Some)
                .map_err(|e: ItemError| StoreError::Damaged {
                    tree: "items",
                    reason: e.to_string(),
                }),
        }
    }

    /// The ids of an epoch's items, in id order.
    pub fn epoch_ids(&self, epoch: u64) -> Result<Vec<Hash32>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.by_epoch.scan_prefix(epoch.to_be_bytes()) {
            let (k, _) = entry?;
            let id = k
                .get(8..40)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(StoreError::Damaged {
                    tree: "by_epoch",
                    reason: "short key".into(),
                })?;
            ids.push(Hash32(id));
        }
        Ok(ids)
    }

    /// An epoch's items, in id order.
    pub fn epoch_items(&self, epoch: u64) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        for id in self.epoch_ids(epoch)? {
            if let Some(item) = self.item(&id)? {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// The epochs with stored items, ascending.
    pub fn epochs(&self) -> Result<Vec<u64>, StoreError> {
        let mut out: Vec<u64> = Vec::new();
        let mut next: Option<u64> = Some(0);
        // Skip from epoch to epoch instead of walking every key.
        while let Some(from) = next {
            let Some(entry) = self.by_epoch.range(from.to_be_bytes()..).next() else {
                break;
            };
            let (k, _) = entry?;
            let epoch = k
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or(StoreError::Damaged {
                    tree: "by_epoch",
                    reason: "short key".into(),
                })?;
            out.push(epoch);
            next = epoch.checked_add(1);
        }
        Ok(out)
    }

    /// Number of stored items.
    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// Records canonical ratings of a league after an epoch.
    pub fn put_ratings(&self, league: &Hash32, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.ratings
            .insert(epoch_key_league(league, epoch), bytes)?;
        Ok(())
    }

    /// Canonical ratings of a league after an epoch, if recorded.
    pub fn ratings(&self, league: &Hash32, epoch: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .ratings
            .get(epoch_key_league(league, epoch))?
            .map(|v| v.to_vec()))
    }

    /// Remembers a peer's addresses.
    pub fn put_peer(&self, peer: &[u8], addrs: &[String]) -> Result<(), StoreError> {
        self.peers.insert(peer, addrs.join("\n").as_bytes())?;
        Ok(())
    }

    /// The peer book: peer id bytes and addresses.
    pub fn peers(&self) -> Result<Vec<PeerEntry>, StoreError> {
        let mut out = Vec::new();
        for entry in self.peers.iter() {
            let (k, v) = entry?;
            let addrs = String::from_utf8_lossy(&v)
                .lines()
                .map(str::to_string)
                .collect();
            out.push((k.to_vec(), addrs));
        }
        Ok(out)
    }

    /// Records a match in flight.
    pub fn put_match(&self, header: &MatchHeader) -> Result<(), StoreError> {
        self.matches
            .insert(header.match_id().0, wire::encode(header))?;
        Ok(())
    }

    /// Forgets a match that ended.
    pub fn remove_match(&self, match_id: &Hash32) -> Result<(), StoreError> {
        self.matches.remove(match_id.0)?;
        Ok(())
    }

    /// Matches that were in flight when the node stopped.
    pub fn matches(&self) -> Result<Vec<MatchHeader>, StoreError> {
        let mut out = Vec::new();
        for entry in self.matches.iter() {
            let (_, v) = entry?;
            let header =
                wire::decode(&v, wire::MAX_MATCH_MESSAGE).map_err(|e| StoreError::Damaged {
                    tree: "matches",
                    reason: e.to_string(),
                })?;
            out.push(header);
        }
        Ok(out)
    }

    /// Flushes everything to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

fn epoch_key_league(league: &Hash32, epoch: u64) -> Vec<u8> {
    [&league.0[..], &epoch.to_be_bytes()].concat()
}

/// The node core reads and writes its items through the store.
impl nets_tournament::node::ItemLog for Store {
    type Error = StoreError;

    fn has_item(&self, id: &Hash32) -> Result<bool, StoreError> {
        Store::has_item(self, id)
    }

    fn put_item(
        &self,
        item: &Item,
        bytes: &[u8],
        durability: Durability,
    ) -> Result<bool, StoreError> {
        Store::put_item(self, item, bytes, durability)
    }

    fn item_bytes(&self, id: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        Store::item_bytes(self, id)
    }

    fn epoch_ids(&self, epoch: u64) -> Result<Vec<Hash32>, StoreError> {
        Store::epoch_ids(self, epoch)
    }

    fn epoch_items(&self, epoch: u64) -> Result<Vec<Item>, StoreError> {
        Store::epoch_items(self, epoch)
    }

    fn epochs(&self) -> Result<Vec<u64>, StoreError> {
        Store::epochs(self)
    }
}
