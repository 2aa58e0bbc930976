//! External agents: any program that plays through a JSON-lines protocol on its standard input
//! and output (`exec:COMMAND`; the protocol is in `docs/agents.md`).
//!
//! One process per game. It starts at the game's first move request and receives a `start`
//! line; then one `move` line per turn its snake is alive, each answered by one line naming a
//! move; at the end of the game (see [`Player::game_over`]) an `end` line, after which its
//! input is closed and it is killed unless it has exited within the move timeout. Every
//! request is the Battlesnake request body (game, turn, board, you) with a `type` member, so a
//! Battlesnake bot's move logic carries over.
//!
//! A process that cannot start, answers late, exits, or writes anything but a move reply makes
//! [`ExecAgent::choose`](Player::choose) return an [`ExecError`] (a forfeit in
//! [`play_game`](crate::agents::play_game)); it never stops or hangs the caller. The process is
//! killed when its agent is dropped. Its standard error is passed through or discarded
//! ([`Stderr`]).
//!
//! Each process has a writer and a reader thread joined to the agent by bounded channels: a
//! move waits on the reader's channel with a deadline, and a process that stops reading its
//! input cannot block the game on a full pipe.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use nets_envs::snake::battlesnake::{self, BattlesnakeMeta, MoveRequest};
use nets_envs::snake::{Direction, SnakeGame};
use serde::Serialize;

use crate::agents::battlesnake::{BadReply, excerpt, parse_move_reply};
use crate::agents::{AgentError, Player};

/// The longest reply line read from a process, in bytes (without the newline). A move reply
/// needs a few dozen; the limit keeps a runaway process from filling the node's memory.
pub const MAX_LINE: usize = 64 * 1024;

/// How long a move may take by default: Battlesnake's default timeout.
pub const DEFAULT_MOVE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the first move of a game may take by default, process start-up included.
pub const DEFAULT_FIRST_MOVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A program and its arguments, as split from an `exec:COMMAND` spec by shell rules (quotes and
/// backslashes; no variables, globs or pipes: no shell runs it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecCommand {
    /// Program first; never empty.
    argv: Vec<String>,
}

impl ExecCommand {
    /// Splits `text` by shell rules; `None` for an unterminated quote, a NUL byte, or no words.
    pub fn parse(text: &str) -> Option<Self> {
        if text.contains('\0') {
            return None;
        }
        let argv = shlex::split(text)?;
        (!argv.is_empty()).then_some(Self { argv })
    }

    /// `program` with `args`.
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let mut argv = vec![program.into()];
        argv.extend(args.into_iter().map(Into::into));
        Self { argv }
    }

    /// The program: a path, or a name looked up in `PATH`.
    pub fn program(&self) -> &str {
        self.argv.first().map_or("", String::as_str)
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[String] {
        self.argv.get(1..).unwrap_or_default()
    }
}

/// Quoted so that [`ExecCommand::parse`] gives the same words back.
impl fmt::Display for ExecCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match shlex::try_join(self.argv.iter().map(String::as_str)) {
            Ok(text) => f.write_str(&text),
            Err(_) => f.write_str(&self.argv.join(" ")),
        }
    }
}

/// Where a process's standard error goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stderr {
    /// To the node's standard error, where a bot's own log is most useful while developing it.
    #[default]
    Inherit,
    /// Nowhere.
    Discard,
}

/// How an [`ExecAgent`] runs its process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecConfig {
    /// How long a process may take to answer a move request, from writing the request to
    /// reading the whole reply line.
    pub move_timeout: Duration,
    /// The limit for the first move of a game instead (when longer), which includes starting
    /// the process: an interpreter loading, a model being read.
    pub first_move_timeout: Duration,
    /// Where the process's standard error goes.
    pub stderr: Stderr,
}

impl Default for ExecConfig {
    fn default() -> Self {
        Self {
            move_timeout: DEFAULT_MOVE_TIMEOUT,
            first_move_timeout: DEFAULT_FIRST_MOVE_TIMEOUT,
            stderr: Stderr::Inherit,
        }
    }
}

/// Why an external process gave no move.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The process could not be started.
    #[error("cannot start the agent process `{command}`: {reason}")]
    Spawn {
        /// The command.
        command: String,
        /// The operating system's reason.
        reason: String,
    },
    /// No reply line within the time limit (or the process did not take its request).
    #[error("the agent process gave no move within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The process closed its output, usually by exiting.
    #[error("the agent process ended its output ({0})")]
    Exited(String),
    /// A reply line that is not a move reply.
    #[error("the agent process wrote {line:?}, not a move reply: {reason}")]
    Malformed {
        /// The line (its start, for a long one).
        line: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A move reply naming no move.
    #[error("the agent process answered the unknown move {0:?} (moves: up, down, left, right)")]
    UnknownMove(String),
    /// A reply line longer than [`MAX_LINE`] bytes.
    #[error("the agent process wrote a line longer than {0} bytes")]
    LineTooLong(usize),
    /// Reading the process's output failed.
    #[error("reading the agent process's output failed: {0}")]
    Io(String),
    /// The game could not be written as a request (a player not in the game).
    #[error("cannot describe the game to the agent process: {0}")]
    Request(String),
}

