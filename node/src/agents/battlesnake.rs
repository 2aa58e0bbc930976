//! The Battlesnake adapter: a player that asks an existing Battlesnake server for its moves
//! (`battlesnake:URL`; see `docs/agents.md`).
//!
//! It speaks the official Battlesnake API: `POST /start` before its first move of a game,
//! `POST /move` for every turn its snake is alive, `POST /end` when the game is over, each with
//! the request body Battlesnake's engine sends (game, turn, board, you), built by
//! [`battlesnake::export`]. Only the `/move` reply matters: `{"move": "up"}` (other members,
//! such as `shout`, are ignored); replies to `/start` and `/end` and their failures are
//! ignored, as Battlesnake's engine does. Every request has the move timeout as its
//! end-to-end limit.
//!
//! A server that cannot be reached, answers late, with an HTTP error, or with anything but a
//! move makes [`Player::choose`] return a [`BattlesnakeError`] (a forfeit in
//! [`play_game`](crate::agents::play_game)). Requests are blocking: call the agent from a
//! thread that may block (it holds it for at most the timeout per request). Proxies from the
//! environment are not used.

use std::time::Duration;

use nets_envs::snake::battlesnake::{self, BattlesnakeMeta};
use nets_envs::snake::{Direction, SnakeGame};

use crate::agents::{AgentError, Player};

/// How long a request may take by default: Battlesnake's default timeout.
pub const DEFAULT_MOVE_TIMEOUT: Duration = Duration::from_millis(500);

/// The largest reply body read, in bytes.
pub const MAX_REPLY: u64 = 64 * 1024;

/// How a [`BattlesnakeAgent`] talks to its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BattlesnakeConfig {
    /// The end-to-end limit of each request (connecting, sending, reading the reply); also
    /// sent to the server as `game.timeout`.
    pub move_timeout: Duration,
}

impl Default for BattlesnakeConfig {
    fn default() -> Self {
        Self {
            move_timeout: DEFAULT_MOVE_TIMEOUT,
        }
    }
}

/// Why a Battlesnake server gave no move.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BattlesnakeError {
    /// No connection to the server (refused, unknown host, unreachable).
    #[error("cannot reach the Battlesnake server at {url}: {reason}")]
    Connect {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// No complete reply within the time limit.
    #[error("the Battlesnake server gave no move within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// `/move` answered with an HTTP status other than success.
    #[error("the Battlesnake server answered /move with HTTP status {0}")]
    Status(u16),
    /// A `/move` reply body that is not a move reply.
    #[error("the Battlesnake server's /move reply {body:?} is not a move reply: {reason}")]
    BadReply {
        /// The body (its start, for a long one).
        body: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A move reply naming no move.
    #[error(
        "the Battlesnake server answered the unknown move {0:?} (moves: up, down, left, right)"
    )]
    UnknownMove(String),
    /// Any other failure of the request (a bad URL, an HTTP protocol error).
    #[error("the request to the Battlesnake server failed: {0}")]
    Request(String),
}

/// A player backed by a Battlesnake server (see the [module docs](self)).
#[derive(Debug)]
pub struct BattlesnakeAgent {
    name: String,
    base: String,
    game_id: String,
    config: BattlesnakeConfig,
    http: ureq::Agent,
    /// The game in progress, once `/start` is sent.
    meta: Option<BattlesnakeMeta>,
    /// The failure in this game, repeated for every later move of it.
    failed: Option<BattlesnakeError>,
}

impl BattlesnakeAgent {
    /// An agent playing the server at `base_url` (see [`base_url`]) in games with this id
    /// (the `game.id` of its requests; distinct games in progress at once should have distinct
    /// ids, and none may reveal a secret match seed, from which food can be predicted). A bad
    /// URL shows at the first move, as [`BattlesnakeError::Request`].
    pub fn new(
        base_url: impl Into<String>,
        game_id: impl Into<String>,
        config: BattlesnakeConfig,
    ) -> Self {
        let base = base_url.into();
        let base = base.trim_end_matches('/').to_owned();
        let http = ureq::Agent::config_builder()
            .timeout_global(Some(config.move_timeout))
            .proxy(None)
            .user_agent(concat!("netsd/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            name: format!("battlesnake:{base}"),
            base,
            game_id: game_id.into(),
            config,
            http,
            meta: None,
            failed: None,
        }
    }

    /// POSTs the request for `player` to `path`; the reply body on success.
    fn post(
        &self,
        path: &str,
        game: &SnakeGame,
        player: usize,
        meta: &BattlesnakeMeta,
    ) -> Result<Vec<u8>, BattlesnakeError> {
        let request = battlesnake::export(game, meta, player)
            .map_err(|e| BattlesnakeError::Request(e.to_string()))?;
        let body =
            serde_json::to_vec(&request).map_err(|e| BattlesnakeError::Request(e.to_string()))?;
        let url = format!("{}{path}", self.base);
        let fail = |e: ureq::Error| self.error(&url, e);
        let mut response = self
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .send(&body[..])
            .map_err(fail)?;
        response
            .body_mut()
            .with_config()
            .limit(MAX_REPLY)
            .read_to_vec()
            .map_err(fail)
    }

    fn error(&self, url: &str, error: ureq::Error) -> BattlesnakeError {
        let connect = |reason: String| BattlesnakeError::Connect {
            url: url.to_owned(),
            reason,
        };
        match error {
            ureq::Error::StatusCode(status) => BattlesnakeError::Status(status),
            ureq::Error::Timeout(_) => BattlesnakeError::Timeout(self.config.move_timeout),
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                BattlesnakeError::Timeout(self.config.move_timeout)
            }
            ureq::Error::Io(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::HostUnreachable
                        | std::io::ErrorKind::NetworkUnreachable
                        | std::io::ErrorKind::AddrNotAvailable
                ) =>
            {
                connect(e.to_string())
            }
            e @ (ureq::Error::HostNotFound | ureq::Error::ConnectionFailed) => {
                connect(e.to_string())
            }
            ureq::Error::BodyExceedsLimit(limit) => BattlesnakeError::BadReply {
                body: String::new(),
                reason: format!("longer than {limit} bytes"),
            },
            e => BattlesnakeError::Request(e.to_string()),
        }
    }

