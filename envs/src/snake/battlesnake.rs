//! The Battlesnake `/move` request JSON: import a game state from it, export one to it.
//!
//! Battlesnake servers receive the board as JSON on every move; this module reads and writes
//! that format so that existing snakes, tools and recorded games carry over. Import checks
//! every value and names the offending field; fields that only matter to Battlesnake's own
//! servers (ids, names, latency, customizations, the game block) are carried through
//! [`BattlesnakeMeta`] so a state survives import and export unchanged.
//!
//! Only live snakes appear in a request (Battlesnake drops eliminated ones), only the
//! `standard` and `solo` rulesets are understood, and hazards are refused (the standard rules
//! have none). The random stream of an imported state is keyed by the seed given at import.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    MAX_BOARD_SIDE, MAX_SNAKES, MIN_BOARD_SIDE, Point, Snake, SnakeError, SnakeGame, SnakeParams,
};

/// The body of a Battlesnake `/move` (and `/start`, `/end`) request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MoveRequest {
    /// The game block.
    pub game: GameInfo,
    /// Turns played so far.
    pub turn: i64,
    /// The board.
    pub board: Board,
    /// The snake this request is for.
    pub you: BattleSnake,
}

/// The `game` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GameInfo {
    /// Game id.
    pub id: String,
    /// Ruleset name, version and settings.
    pub ruleset: Ruleset,
    /// Map name.
    #[serde(default)]
    pub map: String,
    /// Milliseconds a snake has to answer.
    #[serde(default)]
    pub timeout: i64,
    /// Where the game came from.
    #[serde(default)]
    pub source: String,
}

/// The `game.ruleset` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ruleset {
    /// `standard` or `solo` here.
    pub name: String,
    /// Ruleset version string.
    #[serde(default)]
    pub version: String,
    /// Settings.
    #[serde(default)]
    pub settings: Settings,
}

/// The `game.ruleset.settings` block; other members are kept verbatim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Percent chance of a food spawn per turn.
    pub food_spawn_chance: i64,
    /// Minimum food on the board.
    pub minimum_food: i64,
    /// Hazard damage (unused by the standard rules).
    #[serde(default)]
    pub hazard_damage_per_turn: i64,
    /// Other settings (royale, squad, …), kept as they came.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            food_spawn_chance: 15,
            minimum_food: 1,
            hazard_damage_per_turn: 0,
            other: serde_json::Map::new(),
        }
    }
}

/// The `board` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Board {
    /// Rows.
    pub height: i64,
    /// Columns.
    pub width: i64,
    /// Food cells.
    pub food: Vec<Coord>,
    /// Hazard cells (must be empty here).
    #[serde(default)]
    pub hazards: Vec<Coord>,
    /// Live snakes.
    pub snakes: Vec<BattleSnake>,
}

/// A cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coord {
    /// Column.
    pub x: i64,
    /// Row.
    pub y: i64,
}

/// A snake object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BattleSnake {
    /// Unique id in the game.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Health.
    pub health: i64,
    /// Head first.
    pub body: Vec<Coord>,
    /// Must equal `body[0]`.
    pub head: Coord,
    /// Must equal the body's length.
    pub length: i64,
    /// Last response time, as Battlesnake writes it.
    #[serde(default)]
    pub latency: Value,
    /// Last shout.
    #[serde(default)]
    pub shout: String,
    /// Squad name.
    #[serde(default)]
    pub squad: String,
    /// Colours and head/tail styles.
    #[serde(default)]
    pub customizations: Value,
}

/// What a request holds beyond the game state, kept for export.
#[derive(Clone, Debug, PartialEq)]
pub struct BattlesnakeMeta {
    /// The `game` block.
    pub game: GameInfo,
    /// Per player: the snake object with its positional fields ignored on export.
    pub snakes: Vec<BattleSnake>,
    /// The id of the snake the request was for (`you`).
    pub you: String,
}

