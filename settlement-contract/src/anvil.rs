//! Anvil, the development chain the JSON-RPC tests run against: where its binary is (npm's
//! `@foundry-rs/anvil`, pinned in `package-lock.json` and installed by
//! `scripts/setup-contract`) and a handle that runs one on a free local port.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;

/// The environment variable that overrides where the anvil binary is.
pub const ANVIL_ENV: &str = "NETS_ANVIL";

/// How long a starting anvil may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The anvil binary: `$NETS_ANVIL` if set, otherwise the one npm installed in this crate's
/// `node_modules` for this platform. Fails with a message naming `scripts/setup-contract` if
/// it is not there.
pub fn anvil_binary() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os(ANVIL_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::Anvil(format!(
                "{ANVIL_ENV}={} is not a file",
                path.display()
            )))
        };
    }
    let platform = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-amd64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-amd64",
        ("macos", "aarch64") => "darwin-arm64",
        ("windows", "x86_64") => "win32-amd64",
        (os, arch) => {
            return Err(Error::Anvil(format!(
                "npm has no anvil build for {os}/{arch}; set {ANVIL_ENV} to an anvil binary"
            )));
        }
    };
    let exe = if cfg!(windows) { "anvil.exe" } else { "anvil" };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("node_modules/@foundry-rs")
        .join(format!("anvil-{platform}"))
        .join("bin")
        .join(exe);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Anvil(format!(
            "anvil is not installed ({} is missing): run scripts/setup-contract",
            path.display()
        )))
    }
}

/// A running anvil on 127.0.0.1, killed when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
    chain_id: u64,
}

impl Anvil {
    /// Starts anvil with `chain_id` on a free port, following the Cancun rules (the EVM
    /// version the contract is compiled for and the embedded chain runs), and waits until it
    /// accepts connections.
    pub fn spawn(chain_id: u64) -> Result<Self, Error> {
        let mut last = String::new();
        // The free port is found by binding port 0 and letting go; another process may take
        // it in between, hence a few attempts.
        for _ in 0..3 {
            match Self::spawn_on(chain_id, free_port()?) {
                Ok(anvil) => return Ok(anvil),
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::Anvil(format!("did not start: {last}")))
    }

    /// Starts anvil with `chain_id` on `port` (one a node was told about before the chain
    /// was up), and waits until it accepts connections.
    pub fn spawn_on(chain_id: u64, port: u16) -> Result<Self, Error> {
        let binary = anvil_binary()?;
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", &chain_id.to_string()])
            .args(["--hardfork", "cancun", "--accounts", "1", "--silent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Anvil(format!("cannot start {}: {e}", binary.display())))?;
        let mut anvil = Self {
            child,
            port,
            chain_id,
        };
        anvil.wait_ready()?;
        Ok(anvil)
    }

    /// The JSON-RPC endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The chain id it serves.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Anvil(format!("exited at start with {status}")));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(Error::Anvil(format!(
            "not listening on port {} after {START_TIMEOUT:?}",
            self.port
        )))
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local TCP port that was free a moment ago.
pub fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::Anvil(format!("no free local port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::Anvil(format!("no free local port: {e}")))
}
