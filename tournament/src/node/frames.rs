//! The node's wire types beside the items: frames on a match link, and the fetch protocol's
//! requests and responses. All are canonical CBOR ([`crate::wire`]) and decoded with the
//! limits given here.

use serde::{Deserialize, Serialize};

use crate::hash::Hash32;
use crate::messages::{MatchHeader, MatchMessage};
use crate::wire;

/// Largest frame on a match link.
pub const MAX_MATCH_FRAME: usize = wire::MAX_MATCH_MESSAGE + 1024;
/// Largest fetch request.
pub const MAX_FETCH_REQUEST: usize = 4 * 1024;
/// Largest fetch response.
pub const MAX_FETCH_RESPONSE: usize = 4 * 1024 * 1024;
/// Most items asked for in one request.
pub const MAX_FETCH_ITEMS: usize = 64;

/// A frame on a match link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum Frame {
    /// Seat A opens the match: the header both will sign.
    Invite(MatchHeader),
    /// A protocol message.
    Message(MatchMessage),
    /// Seat B refuses the invitation, saying why; or seat A withdraws an invitation that was
    /// not accepted in time.
    Decline(String),
    /// Seat B accepts the invitation; seat A's clock starts only then.
    Accept,
}

/// A fetch request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchRequest {
    /// The ids of an epoch's items.
    Inventory {
        /// The epoch.
        epoch: u64,
    },
    /// Items by id.
    Items {
        /// At most [`MAX_FETCH_ITEMS`] ids.
        ids: Vec<Hash32>,
    },
}

/// A fetch response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchResponse {
    /// The ids of an epoch's items.
    Inventory {
        /// The epoch.
        epoch: u64,
        /// Ids, ascending.
        ids: Vec<Hash32>,
    },
    /// The items found, as canonical bytes.
    Items {
        /// Items.
        items: Vec<serde_bytes::ByteBuf>,
    },
    /// The request was refused.
    Refused(String),
}