impl BattlesnakeMeta {
    /// Default metadata for a game that did not come from JSON: ids `snake-0`, … and a
    /// standard ruleset block with the game's settings.
    pub fn for_game(game: &SnakeGame, game_id: &str) -> Self {
        let p = game.params();
        let snakes = (0..game.snakes().len())
            .map(|i| BattleSnake {
                id: format!("snake-{i}"),
                name: format!("snake-{i}"),
                health: 0,
                body: Vec::new(),
                head: Coord { x: 0, y: 0 },
                length: 0,
                latency: Value::String("0".into()),
                shout: String::new(),
                squad: String::new(),
                customizations: Value::Null,
            })
            .collect();
        Self {
            game: GameInfo {
                id: game_id.to_string(),
                ruleset: Ruleset {
                    name: if p.snakes == 1 { "solo" } else { "standard" }.into(),
                    version: "v1.2.3".into(),
                    settings: Settings {
                        food_spawn_chance: i64::from(p.food_spawn_chance),
                        minimum_food: i64::from(p.minimum_food),
                        ..Settings::default()
                    },
                },
                map: "standard".into(),
                timeout: 500,
                source: "nets".into(),
            },
            snakes,
            you: "snake-0".into(),
        }
    }

    /// The player the request was for.
    pub fn you_index(&self) -> usize {
        self.index_of(&self.you).unwrap_or(0)
    }

    /// The index of the snake with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.snakes.iter().position(|s| s.id == id)
    }
}

fn invalid(msg: String) -> SnakeError {
    SnakeError::InvalidState(msg)
}

/// Parses request JSON text into a game (random stream keyed by `seed`) and its metadata.
pub fn from_json(text: &str, seed: [u8; 32]) -> Result<(SnakeGame, BattlesnakeMeta), SnakeError> {
    let request: MoveRequest = serde_json::from_str(text)
        .map_err(|e| invalid(format!("not a Battlesnake move request: {e}")))?;
    import(&request, seed)
}

