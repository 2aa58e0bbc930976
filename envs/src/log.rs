//! Action logs: the compact record of a game, and its replay.
//!
//! A game is fully decided by its [`EnvSpec`] (environment and parameters), its 32-byte seed
//! and the actions of every turn, so that is all a log holds. Actions are packed at
//! [`Env::ACTION_BITS`] bits per player per turn (2 for Snake), least significant bits first,
//! turn after turn, player after player. Slots of players who were not to move hold code 0,
//! and the bits after the last action are zero, so each game has exactly one encoding.

use serde::{Deserialize, Serialize};

use crate::snake::{SnakeError, SnakeGame, SnakeParams};
use crate::{Env, Outcome, ToMove};

/// An environment and its parameters: what a league plays.
///
/// In text formats (JSON, TOML) a map tagged by `env`, with the parameters by name, e.g.
/// `{"env": "snake", "width": 11, ...}`. In binary formats (CBOR, where it is part of every
/// match header and so of every hash that names a match) a pair of the environment's tag and
/// its parameters in declaration order: `["snake", [width, height, snakes, max_health,
/// start_length, food_spawn_chance, minimum_food, max_turns]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EnvSpec {
    /// Snake on the Battlesnake standard rules (one snake: the solo score task).
    Snake(SnakeParams),
}

/// [`EnvSpec`]'s text form, to serialize.
#[derive(Serialize)]
#[serde(tag = "env", rename_all = "kebab-case")]
enum EnvSpecTextRef<'a> {
    Snake(&'a SnakeParams),
}

/// [`EnvSpec`]'s text form, to deserialize.
#[derive(Deserialize)]
#[serde(tag = "env", rename_all = "kebab-case", deny_unknown_fields)]
enum EnvSpecText {
    Snake(SnakeParams),
}

/// [`SnakeParams`] in the binary form of [`EnvSpec`], in declaration order.
type SnakeTuple = (u8, u8, u8, u8, u8, u8, u8, u32);

impl Serialize for EnvSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EnvSpec::Snake(p) if s.is_human_readable() => EnvSpecTextRef::Snake(p).serialize(s),
            EnvSpec::Snake(p) => {
                let params: SnakeTuple = (
                    p.width,
                    p.height,
                    p.snakes,
                    p.max_health,
                    p.start_length,
                    p.food_spawn_chance,
                    p.minimum_food,
                    p.max_turns,
                );
                ("snake", params).serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for EnvSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return Ok(match EnvSpecText::deserialize(d)? {
                EnvSpecText::Snake(p) => EnvSpec::Snake(p),
            });
        }
        let (env, params): (String, SnakeTuple) = Deserialize::deserialize(d)?;
        if env != "snake" {
            return Err(serde::de::Error::unknown_variant(&env, &["snake"]));
        }
        Ok(EnvSpec::Snake(SnakeParams {
            width: params.0,
            height: params.1,
            snakes: params.2,
            max_health: params.3,
            start_length: params.4,
            food_spawn_chance: params.5,
            minimum_food: params.6,
            max_turns: params.7,
        }))
    }
}

impl EnvSpec {
    /// The environment's id, as leagues and transcripts name it.
    pub fn id(&self) -> &'static str {
        match self {
            EnvSpec::Snake(p) if p.snakes == 1 => "snake-solo",
            EnvSpec::Snake(_) => "snake",
        }
    }

    /// Number of players.
    pub fn players(&self) -> usize {
        match self {
            EnvSpec::Snake(p) => usize::from(p.snakes),
        }
    }

    /// Checks the parameters; the solo score task needs a turn limit so that it always ends.
    pub fn validate(&self) -> Result<(), ReplayError> {
        match self {
            EnvSpec::Snake(p) => {
                p.validate().map_err(ReplayError::Env)?;
                if p.snakes == 1 && p.max_turns == 0 {
                    return Err(ReplayError::Env(SnakeError::InvalidParams(
                        "the solo score task needs a turn limit (max_turns > 0)".into(),
                    )));
                }
                Ok(())
            }
        }
    }

    /// A new game of this spec.
    pub fn start(&self, seed: [u8; 32]) -> Result<SnakeGame, ReplayError> {
        self.validate()?;
        match self {
            EnvSpec::Snake(p) => SnakeGame::new(p.clone(), seed).map_err(ReplayError::Env),
        }
    }

    /// Bits per action in a log.
    pub fn action_bits(&self) -> u32 {
        match self {
            EnvSpec::Snake(_) => SnakeGame::ACTION_BITS,
        }
    }
}

