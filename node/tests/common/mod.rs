//! What the node's tests share: a schedule that starts soon, `netsd` data dirs and
//! processes, the node's HTTP API, and real outcome records played by greedy agents.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const NETSD: &str = env!("CARGO_BIN_EXE_netsd");

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub(crate) struct Schedule {
    pub(crate) genesis_ms: u64,
    pub(crate) epoch_ms: u64,
    pub(crate) grace_ms: u64,
}

impl Schedule {
    pub(crate) fn close_of(&self, epoch: u64) -> u64 {
        self.genesis_ms + (epoch + 1) * self.epoch_ms
    }
    pub(crate) fn toml(&self) -> String {
        format!(
            "[schedule]\ngenesis_ms = {}\nepoch_ms = {}\nround_ms = 2500\nwarmup_ms = 1000\n\
             last_round_ms = 3500\ngrace_ms = {}\nstep_timeout_ms = 2000\nanswer_timeout_ms = 2000\n",
            self.genesis_ms, self.epoch_ms, self.grace_ms
        )
    }
}

pub(crate) struct Node {
    pub(crate) dir: PathBuf,
    pub(crate) child: Option<Child>,
    pub(crate) api: String,
    pub(crate) listen: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `netsd` with `args` and returns its standard output; fails the test with its
/// standard error if it does not succeed.
pub(crate) fn netsd_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(NETSD).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Creates a data dir whose config has `schedule`, `agent`, loopback addresses, and `extra`
/// (more TOML sections) appended.
pub(crate) fn init(dir: &Path, schedule: &Schedule, agent: &str, extra: &str) {
    netsd_ok([
        OsStr::new("init"),
        OsStr::new("--data-dir"),
        dir.as_os_str(),
    ]);
    let config = format!(
        "{}\n[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n\n[play]\nagent = {agent:?}\nmax_matches = 2\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n{extra}",
        schedule.toml()
    );
    std::fs::write(dir.join("netsd.toml"), config).unwrap();
}

pub(crate) fn spawn(dir: &Path, bootstrap: Option<&str>) -> Node {
    let _ = std::fs::remove_file(dir.join("node.json"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("netsd.log"))
        .unwrap();
    let mut cmd = Command::new(NETSD);
    cmd.args(["run", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "info,libp2p_gossipsub=error")
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(b) = bootstrap {
        cmd.args(["--bootstrap", b]);
    }
    let mut node = Node {
        dir: dir.to_path_buf(),
        child: Some(cmd.spawn().unwrap()),
        api: String::new(),
        listen: String::new(),
    };
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("node.json"))
            && let Ok(info) = serde_json::from_str::<serde_json::Value>(&text)
            && let (Some(api), Some(listen)) = (info["api"].as_str(), info["listen"][0].as_str())
        {
            node.api = format!("http://{api}");
            node.listen = listen.to_string();
            return node;
        }
        // On failure, dropping `node` kills and reaps the process.
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "node in {} did not start",
            dir.display()
        );
        sleep(Duration::from_millis(100));
    }
}

pub(crate) fn get(node: &Node, path: &str) -> String {
    let url = format!("{}{path}", node.api);
    ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap()
}

pub(crate) fn status(node: &Node) -> serde_json::Value {
    serde_json::from_str(&get(node, "/status")).unwrap()
}

pub(crate) fn wait_until(t: u64) {
    while now_ms() < t {
        sleep(Duration::from_millis(200));
    }
}

pub(crate) fn stop(node: &mut Node) {
    if let Some(mut c) = node.child.take() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let status = c.wait().unwrap();
        assert!(
            status.success(),
            "netsd in {} exited with {status}",
            node.dir.display()
        );
    }
}

/// A real outcome record: two greedy agents play `header`'s match through the match
/// protocol, with keys `ka` and `kb` and the machines' secrets `secrets`.
pub(crate) fn greedy_outcome(
    header: nets_tournament::messages::MatchHeader,
    ka: nets_tournament::identity::Keypair,
    kb: nets_tournament::identity::Keypair,
    secrets: [[u8; 32]; 2],
) -> nets_tournament::messages::OutcomeRecord {
    use nets_envs::agents::{Agent, Greedy};
    use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
    let cfg = MatchConfig::default();
    let mut m = [
        MatchMachine::new(0, header.clone(), ka, secrets[0], cfg).unwrap(),
        MatchMachine::new(0, header, kb, secrets[1], cfg).unwrap(),
    ];
    loop {
        for me in 0..2 {
            while let Some(event) = m[me].poll_event() {
                match event {
                    Event::ActionNeeded { .. } => {
                        let game = m[me].pending_game().unwrap().clone();
                        let seat = m[me].seat().index() as usize;
                        let mv = Greedy.choose(&game, seat);
                        m[me].supply_action(0, mv.code()).unwrap();
                    }
                    Event::Finished(record) => return record,
                    _ => {}
                }
            }
            while let Some(msg) = m[me].poll_transmit() {
                m[1 - me].handle_message(0, msg);
            }
        }
    }
}