/// A player backed by an external process (see the [module docs](self)).
#[derive(Debug)]
pub struct ExecAgent {
    name: String,
    command: ExecCommand,
    game_id: String,
    config: ExecConfig,
    state: State,
}

#[derive(Debug)]
enum State {
    /// No game in progress (no process).
    Idle,
    /// In a game, with its process.
    Playing(Box<Process>),
    /// The process failed in this game; every move until the game is over fails the same way.
    Failed(ExecError),
}

impl ExecAgent {
    /// An agent running `command`, once per game, for games with this id (the `game.id` of
    /// its requests; distinct games in progress at once should have distinct ids). The id is
    /// shown to the program: it must not reveal a secret match seed, from which food can be
    /// predicted.
    pub fn new(command: ExecCommand, game_id: impl Into<String>, config: ExecConfig) -> Self {
        Self {
            name: format!("exec:{command}"),
            command,
            game_id: game_id.into(),
            config,
            state: State::Idle,
        }
    }

    fn play(&mut self, game: &SnakeGame, player: usize) -> Result<Direction, ExecError> {
        let timeout = match &mut self.state {
            State::Failed(error) => return Err(error.clone()),
            State::Playing(_) => self.config.move_timeout,
            State::Idle => {
                let mut meta = BattlesnakeMeta::for_game(game, &self.game_id);
                meta.game.timeout =
                    i64::try_from(self.config.move_timeout.as_millis()).unwrap_or(i64::MAX);
                let mut process = Process::spawn(&self.command, self.config.stderr, meta)?;
                process.send("start", game, player, self.config.move_timeout)?;
                self.state = State::Playing(Box::new(process));
                self.config.first_move_timeout.max(self.config.move_timeout)
            }
        };
        let State::Playing(process) = &mut self.state else {
            return Err(ExecError::Exited("not running".into()));
        };
        process.ask(game, player, timeout)
    }
}

impl Player for ExecAgent {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Result<Direction, AgentError> {
        self.play(game, player).map_err(|error| {
            // Dropping the process kills it.
            self.state = State::Failed(error.clone());
            AgentError::Exec(error)
        })
    }

    fn game_over(&mut self, game: &SnakeGame, player: usize) {
        if let State::Playing(mut process) = std::mem::replace(&mut self.state, State::Idle) {
            let timeout = self.config.move_timeout;
            // A process that has failed here is killed below all the same.
            let _ = process.send("end", game, player, timeout);
            process.close(timeout);
        }
    }
}