/// Why a log could not be decoded or replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The environment refused the parameters or a step.
    #[error(transparent)]
    Env(#[from] SnakeError),
    /// The packed actions are not `turns * players * bits` bits long, rounded up to bytes.
    #[error("packed actions are {got} bytes; {turns} turns of {players} players need {expected}")]
    WrongLength {
        /// Turns in the log.
        turns: u32,
        /// Players.
        players: usize,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// Padding bits or the slot of a player who was not to move are not zero.
    #[error("non-canonical log: {0}")]
    NonCanonical(String),
    /// The log goes on after the game ended.
    #[error("the game ended at turn {ended_at} but the log has {turns} turns")]
    MovesAfterEnd {
        /// The turn the game ended.
        ended_at: u32,
        /// Turns in the log.
        turns: u32,
    },
    /// The environment refused a step of the log (e.g. a full column).
    #[error("turn {turn}: {message}")]
    Step {
        /// Turn index.
        turn: u32,
        /// The environment's reason.
        message: String,
    },
    /// A code that names no action.
    #[error("turn {turn}, player {player}: code {code} is no action")]
    BadCode {
        /// Turn index.
        turn: u32,
        /// Player.
        player: usize,
        /// The code.
        code: u32,
    },
}

/// Actions packed at a fixed number of bits per player per turn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackedActions {
    /// Turns recorded.
    pub turns: u32,
    /// The bits, least significant first: a byte string in binary formats (CBOR), lowercase
    /// hex in text formats (JSON).
    #[serde(with = "packed_bytes")]
    pub bytes: Vec<u8>,
}

impl PackedActions {
    /// Bytes needed for `turns` turns.
    pub fn byte_len(turns: u32, players: usize, bits: u32) -> usize {
        (turns as usize * players * bits as usize).div_ceil(8)
    }

    /// Appends one turn of action codes (each below `2^bits`).
    pub fn push_turn(&mut self, codes: &[u32], bits: u32) {
        let mut at = self.turns as usize * codes.len() * bits as usize;
        for &code in codes {
            for b in 0..bits {
                if at / 8 >= self.bytes.len() {
                    self.bytes.push(0);
                }
                if (code >> b) & 1 == 1
                    && let Some(byte) = self.bytes.get_mut(at / 8)
                {
                    *byte |= 1 << (at % 8);
                }
                at += 1;
            }
        }
        self.turns = self.turns.saturating_add(1);
    }

    /// The code of `player` at `turn`.
    pub fn code(&self, turn: u32, player: usize, players: usize, bits: u32) -> u32 {
        let start = (turn as usize * players + player) * bits as usize;
        // Fast path: the code lies within one byte (always so when `bits` divides 8).
        if start % 8 + bits as usize <= 8 {
            let byte = self.bytes.get(start / 8).copied().unwrap_or(0);
            let mask = ((1u16 << bits) - 1) as u8;
            return u32::from((byte >> (start % 8)) & mask);
        }
        (0..bits as usize).fold(0, |acc, b| {
            let at = start + b;
            let bit = self
                .bytes
                .get(at / 8)
                .map_or(0, |byte| (byte >> (at % 8)) & 1);
            acc | (u32::from(bit) << b)
        })
    }

    /// Checks the length and zero padding.
    pub fn check(&self, players: usize, bits: u32) -> Result<(), ReplayError> {
        let expected = Self::byte_len(self.turns, players, bits);
        if self.bytes.len() != expected {
            return Err(ReplayError::WrongLength {
                turns: self.turns,
                players,
                expected,
                got: self.bytes.len(),
            });
        }
        let used = self.turns as usize * players * bits as usize;
        if !used.is_multiple_of(8)
            && let Some(&last) = self.bytes.last()
            && last >> (used % 8) != 0
        {
            return Err(ReplayError::NonCanonical(
                "padding bits are not zero".into(),
            ));
        }
        Ok(())
    }
}

/// A whole game: spec, seed and every turn's actions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActionLog {
    /// Environment and parameters.
    pub spec: EnvSpec,
    /// The match seed.
    #[serde(with = "hex_seed")]
    pub seed: [u8; 32],
    /// The actions.
    pub actions: PackedActions,
}

impl ActionLog {
    /// An empty log.
    pub fn new(spec: EnvSpec, seed: [u8; 32]) -> Self {
        Self {
            spec,
            seed,
            actions: PackedActions::default(),
        }
    }

    /// Records one turn of Snake moves.
    pub fn push_snake_turn(&mut self, moves: &[crate::snake::Direction]) {
        let codes: Vec<u32> = moves.iter().map(|d| u32::from(d.code())).collect();
        let bits = self.spec.action_bits();
        self.actions.push_turn(&codes, bits);
    }

