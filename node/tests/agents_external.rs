//! Agents played by another program: `exec:` processes (a Python test bot in
//! `tests/fixtures/exec_bot.py`) and `battlesnake:` servers (a small HTTP server in this file).
//! Both play whole games that replay to the same state, and every way of misbehaving ends the
//! game as a forfeit by that player, on the turn it happened, with the matching error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nets_envs::agents::{Agent, BuiltIn};
use nets_envs::log::{ActionLog, EnvSpec, replay_with};
use nets_envs::snake::battlesnake::{self, MoveRequest};
use nets_envs::snake::{Direction, SnakeParams};
use nets_envs::transcript::Transcript;
use nets_node::agents::battlesnake::{BattlesnakeAgent, BattlesnakeConfig, BattlesnakeError};
use nets_node::agents::exec::{ExecAgent, ExecCommand, ExecConfig, ExecError, MAX_LINE, Stderr};
use nets_node::agents::{AgentError, AgentSpec, GameEnd, PlayedGame, Player, play_game};
use serde_json::Value;

/// A limit no healthy bot comes near, however loaded the machine.
const GENEROUS: Duration = Duration::from_secs(20);
/// The limit for the cases that must time out.
const SHORT: Duration = Duration::from_millis(300);

fn spec(max_turns: u32) -> EnvSpec {
    EnvSpec::Snake(SnakeParams {
        max_turns,
        ..SnakeParams::default()
    })
}

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

/// Plays a duel of `a` against `b` with the given seed.
fn duel(a: Box<dyn Player + Send>, b: Box<dyn Player + Send>, max_turns: u32, n: u8) -> PlayedGame {
    let spec = spec(max_turns);
    let game = spec.start(seed(n)).unwrap();
    let mut players = vec![a, b];
    let played = play_game(game, &mut players, ActionLog::new(spec, seed(n)), |_| {}).unwrap();
    drop(players);
    played
}

fn greedy() -> Box<dyn Player + Send> {
    Box::new(BuiltIn::Greedy.build(seed(0)))
}

/// The moves `player` made, turn by turn, while alive, read from the log by replaying it;
/// checks that the replay ends in the played state.
fn moves_of(played: &PlayedGame, player: usize) -> Vec<(u32, Direction)> {
    let mut moves = Vec::new();
    let replayed = replay_with(&played.log, |state, actions| {
        if state.snakes()[player].is_alive() {
            moves.push((state.turn(), actions[player]));
        }
    })
    .unwrap();
    assert_eq!(replayed, played.game, "the log replays to the played game");
    moves
}

// ---------------------------------------------------------------------------------------------
// exec:

fn bot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exec_bot.py")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nets-agents-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// The test bot in `mode`, recording to `record`.
fn bot(mode: &str, record: &Path, config: ExecConfig) -> Box<dyn Player + Send> {
    let command = ExecCommand::new(
        "python3",
        [bot_path().to_str().unwrap(), mode, record.to_str().unwrap()],
    );
    Box::new(ExecAgent::new(command, "test-game", config))
}

fn exec_config(move_timeout: Duration) -> ExecConfig {
    ExecConfig {
        move_timeout,
        first_move_timeout: GENEROUS,
        stderr: Stderr::Discard,
    }
}

/// The bot's record: its pid and its other lines.
fn read_record(path: &Path) -> (u32, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(str::to_owned);
    let pid = lines.next().unwrap();
    let pid = pid.strip_prefix("pid ").unwrap().parse().unwrap();
    (pid, lines.collect())
}

/// Whether process `pid` is gone (killed and reaped).
fn gone(pid: u32) -> bool {
    !PathBuf::from(format!("/proc/{pid}")).exists() || !cfg!(target_os = "linux")
}

#[test]
fn an_exec_bot_plays_a_whole_game_and_hears_start_moves_and_end() {
    let record = temp("whole-game.txt");
    let played = duel(
        bot("legal", &record, exec_config(GENEROUS)),
        greedy(),
        80,
        3,
    );
    assert!(matches!(played.end, GameEnd::Finished(_)), "{}", played.end);
    let (pid, lines) = read_record(&record);
    let moves = moves_of(&played, 0);
    assert!(moves.len() >= 3, "{moves:?}");
    let mut expected = vec!["start 0".to_owned()];
    expected.extend(
        moves
            .iter()
            .map(|(turn, d)| format!("move {turn} {}", d.name())),
    );
    expected.push(format!("end {}", played.game.turn()));
    assert_eq!(
        lines, expected,
        "what the bot was asked and answered is what was played"
    );
    assert!(gone(pid), "the process ended");
    // The transcript of the game verifies, as any node would check it.
    let names = vec!["exec".to_owned(), "greedy".to_owned()];
    let transcript = Transcript::from_log(&played.log, names).unwrap();
    assert_eq!(
        Transcript::from_json(&transcript.to_json())
            .unwrap()
            .verify()
            .unwrap(),
        played.game
    );
}

