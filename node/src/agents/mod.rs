//! Agents that can fail, and games that end cleanly when one does.
//!
//! The built-in agents of `nets_envs` always answer; a neural agent may not (its model can
//! output NaN, or its runtime can fail). [`Player`] is the node's view of an agent: a move or
//! an error. [`play_game`] ends a game at the first error as a forfeit by that player, a loss,
//! instead of panicking or stopping the node.

pub mod battlesnake;
pub mod exec;
pub mod onnx;
pub mod players;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use nets_envs::Outcome;
use nets_envs::agents::{Agent, BuiltIn};
use nets_envs::log::ActionLog;
use nets_envs::snake::observation;
use nets_envs::snake::{Direction, SnakeGame};

use crate::agents::battlesnake::BattlesnakeError;
use crate::agents::exec::{ExecCommand, ExecError};
use crate::agents::onnx::batcher::{BatchError, Client};
use crate::agents::onnx::model::Logits;

/// Why an agent gave no move.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// Its model could not score the board.
    #[error(transparent)]
    Inference(#[from] BatchError),
    /// Its process (`exec:COMMAND`) failed or broke the protocol.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// Its Battlesnake server (`battlesnake:URL`) failed or gave no valid move.
    #[error(transparent)]
    Battlesnake(#[from] BattlesnakeError),
}

/// Something that picks a snake's move, and may fail to.
pub trait Player {
    /// A short name for transcripts and tables.
    fn name(&self) -> String;
    /// The move of `player` in `game`.
    fn choose(&mut self, game: &SnakeGame, player: usize) -> Result<Direction, AgentError>;
    /// Told once, with the last state, that the game `player` played in is over (finished or
    /// forfeited). Agents backed by a process or a server say goodbye and release it here;
    /// the next [`Player::choose`] starts a new game. Nothing, by default.
    fn game_over(&mut self, _game: &SnakeGame, _player: usize) {}
}

/// A built-in agent never fails.
impl Player for Box<dyn Agent + Send> {
    fn name(&self) -> String {
        Agent::name(self)
    }
    fn choose(&mut self, game: &SnakeGame, player: usize) -> Result<Direction, AgentError> {
        Ok(Agent::choose(self, game, player))
    }
}

/// An agent spec on the command line: a built-in name, `onnx:PATH`, `exec:COMMAND` or
/// `battlesnake:URL` (see `docs/agents.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentSpec {
    /// A built-in agent.
    BuiltIn(BuiltIn),
    /// A neural agent playing the ONNX model at this path.
    Onnx(PathBuf),
    /// An external process speaking the JSON-lines protocol on its standard input and output.
    Exec(ExecCommand),
    /// A Battlesnake server at this `http://` or `https://` base URL (no trailing `/`).
    Battlesnake(String),
}

/// The valid forms of an agent spec, for messages.
pub const AGENT_SPECS: &str = "random, greedy, search, onnx:PATH, exec:COMMAND, battlesnake:URL";

/// An agent spec that is none of [`AGENT_SPECS`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown agent {0:?}; possible values: {AGENT_SPECS}")]
pub struct UnknownAgent(pub String);

impl FromStr for AgentSpec {
    type Err = UnknownAgent;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("onnx:") {
            if path.is_empty() {
                return Err(UnknownAgent(s.to_owned()));
            }
            return Ok(AgentSpec::Onnx(PathBuf::from(path)));
        }
        if let Some(command) = s.strip_prefix("exec:") {
            return ExecCommand::parse(command)
                .map(AgentSpec::Exec)
                .ok_or_else(|| UnknownAgent(s.to_owned()));
        }
        if let Some(url) = s.strip_prefix("battlesnake:") {
            return crate::agents::battlesnake::base_url(url)
                .map(AgentSpec::Battlesnake)
                .ok_or_else(|| UnknownAgent(s.to_owned()));
        }
        BuiltIn::from_name(s)
            .map(AgentSpec::BuiltIn)
            .ok_or_else(|| UnknownAgent(s.to_owned()))
    }
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentSpec::BuiltIn(kind) => f.write_str(kind.name()),
            AgentSpec::Onnx(path) => write!(f, "onnx:{}", path.display()),
            AgentSpec::Exec(command) => write!(f, "exec:{command}"),
            AgentSpec::Battlesnake(url) => write!(f, "battlesnake:{url}"),
        }
    }
}

