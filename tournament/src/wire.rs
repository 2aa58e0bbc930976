//! The wire format: canonical CBOR (via ciborium) with hard size limits.
//!
//! Every message type is a serde struct encoded as a CBOR map in field-declaration order with
//! minimal-length integers, definite lengths and byte strings for binary data; that encoding
//! is the canonical form. [`decode`] accepts exactly the canonical form: it refuses input over
//! the limit before parsing, refuses trailing bytes, and re-encodes the decoded value and
//! refuses the input if the bytes differ (non-minimal integers, indefinite lengths, reordered
//! or duplicated keys, floats for integers, …). So one value has one encoding, and hashes and
//! signatures over encodings are well defined.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest match-protocol message (one move, a reveal, a result signature).
pub const MAX_MATCH_MESSAGE: usize = 4 * 1024;
/// Largest outcome record, timeout claim or evidence object (a full action log and a message
/// chain of a long game).
pub const MAX_RECORD: usize = 512 * 1024;

/// Why bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Larger than the limit for this kind of message.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not CBOR of the expected shape.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Bytes after the message.
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
    /// Valid CBOR, but not the canonical encoding of the value.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// A version this node does not speak.
    #[error("unsupported version {0}")]
    Version(u8),
}

/// The canonical encoding of `value`.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    encode_with_capacity(value, 0)
}

/// [`encode`] into a buffer that starts with room for `capacity` bytes, for values whose size
/// is roughly known (it spares the buffer's growth, one copy at each doubling).
pub(crate) fn encode_with_capacity<T: Serialize>(value: &T, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    // Writing into a Vec cannot fail; a serialisation error would be a bug in a type's
    // Serialize impl, and yields an empty (never valid) message rather than a panic.
    if ciborium::into_writer(value, &mut out).is_err() {
        out.clear();
    }
    out
}

/// The length of the CBOR data item at the start of `bytes`, by its headers alone (no value is
/// decoded); `None` if `bytes` does not start with a whole item of definite length.
///
/// Used to find a field's encoding within the encoding of a larger value, which holds it as is:
/// a struct's fields are encoded in place, one after the other.
pub(crate) fn item_len(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    // Items still to skip: nested arrays, maps and tags add theirs.
    let mut pending = 1usize;
    while pending > 0 {
        pending = pending.checked_sub(1)?;
        let initial = *bytes.get(pos)?;
        pos = pos.checked_add(1)?;
        let size = match initial & 0x1f {
            n @ 0..=23 => u64::from(n),
            n @ 24..=27 => {
                // The argument follows in 1, 2, 4 or 8 bytes.
                let width = match n {
                    24 => 1,
                    25 => 2,
                    26 => 4,
                    _ => 8,
                };
                let end = pos.checked_add(width)?;
                let arg = bytes.get(pos..end)?;
                pos = end;
                arg.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            }
            // Indefinite lengths and reserved values.
            _ => return None,
        };
        let size = usize::try_from(size).ok()?;
        match initial >> 5 {
            // Integers, and simple values and floats (their bytes are the argument).
            0 | 1 | 7 => {}
            // Byte and text strings.
            2 | 3 => pos = pos.checked_add(size)?,
            4 => pending = pending.checked_add(size)?,
            5 => pending = pending.checked_add(size.checked_mul(2)?)?,
            // A tag: one item follows.
            _ => pending = pending.checked_add(1)?,
        }
    }
    (pos <= bytes.len()).then_some(pos)
}

/// Decodes the canonical encoding of a `T` of at most `limit` bytes.
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, WireError> {
    if bytes.len() > limit {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let mut reader = bytes;
    let value: T =
        ciborium::from_reader(&mut reader).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !reader.is_empty() {
        return Err(WireError::Trailing(reader.len()));
    }
    if encode(&value) != bytes {
        return Err(WireError::NonCanonical);
    }
    Ok(value)
}

/// Serde helpers for fixed-size byte arrays as CBOR byte strings.
pub mod bytes32 {
    use serde::{Deserializer, Serializer};

    /// As a byte string.
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    /// From a byte string of exactly 32 bytes (or, for self-describing formats without byte
    /// strings such as JSON, a sequence of 32 integers; in CBOR that form is not canonical and
    /// [`super::decode`] refuses it).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = [u8; 32];
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("32 bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<[u8; 32], E> {
                <[u8; 32]>::try_from(v).map_err(|_| E::invalid_length(v.len(), &self))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<[u8; 32], A::Error> {
                let mut out = [0u8; 32];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
                }
                if seq.next_element::<u8>()?.is_some() {
                    return Err(serde::de::Error::invalid_length(33, &self));
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Msg {
        v: u8,
        n: u64,
        #[serde(with = "serde_bytes_vec")]
        data: Vec<u8>,
    }

    mod serde_bytes_vec {
        use serde::{Deserialize, Deserializer, Serializer};
        pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
        pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let v: ciborium::Value = Deserialize::deserialize(d)?;
            v.into_bytes()
                .map_err(|_| serde::de::Error::custom("expected bytes"))
        }
    }

    #[test]
    fn item_len_skips_exactly_one_item() {
        let m = Msg {
            v: 1,
            n: 70_000,
            data: vec![7; 300],
        };
        let mut bytes = encode(&m);
        let len = bytes.len();
        assert_eq!(item_len(&bytes), Some(len));
        bytes.extend_from_slice(&encode(&m));
        assert_eq!(item_len(&bytes), Some(len));
        assert_eq!(item_len(&bytes[..len - 1]), None);
        assert_eq!(item_len(&[]), None);
        // Indefinite length.
        assert_eq!(item_len(&[0x9f, 0x01, 0xff]), None);
        // Nested arrays, a tag, a float, negative and large integers.
        let v = ciborium::Value::Array(vec![
            ciborium::Value::Array(vec![ciborium::Value::Integer((-500).into())]),
            ciborium::Value::Tag(2, Box::new(ciborium::Value::Bytes(vec![1, 2]))),
            ciborium::Value::Float(1.5),
            ciborium::Value::Integer(u64::MAX.into()),
            ciborium::Value::Text("x".repeat(30)),
        ]);
        let mut b = Vec::new();
        ciborium::into_writer(&v, &mut b).unwrap();
        let n = b.len();
        b.push(0x00);
        assert_eq!(item_len(&b), Some(n));
    }

    #[test]
    fn round_trips_and_rejects_the_rest() {
        let m = Msg {
            v: 1,
            n: 300,
            data: vec![1, 2, 3],
        };
        let bytes = encode(&m);
        assert_eq!(decode::<Msg>(&bytes, 100), Ok(m));
        assert!(matches!(
            decode::<Msg>(&bytes, 3),
            Err(WireError::TooLarge { .. })
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode::<Msg>(&trailing, 100), Err(WireError::Trailing(1)));
        assert!(matches!(
            decode::<Msg>(&bytes[..bytes.len() - 1], 100),
            Err(WireError::Malformed(_))
        ));
        // 300 encoded with an 8-byte integer instead of a 2-byte one.
        let long = {
            let mut b = Vec::new();
            b.push(0xa3); // map(3)
            b.extend_from_slice(&[0x61, b'v', 0x01]);
            b.extend_from_slice(&[0x61, b'n', 0x1b, 0, 0, 0, 0, 0, 0, 0x01, 0x2c]);
            b.extend_from_slice(&[0x64, b'd', b'a', b't', b'a', 0x43, 1, 2, 3]);
            b
        };
        assert_eq!(decode::<Msg>(&long, 100), Err(WireError::NonCanonical));
    }
}