#[test]
fn an_exec_agent_plays_one_process_per_game_when_reused() {
    let record = temp("reused.txt");
    let spec = spec(4);
    let mut players = vec![bot("legal", &record, exec_config(GENEROUS)), greedy()];
    for n in [5, 6] {
        let game = spec.start(seed(n)).unwrap();
        let played = play_game(
            game,
            &mut players,
            ActionLog::new(spec.clone(), seed(n)),
            |_| {},
        )
        .unwrap();
        assert!(matches!(played.end, GameEnd::Finished(_)), "{}", played.end);
    }
    drop(players);
    let text = std::fs::read_to_string(&record).unwrap();
    let starts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("pid ") || l.starts_with("start") || l.starts_with("end"))
        .collect();
    assert_eq!(starts.len(), 6, "{text}");
    assert_ne!(
        starts[0], starts[3],
        "a new process for the second game: {text}"
    );
    assert_eq!(&starts[1..3], ["start 0", "end 4"]);
    assert_eq!(&starts[4..6], ["start 0", "end 4"]);
}

/// Plays the bot in `mode` as player 1 against greedy; asserts a forfeit by player 1 on
/// `turn` and returns its error and the bot's pid.
fn forfeit_of(mode: &str, move_timeout: Duration, turn: u32) -> (ExecError, u32) {
    let record = temp(&format!("{mode}.txt"));
    let played = duel(
        greedy(),
        bot(mode, &record, exec_config(move_timeout)),
        50,
        4,
    );
    let GameEnd::Forfeit {
        player,
        turn: at,
        error: AgentError::Exec(error),
    } = played.end.clone()
    else {
        panic!("not an exec forfeit: {}", played.end);
    };
    assert_eq!((player, at), (1, turn), "{error}");
    assert_eq!(played.end.winner(2), Some(0));
    assert_eq!(played.game.turn(), turn);
    assert_eq!(played.log.replay().unwrap(), played.game);
    let (pid, _) = read_record(&record);
    assert!(gone(pid), "the process was killed");
    (error, pid)
}

#[test]
fn an_exec_bot_that_sleeps_times_out() {
    let (error, _) = forfeit_of("sleep", SHORT, 2);
    assert_eq!(error, ExecError::Timeout(SHORT));
}

#[test]
fn an_exec_bot_that_never_answers_times_out_on_its_first_move() {
    let record = temp("silent.txt");
    let config = ExecConfig {
        move_timeout: SHORT,
        first_move_timeout: SHORT,
        stderr: Stderr::Discard,
    };
    let played = duel(bot("silent", &record, config), greedy(), 50, 4);
    assert_eq!(
        played.end,
        GameEnd::Forfeit {
            player: 0,
            turn: 0,
            error: AgentError::Exec(ExecError::Timeout(SHORT)),
        }
    );
}

#[test]
fn an_exec_bot_that_writes_garbage_is_malformed() {
    let (error, _) = forfeit_of("garbage", GENEROUS, 2);
    let ExecError::Malformed { line, reason } = &error else {
        panic!("{error}");
    };
    assert_eq!(line, "hello there");
    assert!(!reason.is_empty());
}

#[test]
fn an_exec_bot_that_names_no_move_answers_an_unknown_move() {
    let (error, _) = forfeit_of("unknown", GENEROUS, 2);
    assert_eq!(error, ExecError::UnknownMove("north".into()));
}

#[test]
fn an_exec_bot_that_exits_has_exited_with_its_status() {
    let (error, _) = forfeit_of("exit", GENEROUS, 2);
    assert_eq!(error, ExecError::Exited("exit status: 3".into()));
    assert!(error.to_string().contains("exit status: 3"), "{error}");
}

#[test]
fn an_exec_bot_that_writes_an_endless_line_is_cut_off() {
    let (error, _) = forfeit_of("long", GENEROUS, 2);
    assert_eq!(error, ExecError::LineTooLong(MAX_LINE));
}

#[test]
fn a_program_that_does_not_exist_cannot_start() {
    let command = ExecCommand::new("./no-such-program-here", ["x"]);
    let agent = Box::new(ExecAgent::new(command, "g", exec_config(SHORT)));
    let played = duel(greedy(), agent, 50, 4);
    let GameEnd::Forfeit {
        player: 1,
        turn: 0,
        error: AgentError::Exec(ExecError::Spawn { command, reason }),
    } = &played.end
    else {
        panic!("{}", played.end);
    };
    assert_eq!(command, "./no-such-program-here x");
    assert!(!reason.is_empty());
}