/// A neural agent: encodes the board with [`observation::encode`], asks its model (through a
/// batcher [`Client`]) for one score per move, and plays the best move that does not die at
/// once.
///
/// The move rule, as `docs/models.md` documents it: a move is *unsafe* when its cell is off
/// the board or holds a body segment that is still there after the move (a value of 2 or more
/// in plane 1 or plane 3 of the observation). The agent plays the highest-scoring safe move,
/// or the highest-scoring move when none is safe; ties go to the lowest move code (up, down,
/// left, right).
#[derive(Debug)]
pub struct OnnxAgent {
    name: String,
    client: Arc<Client>,
}

impl OnnxAgent {
    /// An agent named `name` (e.g. `onnx:models/snake-conv.onnx`) asking `client`'s batcher.
    /// Agents of one game may share a client: they are asked one after the other.
    pub fn new(name: impl Into<String>, client: Arc<Client>) -> Self {
        Self {
            name: name.into(),
            client,
        }
    }
}

impl Player for OnnxAgent {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Result<Direction, AgentError> {
        let board = observation::observe(game, player);
        let [_, height, width] = observation::shape(game.params());
        let safe = safe_moves(&board, width, height);
        let logits = self.client.evaluate(board)?;
        Ok(pick(safe, &logits))
    }
}

/// Which moves are safe for the player an observation `board` (`[7, height, width]`) is
/// for, in code order: the target cell is on the board and holds no body segment that is
/// still there after the move (plane 1 and plane 3 below 2). All four are safe when the board
/// shows no own head (an eliminated player).
pub fn safe_moves(board: &[f32], width: usize, height: usize) -> [bool; 4] {
    let plane = width * height;
    let Some(head) = board
        .get(..plane)
        .and_then(|own_head| own_head.iter().position(|&v| v > 0.0))
    else {
        return [true; 4];
    };
    let (row, col) = (head / width, head % width);
    Direction::ALL.map(|d| {
        let target = match d {
            Direction::Up => row.checked_sub(1).map(|r| (r, col)),
            Direction::Down => (row + 1 < height).then_some((row + 1, col)),
            Direction::Left => col.checked_sub(1).map(|c| (row, c)),
            Direction::Right => (col + 1 < width).then_some((row, col + 1)),
        };
        target.is_some_and(|(r, c)| {
            let cell = r * width + c;
            [1, 3].iter().all(|&p| {
                board
                    .get(p * plane + cell)
                    .is_none_or(|&segments| segments < 2.0)
            })
        })
    })
}

/// The move played for these scores: the highest-scoring safe move, or the highest-scoring
/// move when none is safe; ties go to the lowest code.
pub fn pick(safe: [bool; 4], logits: &Logits) -> Direction {
    let best = |only_safe: bool| {
        Direction::ALL
            .into_iter()
            .filter(|d| !only_safe || safe[usize::from(d.code())])
            .fold(None::<Direction>, |best, d| match best {
                Some(b) if logits[usize::from(b.code())] >= logits[usize::from(d.code())] => {
                    Some(b)
                }
                _ => Some(d),
            })
    };
    best(true).or_else(|| best(false)).unwrap_or(Direction::Up)
}

/// How a game ended.
#[derive(Clone, Debug, PartialEq)]
pub enum GameEnd {
    /// The rules ended it.
    Finished(Outcome),
    /// A player's agent failed; the game stopped there and counts as a loss for that player.
    Forfeit {
        /// The player whose agent failed.
        player: usize,
        /// The turn it failed on.
        turn: u32,
        /// The error.
        error: AgentError,
    },
}

impl GameEnd {
    /// The winner, if there is one: the rules' winner, or the only other player of a forfeited
    /// duel.
    pub fn winner(&self, players: usize) -> Option<usize> {
        match self {
            GameEnd::Finished(Outcome::Winner(p)) => Some(usize::from(*p)),
            GameEnd::Finished(_) => None,
            GameEnd::Forfeit { player, .. } => (players == 2 && *player < 2).then(|| 1 - player),
        }
    }
}

impl fmt::Display for GameEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GameEnd::Finished(outcome) => write!(f, "{outcome}"),
            GameEnd::Forfeit {
                player,
                turn,
                error,
            } => write!(f, "player {player} forfeits on turn {turn}: {error}"),
        }
    }
}

/// A played game: its final state, its moves and how it ended.
#[derive(Clone, Debug)]
pub struct PlayedGame {
    /// The last state (the one the forfeit happened in, for a forfeit).
    pub game: SnakeGame,
    /// The moves of every completed turn.
    pub log: ActionLog,
    /// How it ended.
    pub end: GameEnd,
}