    /// Records one turn as played on `game` (before the step), zeroing the slots of players
    /// who are not to move, so the log stays canonical.
    pub fn record_turn(&mut self, game: &SnakeGame, moves: &[crate::snake::Direction]) {
        let to_move = game.to_move();
        let codes: Vec<u32> = moves
            .iter()
            .enumerate()
            .map(|(p, d)| match to_move {
                ToMove::Simultaneous(set) if set.contains(p) => u32::from(d.code()),
                ToMove::One(q) if q == p => u32::from(d.code()),
                _ => 0,
            })
            .collect();
        self.actions.push_turn(&codes, self.spec.action_bits());
    }

    /// Replays the log from the start and returns the final state; see [`replay_with`].
    pub fn replay(&self) -> Result<SnakeGame, ReplayError> {
        replay_with(self, |_, _| {})
    }
}

/// Replays `log`, calling `each_turn(state_before, actions)` for every turn, and returns the
/// final state (finished or not). Rejects logs that are mis-sized, non-canonical, or that go
/// on after the game ended.
pub fn replay_with(
    log: &ActionLog,
    each_turn: impl FnMut(&SnakeGame, &[crate::snake::Direction]),
) -> Result<SnakeGame, ReplayError> {
    let game = log.spec.start(log.seed)?;
    replay_actions(game, &log.actions, each_turn)
}

/// Replays packed actions on any [`Env`] from the state `game`, calling `each_turn(state_before,
/// actions)` for every turn; the generic core of [`replay_with`]. The slots of players who are
/// not to move must hold code 0.
pub fn replay_actions<E: Env>(
    mut game: E,
    actions: &PackedActions,
    mut each_turn: impl FnMut(&E, &[E::Action]),
) -> Result<E, ReplayError> {
    let players = game.players();
    let bits = E::ACTION_BITS;
    actions.check(players, bits)?;
    let idle = E::action_from_code(0).ok_or(ReplayError::BadCode {
        turn: 0,
        player: 0,
        code: 0,
    })?;
    // One turn's actions: on the stack for up to 8 players (every game here), else on the heap.
    let mut stack = [idle; 8];
    let mut heap = Vec::new();
    let moves = match stack.get_mut(..players) {
        Some(moves) => moves,
        None => {
            heap.resize(players, idle);
            &mut heap[..]
        }
    };
    // The codes are read in log order with a running bit position (the log's length was
    // checked above). When `bits` divides 8, as for every environment here, no code straddles
    // two bytes and each is one shift; otherwise a code within one byte still is.
    let whole_bytes = 8u32.checked_rem(bits) == Some(0);
    let mask = (1u32 << bits) - 1;
    let mut at = 0usize;
    for turn in 0..actions.turns {
        let to_move = game.to_move();
        if to_move == ToMove::Over {
            return Err(ReplayError::MovesAfterEnd {
                ended_at: game.turn(),
                turns: actions.turns,
            });
        }
        for (player, slot) in moves.iter_mut().enumerate() {
            let code = if whole_bytes || at % 8 + bits as usize <= 8 {
                let byte = actions.bytes.get(at / 8).copied().unwrap_or(0);
                u32::from(byte >> (at % 8)) & mask
            } else {
                actions.code(turn, player, players, bits)
            };
            at += bits as usize;
            // Who moves is tested first: it is known ahead, while the codes are data (a branch
            // on them would mispredict).
            let moving = match to_move {
                ToMove::Simultaneous(set) => set.contains(player),
                ToMove::One(q) => q == player,
                ToMove::Over => false,
            };
            if !moving && code != 0 {
                return Err(ReplayError::NonCanonical(format!(
                    "turn {turn}: player {player} is not to move but has code {code}"
                )));
            }
            *slot = E::action_from_code(code).ok_or(ReplayError::BadCode { turn, player, code })?;
        }
        each_turn(&game, moves);
        game.step(moves).map_err(|e| ReplayError::Step {
            turn,
            message: e.to_string(),
        })?;
    }
    Ok(game)
}

/// Replays `log` and returns its outcome, or `None` if the log stops before the game ends.
pub fn replay_outcome(log: &ActionLog) -> Result<Option<Outcome>, ReplayError> {
    Ok(log.replay()?.outcome().copied())
}

mod packed_bytes {
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// The two lowercase hex digits of each byte value.
    const DIGITS: [[u8; 2]; 256] = {
        let hex = b"0123456789abcdef";
        let mut table = [[0u8; 2]; 256];
        let mut value = 0;
        while value < 256 {
            table[value] = [hex[value >> 4], hex[value & 0xf]];
            value += 1;
        }
        table
    };