// ---------------------------------------------------------------------------------------------
// battlesnake:

/// What the test server does with a `/move`.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Plays greedy's move.
    Play,
    /// From turn 2: answers with this HTTP status.
    Status(u16),
    /// From turn 2: answers 200 with a body that is not JSON.
    Garbage,
    /// From turn 2: answers the move "north".
    Unknown,
    /// From turn 2: answers after 5 s.
    Slow,
}

/// A request the server received: its path and body.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A minimal HTTP/1.1 Battlesnake server on a free local port. It records every request, and
/// every move it answers as a `("answer", {"turn": T, "move": M})` entry.
fn serve(behaviour: Behaviour) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let log = Arc::clone(&log);
            std::thread::spawn(move || connection(stream, behaviour, &log));
        }
    });
    (url, seen)
}

/// Serves requests on one connection until it closes.
fn connection(stream: TcpStream, behaviour: Behaviour, seen: &Mutex<Vec<(String, Value)>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, reply) = answer(&path, &body, behaviour, seen);
        seen.lock().unwrap().push((path, body));
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(reply.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

fn answer(
    path: &str,
    body: &Value,
    behaviour: Behaviour,
    seen: &Mutex<Vec<(String, Value)>>,
) -> (u16, String) {
    if path != "/move" {
        return (200, String::new());
    }
    let request: MoveRequest = serde_json::from_value(body.clone()).unwrap();
    let turn = request.turn;
    let misbehave = turn >= 2;
    match behaviour {
        Behaviour::Status(status) if misbehave => return (status, "{}".into()),
        Behaviour::Garbage if misbehave => return (200, "<html>hello</html>".into()),
        Behaviour::Unknown if misbehave => return (200, r#"{"move":"north"}"#.into()),
        Behaviour::Slow if misbehave => std::thread::sleep(Duration::from_secs(5)),
        _ => {}
    }
    let (game, meta) = battlesnake::import(&request, seed(9)).unwrap();
    let you = meta.you_index();
    let direction = Agent::choose(&mut *BuiltIn::Greedy.build(seed(9)), &game, you);
    seen.lock().unwrap().push((
        "answer".into(),
        serde_json::json!({"turn": turn, "move": direction.name()}),
    ));
    (
        200,
        format!(r#"{{"move":"{}","shout":"hi"}}"#, direction.name()),
    )
}

fn snake_config(move_timeout: Duration) -> BattlesnakeConfig {
    BattlesnakeConfig { move_timeout }
}

#[test]
fn a_battlesnake_server_plays_a_whole_game_through_start_move_and_end() {
    let (url, seen) = serve(Behaviour::Play);
    let agent = Box::new(BattlesnakeAgent::new(
        format!("{url}/"),
        "game-7",
        snake_config(GENEROUS),
    ));
    assert_eq!(agent.name(), format!("battlesnake:{url}"));
    let played = duel(greedy(), agent, 80, 7);
    assert!(matches!(played.end, GameEnd::Finished(_)), "{}", played.end);
    let moves = moves_of(&played, 1);
    assert!(moves.len() >= 3, "{moves:?}");

    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| *p != "answer")
        .collect();
    let mut expected = vec!["/start"];
    expected.extend(moves.iter().map(|_| "/move"));
    expected.push("/end");
    assert_eq!(paths, expected);
    // Every body is a Battlesnake request for snake 1 of this game; those of /start and /move
    // are valid states (at /end, a snake that lost is no longer on the board).
    for (path, body) in seen.iter().filter(|(p, _)| p != "answer") {
        let request: MoveRequest = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(request.you.id, "snake-1", "{path}");
        assert_eq!(request.game.id, "game-7");
        assert_eq!(request.game.timeout, 20_000);
        if path != "/end" {
            let (_, meta) = battlesnake::import(&request, seed(0)).unwrap();
            assert_eq!(meta.you_index(), 1);
        }
    }
    let turns = |path: &str| -> Vec<i64> {
        seen.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b["turn"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(turns("/start"), [0]);
    assert_eq!(turns("/end"), [i64::from(played.game.turn())]);
    // The moves the server answered are the moves played.
    let answered: Vec<(u32, Direction)> = seen
        .iter()
        .filter(|(p, _)| p == "answer")
        .map(|(_, b)| {
            let turn = u32::try_from(b["turn"].as_i64().unwrap()).unwrap();
            (
                turn,
                Direction::from_name(b["move"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(answered, moves);
}

/// Plays the server at `url` as player 0 against greedy; asserts a forfeit by player 0 on
/// `turn`, and returns the error.
fn snake_forfeit(url: &str, move_timeout: Duration, turn: u32) -> BattlesnakeError {
    let agent = Box::new(BattlesnakeAgent::new(url, "g", snake_config(move_timeout)));
    let played = duel(agent, greedy(), 50, 8);
    let GameEnd::Forfeit {
        player,
        turn: at,
        error: AgentError::Battlesnake(error),
    } = played.end.clone()
    else {
        panic!("not a battlesnake forfeit: {}", played.end);
    };
    assert_eq!((player, at), (0, turn), "{error}");
    assert_eq!(played.log.replay().unwrap(), played.game);
    assert_eq!(played.end.winner(2), Some(1));
    error
}

/// Whether the server was told the game ended.
fn ended(seen: &Seen) -> bool {
    seen.lock().unwrap().iter().any(|(path, _)| path == "/end")
}

#[test]
fn a_battlesnake_server_error_status_forfeits() {
    let (url, seen) = serve(Behaviour::Status(500));
    let error = snake_forfeit(&url, GENEROUS, 2);
    assert!(ended(&seen), "/end follows a forfeit");
    assert_eq!(error, BattlesnakeError::Status(500));
}

#[test]
fn a_battlesnake_server_garbage_reply_forfeits() {
    let (url, seen) = serve(Behaviour::Garbage);
    let error = snake_forfeit(&url, GENEROUS, 2);
    assert!(ended(&seen), "/end follows a forfeit");
    let BattlesnakeError::BadReply { body, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(body, "<html>hello</html>");
}

#[test]
fn a_battlesnake_server_unknown_move_forfeits() {
    let (url, seen) = serve(Behaviour::Unknown);
    let error = snake_forfeit(&url, GENEROUS, 2);
    assert!(ended(&seen), "/end follows a forfeit");
    assert_eq!(error, BattlesnakeError::UnknownMove("north".into()));
}

#[test]
fn a_slow_battlesnake_server_times_out() {
    let (url, seen) = serve(Behaviour::Slow);
    // Time for the first moves, which must succeed; turn 2 takes 5 s.
    let limit = Duration::from_millis(2000);
    let error = snake_forfeit(&url, limit, 2);
    assert!(ended(&seen), "/end follows a forfeit");
    assert_eq!(error, BattlesnakeError::Timeout(limit));
}

#[test]
fn an_unreachable_battlesnake_server_forfeits_at_once() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let error = snake_forfeit(&url, GENEROUS, 0);
    assert!(
        matches!(&error, BattlesnakeError::Connect { url: u, .. } if u == &format!("{url}/move")),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The command line.

#[test]
fn netsd_plays_exec_and_battlesnake_agents_and_verifies_the_transcript() {
    let (url, _) = serve(Behaviour::Play);
    let out_path = temp("cli.json");
    let exec = format!("exec:python3 {} legal", bot_path().display());
    let snake = format!("battlesnake:{url}");
    let output = Command::new(env!("CARGO_BIN_EXE_netsd"))
        .args([
            "play",
            "--seed",
            "12",
            "--max-turns",
            "40",
            "--move-timeout-ms",
            "20000",
        ])
        .args(["-a", &exec, &snake, "-o", out_path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("A = player 0 ({exec})")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("B = player 1 ({snake})")),
        "{stdout}"
    );
    assert!(stdout.contains("verified by replay"), "{stdout}");
    assert!(!stdout.contains("forfeit"), "{stdout}");
}

#[test]
fn agent_specs_for_programs_and_servers() {
    let spec: AgentSpec = "exec:python3 'my bot.py' --fast".parse().unwrap();
    assert_eq!(
        spec,
        AgentSpec::Exec(ExecCommand::new("python3", ["my bot.py", "--fast"]))
    );
    assert_eq!(spec.to_string().parse::<AgentSpec>(), Ok(spec));
    let spec: AgentSpec = "battlesnake:http://127.0.0.1:8000/".parse().unwrap();
    assert_eq!(spec, AgentSpec::Battlesnake("http://127.0.0.1:8000".into()));
    assert_eq!(spec.to_string(), "battlesnake:http://127.0.0.1:8000");
    for bad in [
        "exec:",
        "exec:'open",
        "battlesnake:",
        "battlesnake:localhost:8000",
    ] {
        assert!(bad.parse::<AgentSpec>().is_err(), "{bad}");
    }
}