/// Plays `game` to the end with one player per snake, recording the moves in `log`; calls
/// `after_turn` after every turn. The first agent error ends the game as a forfeit.
pub fn play_game<P: Player + ?Sized>(
    mut game: SnakeGame,
    players: &mut [Box<P>],
    mut log: ActionLog,
    mut after_turn: impl FnMut(&SnakeGame),
) -> Result<PlayedGame, nets_envs::snake::SnakeError> {
    let mut moves = Vec::with_capacity(players.len());
    let game_over = |game: &SnakeGame, players: &mut [Box<P>]| {
        for (p, agent) in players.iter_mut().enumerate() {
            agent.game_over(game, p);
        }
    };
    while !game.is_over() {
        moves.clear();
        for p in 0..players.len() {
            let alive = game.snakes().get(p).is_some_and(|s| s.is_alive());
            let Some(agent) = players.get_mut(p).filter(|_| alive) else {
                moves.push(Direction::Up);
                continue;
            };
            match agent.choose(&game, p) {
                Ok(d) => moves.push(d),
                Err(error) => {
                    let turn = game.turn();
                    game_over(&game, players);
                    return Ok(PlayedGame {
                        game,
                        log,
                        end: GameEnd::Forfeit {
                            player: p,
                            turn,
                            error,
                        },
                    });
                }
            }
        }
        log.record_turn(&game, &moves);
        game.step(&moves)?;
        after_turn(&game);
    }
    game_over(&game, players);
    let end = GameEnd::Finished(game.outcome().copied().unwrap_or(Outcome::Draw));
    Ok(PlayedGame { game, log, end })
}

#[cfg(test)]
mod tests {
    use nets_envs::snake::observation::PLANES;

    use super::*;

    #[test]
    fn specs_parse_and_print() {
        for text in ["random", "greedy", "search", "onnx:models/snake-conv.onnx"] {
            let spec: AgentSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            "onnx:a:b.onnx".parse::<AgentSpec>(),
            Ok(AgentSpec::Onnx("a:b.onnx".into()))
        );
        for bad in ["wizard", "onnx:", "ONNX:x", ""] {
            let err = bad.parse::<AgentSpec>().unwrap_err();
            assert!(err.to_string().contains(AGENT_SPECS), "{err}");
        }
    }

    /// A 5x5 board: own head at (row 1, col 0) with the neck below it.
    fn board() -> Vec<f32> {
        let (w, h) = (5, 5);
        let mut b = vec![0.0; PLANES * w * h];
        let at = |plane: usize, row: usize, col: usize| plane * w * h + row * w + col;
        b[at(0, 1, 0)] = 1.0;
        b[at(1, 1, 0)] = 3.0;
        b[at(1, 2, 0)] = 2.0;
        b[at(1, 3, 0)] = 1.0;
        // An opponent's tail (frees this turn) to the right, its body above.
        b[at(3, 1, 1)] = 1.0;
        b[at(3, 0, 0)] = 2.0;
        b
    }

    #[test]
    fn unsafe_moves_are_walls_and_bodies_that_stay() {
        // up: opponent body 2; down: own neck 2; left: off the board; right: a tail (1).
        assert_eq!(safe_moves(&board(), 5, 5), [false, false, false, true]);
        // No own head (eliminated): everything is allowed.
        assert_eq!(safe_moves(&vec![0.0; PLANES * 25], 5, 5), [true; 4]);
        // Short input is not a panic.
        assert_eq!(safe_moves(&[], 5, 5), [true; 4]);
    }

    #[test]
    fn the_best_safe_move_is_played_and_ties_go_to_the_lowest_code() {
        let safe = safe_moves(&board(), 5, 5);
        assert_eq!(pick(safe, &[9.0, 9.0, 9.0, -1.0]), Direction::Right);
        assert_eq!(pick([true; 4], &[1.0, 3.0, 3.0, 2.0]), Direction::Down);
        assert_eq!(pick([true; 4], &[0.0; 4]), Direction::Up);
        // Nothing safe: the best of all four.
        assert_eq!(pick([false; 4], &[1.0, 0.0, 5.0, 2.0]), Direction::Left);
        assert_eq!(
            pick([false, true, false, true], &[-1.0, -3.0, 0.0, -2.0]),
            Direction::Right
        );
    }

    #[test]
    fn a_forfeited_duel_is_won_by_the_other_player() {
        let end = GameEnd::Forfeit {
            player: 1,
            turn: 4,
            error: AgentError::Inference(BatchError::Stopped),
        };
        assert_eq!(end.winner(2), Some(0));
        assert_eq!(end.winner(3), None);
        assert_eq!(GameEnd::Finished(Outcome::Winner(1)).winner(2), Some(1));
        assert_eq!(GameEnd::Finished(Outcome::Draw).winner(2), None);
        assert_eq!(
            end.to_string(),
            "player 1 forfeits on turn 4: the inference worker has stopped"
        );
    }
}