    fn play(&mut self, game: &SnakeGame, player: usize) -> Result<Direction, BattlesnakeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let meta = match self.meta.take() {
            Some(meta) => meta,
            None => {
                let mut meta = BattlesnakeMeta::for_game(game, &self.game_id);
                meta.game.timeout =
                    i64::try_from(self.config.move_timeout.as_millis()).unwrap_or(i64::MAX);
                // Battlesnake's engine ignores what /start answers, and whether it does.
                let _ = self.post("/start", game, player, &meta);
                meta
            }
        };
        let reply = self.post("/move", game, player, &meta);
        self.meta = Some(meta);
        let reply = reply?;
        parse_move_reply(&reply).map_err(|bad| match bad {
            BadReply::Malformed(reason) => BattlesnakeError::BadReply {
                body: excerpt(reply.trim_ascii()),
                reason,
            },
            BadReply::UnknownMove(name) => BattlesnakeError::UnknownMove(name),
        })
    }
}

impl Player for BattlesnakeAgent {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Result<Direction, AgentError> {
        self.play(game, player).map_err(|error| {
            self.failed = Some(error.clone());
            AgentError::Battlesnake(error)
        })
    }

    fn game_over(&mut self, game: &SnakeGame, player: usize) {
        self.failed = None;
        if let Some(meta) = self.meta.take() {
            // Ignored, as Battlesnake's engine does.
            let _ = self.post("/end", game, player, &meta);
        }
    }
}

/// The base URL of a `battlesnake:URL` spec: `http://` or `https://` with a host, without
/// trailing `/`; `None` for anything else.
pub fn base_url(text: &str) -> Option<String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(text.trim_end_matches('/').to_owned())
}

/// Why a move reply is not one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadReply {
    /// Not a JSON object with a string `move`.
    Malformed(String),
    /// A `move` naming no move.
    UnknownMove(String),
}

/// Parses a move reply: a JSON object with `"move": "up"|"down"|"left"|"right"` (lower case,
/// as Battlesnake names them), other members ignored, white space around it allowed.
pub(crate) fn parse_move_reply(body: &[u8]) -> Result<Direction, BadReply> {
    let reply: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| BadReply::Malformed(e.to_string()))?;
    let name = match reply.get("move") {
        Some(serde_json::Value::String(name)) => name,
        Some(_) => return Err(BadReply::Malformed("`move` is not a string".into())),
        None => return Err(BadReply::Malformed("no `move` member".into())),
    };
    Direction::from_name(name).ok_or_else(|| BadReply::UnknownMove(excerpt(name.as_bytes())))
}

/// At most the first 200 bytes of `bytes`, as text, for an error message.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    match bytes.get(..MAX) {
        Some(start) if bytes.len() > MAX => format!("{}…", String::from_utf8_lossy(start)),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_replies() {
        assert_eq!(parse_move_reply(br#"{"move":"up"}"#), Ok(Direction::Up));
        assert_eq!(
            parse_move_reply(b" {\"shout\": \"hi\", \"move\": \"left\"}\r\n"),
            Ok(Direction::Left)
        );
        assert_eq!(
            parse_move_reply(br#"{"move":"UP"}"#),
            Err(BadReply::UnknownMove("UP".into()))
        );
        for bad in [
            &b""[..],
            b"up",
            b"{}",
            br#"{"move":1}"#,
            b"\xff",
            br#"["up"]"#,
        ] {
            assert!(
                matches!(parse_move_reply(bad), Err(BadReply::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            base_url("http://127.0.0.1:8000/").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            base_url("https://example.com/snake").as_deref(),
            Some("https://example.com/snake")
        );
        for bad in [
            "",
            "127.0.0.1:8000",
            "ftp://x",
            "http://",
            "http:///x",
            "http://a b",
        ] {
            assert_eq!(base_url(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn excerpts_are_bounded() {
        assert_eq!(excerpt(b"abc"), "abc");
        let long = excerpt(&[b'x'; 1000]);
        assert_eq!(long.chars().count(), 201);
    }
}