/// Converts a parsed request into a game (random stream keyed by `seed`) and its metadata.
pub fn import(
    request: &MoveRequest,
    seed: [u8; 32],
) -> Result<(SnakeGame, BattlesnakeMeta), SnakeError> {
    let ruleset = request.game.ruleset.name.as_str();
    if !matches!(ruleset, "standard" | "solo" | "") {
        return Err(invalid(format!(
            "game.ruleset.name is {ruleset:?}; only \"standard\" and \"solo\" are supported"
        )));
    }
    let board = &request.board;
    let side = |name: &str, v: i64| -> Result<u8, SnakeError> {
        if (i64::from(MIN_BOARD_SIDE)..=i64::from(MAX_BOARD_SIDE)).contains(&v) {
            Ok(v as u8)
        } else {
            Err(invalid(format!(
                "board.{name} is {v}; must be {MIN_BOARD_SIDE}..={MAX_BOARD_SIDE}"
            )))
        }
    };
    let (width, height) = (side("width", board.width)?, side("height", board.height)?);
    let settings = &request.game.ruleset.settings;
    let percent = |name: &str, v: i64| -> Result<u8, SnakeError> {
        u8::try_from(v).ok().filter(|&v| v <= 100).ok_or_else(|| {
            invalid(format!(
                "game.ruleset.settings.{name} is {v}; must be 0..=100"
            ))
        })
    };
    if !board.hazards.is_empty() {
        return Err(invalid(format!(
            "board.hazards has {} cells; the standard rules have no hazards",
            board.hazards.len()
        )));
    }
    if board.snakes.is_empty() || board.snakes.len() > usize::from(MAX_SNAKES) {
        return Err(invalid(format!(
            "board.snakes has {} snakes; must be 1..={MAX_SNAKES}",
            board.snakes.len()
        )));
    }
    let turn = u32::try_from(request.turn)
        .map_err(|_| invalid(format!("turn is {}; must be 0..=4294967295", request.turn)))?;
    let params = SnakeParams {
        width,
        height,
        snakes: board.snakes.len() as u8,
        food_spawn_chance: percent("foodSpawnChance", settings.food_spawn_chance)?,
        minimum_food: u8::try_from(settings.minimum_food).map_err(|_| {
            invalid(format!(
                "game.ruleset.settings.minimumFood is {}; must be 0..=255",
                settings.minimum_food
            ))
        })?,
        max_turns: 0,
        ..SnakeParams::default()
    };
    let point = |path: &str, c: Coord| -> Result<Point, SnakeError> {
        if (0..board.width).contains(&c.x) && (0..board.height).contains(&c.y) {
            Ok(Point::new(c.x as i8, c.y as i8))
        } else {
            Err(invalid(format!(
                "{path} is ({}, {}), off the {}x{} board",
                c.x, c.y, board.width, board.height
            )))
        }
    };
    let mut ids = BTreeSet::new();
    let mut snakes = Vec::with_capacity(board.snakes.len());
    for (i, s) in board.snakes.iter().enumerate() {
        let path = format!("board.snakes[{i}]");
        if !ids.insert(s.id.as_str()) {
            return Err(invalid(format!("{path}.id {:?} is not unique", s.id)));
        }
        if s.body.is_empty() {
            return Err(invalid(format!("{path}.body is empty")));
        }
        let health = u8::try_from(s.health)
            .ok()
            .filter(|&h| h <= params.max_health)
            .ok_or_else(|| {
                invalid(format!(
                    "{path}.health is {}; must be 0..={}",
                    s.health, params.max_health
                ))
            })?;
        let body = s
            .body
            .iter()
            .enumerate()
            .map(|(k, &c)| point(&format!("{path}.body[{k}]"), c))
            .collect::<Result<VecDeque<_>, _>>()?;
        if s.body.first() != Some(&s.head) {
            return Err(invalid(format!(
                "{path}.head is not the first body segment"
            )));
        }
        if s.length != s.body.len() as i64 {
            return Err(invalid(format!(
                "{path}.length is {} but the body has {} segments",
                s.length,
                s.body.len()
            )));
        }
        snakes.push(Snake {
            body,
            health,
            eaten: 0,
            eliminated: None,
        });
    }
    let food = board
        .food
        .iter()
        .enumerate()
        .map(|(k, &c)| point(&format!("board.food[{k}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    if !ids.contains(request.you.id.as_str()) {
        return Err(invalid(format!(
            "you.id {:?} is not one of board.snakes",
            request.you.id
        )));
    }
    let game = SnakeGame::from_parts(params, turn, snakes, food, seed)?;
    let meta = BattlesnakeMeta {
        game: request.game.clone(),
        snakes: board.snakes.clone(),
        you: request.you.id.clone(),
    };
    Ok((game, meta))
}

/// Builds the request a Battlesnake server would receive for player `you`.
pub fn export(
    game: &SnakeGame,
    meta: &BattlesnakeMeta,
    you: usize,
) -> Result<MoveRequest, SnakeError> {
    let p = game.params();
    let object = |i: usize, snake: &Snake| -> BattleSnake {
        let mut s = meta.snakes.get(i).cloned().unwrap_or_else(|| BattleSnake {
            id: format!("snake-{i}"),
            name: format!("snake-{i}"),
            health: 0,
            body: Vec::new(),
            head: Coord { x: 0, y: 0 },
            length: 0,
            latency: Value::String("0".into()),
            shout: String::new(),
            squad: String::new(),
            customizations: Value::Null,
        });
        s.health = i64::from(snake.health);
        s.body = snake
            .body
            .iter()
            .map(|q| Coord {
                x: i64::from(q.x),
                y: i64::from(q.y),
            })
            .collect();
        s.head = s.body.first().copied().unwrap_or(Coord { x: 0, y: 0 });
        s.length = s.body.len() as i64;
        s
    };
    let you_snake = game
        .snakes()
        .get(you)
        .ok_or_else(|| invalid(format!("player {you} is not in this game")))?;
    let mut game_info = meta.game.clone();
    game_info.ruleset.settings.food_spawn_chance = i64::from(p.food_spawn_chance);
    game_info.ruleset.settings.minimum_food = i64::from(p.minimum_food);
    Ok(MoveRequest {
        game: game_info,
        turn: i64::from(game.turn()),
        board: Board {
            height: i64::from(p.height),
            width: i64::from(p.width),
            food: game
                .food()
                .iter()
                .map(|q| Coord {
                    x: i64::from(q.x),
                    y: i64::from(q.y),
                })
                .collect(),
            hazards: Vec::new(),
            snakes: game
                .snakes()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_alive())
                .map(|(i, s)| object(i, s))
                .collect(),
        },
        you: object(you, you_snake),
    })
}

/// Serialises a request as pretty JSON.
pub fn to_json(request: &MoveRequest) -> String {
    serde_json::to_string_pretty(request).unwrap_or_default()
}