    /// Logs up to this many bytes are written out on the stack (a duel of 500 turns takes
    /// 250 bytes).
    const ON_STACK: usize = 256;

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return s.serialize_bytes(bytes);
        }
        // Lowercase digits, as `hex::encode` writes them, two per byte from one table
        // lookup, into one buffer: on the stack for the usual log.
        let mut stack = [0u8; 2 * ON_STACK];
        let mut heap = Vec::new();
        let text = match stack.get_mut(..2 * bytes.len()) {
            Some(text) => text,
            None => {
                heap.resize(2 * bytes.len(), 0);
                &mut heap[..]
            }
        };
        for (pair, &byte) in text.chunks_exact_mut(2).zip(bytes) {
            pair.copy_from_slice(&DIGITS[usize::from(byte)]);
        }
        s.serialize_str(std::str::from_utf8(text).map_err(S::Error::custom)?)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            return hex::decode(text).map_err(D::Error::custom);
        }
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

pub(crate) mod hex_seed {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(seed: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(seed))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(|e| D::Error::custom(format!("seed: {e}")))?;
        bytes.try_into().map_err(|b: Vec<u8>| {
            D::Error::custom(format!(
                "seed is {} bytes; must be 32 (64 hex digits)",
                b.len()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{EnvSpec, PackedActions};
    use crate::snake::SnakeParams;

    /// The packed bytes are written as `hex::encode` writes them, on the stack and past it.
    #[test]
    fn packed_bytes_are_lowercase_hex() {
        for len in [0usize, 1, 2, 100, 255, 256, 257, 600] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let actions = PackedActions {
                turns: 0,
                bytes: bytes.clone(),
            };
            let json = serde_json::to_value(&actions).unwrap();
            assert_eq!(json["bytes"], hex::encode(&bytes), "{len} bytes");
        }
        let every_byte: Vec<u8> = (0..=255).collect();
        let json = serde_json::to_value(PackedActions {
            turns: 0,
            bytes: every_byte.clone(),
        })
        .unwrap();
        assert_eq!(json["bytes"], hex::encode(&every_byte));
    }

    /// An environment is a tagged map in JSON and a pair in CBOR, and reads back from both;
    /// unknown environments and fields are refused.
    #[test]
    fn env_specs_are_maps_in_text_and_pairs_in_cbor() {
        let spec = EnvSpec::Snake(SnakeParams::solo(7, 300));
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["env"], "snake");
        assert_eq!(json["width"], 7);
        assert_eq!(json["max_turns"], 300);
        assert_eq!(serde_json::from_value::<EnvSpec>(json).unwrap(), spec);
        let mut cbor = Vec::new();
        ciborium::into_writer(&spec, &mut cbor).unwrap();
        // An array of two: "snake", then the eight parameters (300 takes three bytes).
        let expected = [
            &[0x82, 0x65][..],
            b"snake",
            &[0x88, 7, 7, 1, 0x18, 100, 3, 15, 1, 0x19, 0x01, 0x2c],
        ]
        .concat();
        assert_eq!(cbor, expected);
        assert_eq!(
            ciborium::from_reader::<EnvSpec, _>(&cbor[..]).unwrap(),
            spec
        );
        let mut other = Vec::new();
        ciborium::into_writer(
            &("chess", (7u8, 7u8, 1u8, 100u8, 3u8, 15u8, 1u8, 300u32)),
            &mut other,
        )
        .unwrap();
        assert!(ciborium::from_reader::<EnvSpec, _>(&other[..]).is_err());
        let mut short = Vec::new();
        ciborium::into_writer(&("snake", (7u8, 7u8, 1u8)), &mut short).unwrap();
        assert!(ciborium::from_reader::<EnvSpec, _>(&short[..]).is_err());
        assert!(
            serde_json::from_value::<EnvSpec>(serde_json::json!({"env": "snake", "colour": 1}))
                .is_err()
        );
    }

    /// In CBOR, a binary format, the packed bytes are a byte string, and read back as such.
    #[test]
    fn packed_bytes_are_a_byte_string_in_cbor() {
        let actions = PackedActions {
            turns: 3,
            bytes: vec![0xab, 0x00, 0xff],
        };
        let mut cbor = Vec::new();
        ciborium::into_writer(&actions, &mut cbor).unwrap();
        // A map of two entries; "turns" 3; "bytes" then major type 2 (byte string) of 3 bytes.
        let expected = [
            &[0xa2, 0x65][..],
            b"turns",
            &[0x03, 0x65],
            b"bytes",
            &[0x43, 0xab, 0x00, 0xff],
        ]
        .concat();
        assert_eq!(cbor, expected);
        let back: PackedActions = ciborium::from_reader(&cbor[..]).unwrap();
        assert_eq!(back, actions);
        // The text form is not accepted where a byte string is expected.
        let mut text = Vec::new();
        ciborium::into_writer(
            &serde_json::json!({"turns": 3, "bytes": "ab00ff"}),
            &mut text,
        )
        .unwrap();
        assert!(ciborium::from_reader::<PackedActions, _>(&text[..]).is_err());
    }
}