/// What the reader thread saw.
#[derive(Debug)]
enum Output {
    /// A line, with its newline if it had one.
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE`]; nothing more is read.
    TooLong,
    /// The end of the output.
    End,
    /// A read error; nothing more is read.
    Failed(String),
}

/// A request line: the Battlesnake request body with its `type`.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    request: &'a MoveRequest,
}

/// A running process and its two pipe threads.
#[derive(Debug)]
struct Process {
    child: Child,
    meta: BattlesnakeMeta,
    /// Request lines to the writer thread; `None` once the input is closed.
    requests: Option<SyncSender<Vec<u8>>>,
    /// Reply lines from the reader thread.
    replies: Receiver<Output>,
}

impl Process {
    fn spawn(
        command: &ExecCommand,
        stderr: Stderr,
        meta: BattlesnakeMeta,
    ) -> Result<Self, ExecError> {
        let failed = |reason: String| ExecError::Spawn {
            command: command.to_string(),
            reason,
        };
        let mut child = Command::new(command.program())
            .args(command.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(match stderr {
                Stderr::Inherit => Stdio::inherit(),
                Stderr::Discard => Stdio::null(),
            })
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        let pipes = (child.stdin.take(), child.stdout.take());
        // A few requests may wait for the writer (a game's first two lines are sent at once;
        // a full channel means the process stopped reading), and a few replies for the agent
        // (a process writing more than it is asked for then blocks on its own pipe).
        let (requests, to_write) = sync_channel(4);
        let (lines, replies) = sync_channel(4);
        // From here on, dropping `process` kills the child.
        let process = Self {
            child,
            meta,
            requests: Some(requests),
            replies,
        };
        let (Some(stdin), Some(stdout)) = pipes else {
            return Err(failed("no pipes to the process".into()));
        };
        thread::Builder::new()
            .name("exec-agent-in".into())
            .spawn(move || write_lines(stdin, to_write))
            .map_err(|e| failed(e.to_string()))?;
        thread::Builder::new()
            .name("exec-agent-out".into())
            .spawn(move || read_lines(stdout, lines))
            .map_err(|e| failed(e.to_string()))?;
        Ok(process)
    }

    /// Queues a request line of this `kind` for `player`.
    fn send(
        &mut self,
        kind: &'static str,
        game: &SnakeGame,
        player: usize,
        timeout: Duration,
    ) -> Result<(), ExecError> {
        let request = battlesnake::export(game, &self.meta, player)
            .map_err(|e| ExecError::Request(e.to_string()))?;
        let mut line = serde_json::to_vec(&Message {
            kind,
            request: &request,
        })
        .map_err(|e| ExecError::Request(e.to_string()))?;
        line.push(b'\n');
        let Some(requests) = &self.requests else {
            return Err(ExecError::Exited("its input is closed".into()));
        };
        match requests.try_send(line) {
            Ok(()) => Ok(()),
            // The previous request is still unwritten: the process is not reading.
            Err(TrySendError::Full(_)) => Err(ExecError::Timeout(timeout)),
            // The writer stopped: the process closed its input.
            Err(TrySendError::Disconnected(_)) => {
                Err(self.exit_status(Instant::now().checked_add(timeout)))
            }
        }
    }

    /// Asks for `player`'s move and waits at most `timeout` for the reply line.
    fn ask(
        &mut self,
        game: &SnakeGame,
        player: usize,
        timeout: Duration,
    ) -> Result<Direction, ExecError> {
        let deadline = Instant::now().checked_add(timeout);
        self.send("move", game, player, timeout)?;
        match self.replies.recv_timeout(timeout) {
            Ok(Output::Line(line)) => parse_move_reply(&line).map_err(|bad| match bad {
                BadReply::Malformed(reason) => ExecError::Malformed {
                    line: excerpt(line.trim_ascii_end()),
                    reason,
                },
                BadReply::UnknownMove(name) => ExecError::UnknownMove(name),
            }),
            Ok(Output::TooLong) => Err(ExecError::LineTooLong(MAX_LINE)),
            Ok(Output::Failed(reason)) => Err(ExecError::Io(reason)),
            Ok(Output::End) | Err(RecvTimeoutError::Disconnected) => {
                Err(self.exit_status(deadline))
            }
            Err(RecvTimeoutError::Timeout) => Err(ExecError::Timeout(timeout)),
        }
    }

    /// Why the process's output ended: its exit status, waited for until `until` at most.
    fn exit_status(&mut self, until: Option<Instant>) -> ExecError {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return ExecError::Exited(status.to_string()),
                Ok(None) if until.is_some_and(|t| Instant::now() < t) => {
                    thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => return ExecError::Exited("still running".into()),
                Err(e) => return ExecError::Exited(e.to_string()),
            }
        }
    }

    /// Closes the input and waits at most `timeout` for the output to end; the rest of the
    /// output is discarded.
    fn close(&mut self, timeout: Duration) {
        self.requests = None;
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            return;
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(Output::Line(_)) => {}
                Ok(_) | Err(_) => return,
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Both fail only when the process is already gone and reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The writer thread: request lines to the process until either side closes.
fn write_lines(mut stdin: ChildStdin, requests: Receiver<Vec<u8>>) {
    for line in requests {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

/// The reader thread: the process's output, line by line, until it ends, a line is too long,
/// or the agent is gone.
fn read_lines(stdout: ChildStdout, lines: SyncSender<Output>) {
    let mut reader = BufReader::new(stdout);
    let limit = u64::try_from(MAX_LINE)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    loop {
        let mut line = Vec::new();
        let output = match (&mut reader).take(limit).read_until(b'\n', &mut line) {
            Ok(0) => Output::End,
            Ok(_) if line.last() != Some(&b'\n') && line.len() > MAX_LINE => Output::TooLong,
            Ok(_) => Output::Line(line),
            Err(e) => Output::Failed(e.to_string()),
        };
        let last = !matches!(output, Output::Line(_));
        if lines.send(output).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_by_shell_rules_and_print_back() {
        let command = ExecCommand::parse(r#"python3 "my bot.py" --depth 3 'a b'"#).unwrap();
        assert_eq!(command.program(), "python3");
        assert_eq!(command.args(), ["my bot.py", "--depth", "3", "a b"]);
        assert_eq!(ExecCommand::parse(&command.to_string()), Some(command));
        assert_eq!(
            ExecCommand::new("./bot", ["x"]),
            ExecCommand::parse("./bot x").unwrap()
        );
        for bad in ["", "   ", "'unterminated", "a\0b"] {
            assert_eq!(ExecCommand::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn request_lines_are_the_battlesnake_body_with_a_type() {
        let game = nets_envs::log::EnvSpec::Snake(nets_envs::snake::SnakeParams::default())
            .start([7; 32])
            .unwrap();
        let meta = BattlesnakeMeta::for_game(&game, "g");
        let request = battlesnake::export(&game, &meta, 1).unwrap();
        let line = serde_json::to_string(&Message {
            kind: "move",
            request: &request,
        })
        .unwrap();
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["type"], "move");
        assert_eq!(value["you"]["id"], "snake-1");
        assert_eq!(value["game"]["id"], "g");
        let back: MoveRequest = serde_json::from_value(value).unwrap();
        assert_eq!(back, request);
    }
}
