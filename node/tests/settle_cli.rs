//! `netsd settle` end to end on the embedded chain: deploy, stake and status, claims before
//! anything is finalised, and bad input (wrong chain id, unreachable endpoint, malformed
//! address or key) that must end in a clear error and a non-zero exit, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn netsd(args: &[&str]) -> Output {
    netsd_env(args, &[])
}

fn netsd_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netsd"));
    command.args(args).env_remove("NETS_ETH_KEY");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("netsd runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

/// Asserts a failed run: exit code 1, an error line naming `needle`, no panic.
fn assert_fails_with(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("netsd: error:"), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
}

/// A data dir with a node key, and a contract deployed on its embedded chain.
fn deployed(root: &Path) -> (String, String) {
    let dir = root.join("node").display().to_string();
    assert_ok(&netsd(&["init", "--data-dir", &dir]));
    let o = netsd(&["settle", "deploy", "--data-dir", &dir]);
    assert_ok(&o);
    let address = stdout(&o).trim().to_string();
    (dir, address)
}

/// A TCP port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

#[test]
fn deploy_stake_and_status_on_the_embedded_chain() {
    let root = tempfile::tempdir().unwrap();
    let (dir, address) = deployed(root.path());
    assert!(
        address.starts_with("0x") && address.len() == 42,
        "{address}"
    );
    assert!(
        root.path().join("node/chain/chain.json").exists(),
        "the chain is kept in the data dir"
    );

    let o = netsd(&["settle", "stake", "--data-dir", &dir, "--amount", "1500"]);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("active stake 1500 wei"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("bound key"), "{}", stderr(&o));
    // A second stake adds to the first and binds nothing again.
    let o = netsd(&["settle", "stake", "--data-dir", &dir, "--amount", "500"]);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("active stake 2000 wei"),
        "{}",
        stdout(&o)
    );
    assert!(!stderr(&o).contains("bound key"), "{}", stderr(&o));

    // The state survived the processes: status reads it back, with the contract given
    // explicitly or found in the chain's directory.
    let chain = root.path().join("node/chain").display().to_string();
    for extra in [
        vec![],
        vec!["--contract", address.as_str(), "--embedded", &chain],
    ] {
        let mut args = vec!["settle", "status", "--data-dir", &dir];
        args.extend(extra);
        let o = netsd(&args);
        assert_ok(&o);
        let out = stdout(&o);
        assert!(out.contains(&address), "{out}");
        assert!(out.contains("total stake      2000 wei"), "{out}");
        assert!(out.contains("  stake          2000 wei"), "{out}");
        assert!(out.contains("finalised epoch  none"), "{out}");
        assert!(!out.contains("none bound"), "the key is bound: {out}");
        assert!(out.contains("claimed        0 wei"), "{out}");
    }

    // An explicit account key speaks for another account, with no stake.
    let key = "0x".to_string() + &"11".repeat(32);
    let o = netsd_env(
        &["settle", "status", "--data-dir", &dir],
        &[("NETS_ETH_KEY", &key)],
    );
    assert_ok(&o);
    assert!(
        stdout(&o).contains("  stake          0 wei"),
        "{}",
        stdout(&o)
    );

    // Nothing is finalised, so nothing can be claimed.
    let o = netsd(&["settle", "claim", "--data-dir", &dir]);
    assert_fails_with(&o, "nothing is finalised");
}

#[test]
fn bad_inputs_fail_clearly() {
    let root = tempfile::tempdir().unwrap();
    let (dir, address) = deployed(root.path());

    // The embedded chain has chain id 31337.
    let o = netsd(&["settle", "status", "--data-dir", &dir, "--chain-id", "5"]);
    assert_fails_with(&o, "expected chain id 5");

    // Nothing listens on the endpoint.
    let url = format!("http://127.0.0.1:{}", closed_port());
    let o = netsd(&[
        "settle",
        "status",
        "--data-dir",
        &dir,
        "--rpc",
        &url,
        "--chain-id",
        "31337",
        "--contract",
        &address,
    ]);
    assert_fails_with(&o, "unreachable");
    let o = netsd(&[
        "settle",
        "stake",
        "--data-dir",
        &dir,
        "--rpc",
        &url,
        "--chain-id",
        "1",
        "--contract",
        &address,
        "--amount",
        "1",
    ]);
    assert_fails_with(&o, &url);

    // Malformed and wrong addresses.
    for bad in ["0xzz", "0x1234", "not an address"] {
        let o = netsd(&["settle", "status", "--data-dir", &dir, "--contract", bad]);
        assert_fails_with(&o, "malformed contract address");
    }
    let o = netsd(&[
        "settle",
        "status",
        "--data-dir",
        &dir,
        "--contract",
        "0x0000000000000000000000000000000000000001",
    ]);
    assert_fails_with(&o, "no contract code");

    // A malformed account key, from the environment or a file.
    let o = netsd_env(
        &["settle", "stake", "--data-dir", &dir, "--amount", "1"],
        &[("NETS_ETH_KEY", "0xnothex")],
    );
    assert_fails_with(&o, "NETS_ETH_KEY");
    let key_file = root.path().join("eth.key");
    std::fs::write(&key_file, "12\n").unwrap();
    let o = netsd(&[
        "settle",
        "stake",
        "--data-dir",
        &dir,
        "--amount",
        "1",
        "--key-file",
        &key_file.display().to_string(),
    ]);
    assert_fails_with(&o, "expected 32");

    // No chain, no contract, no stake.
    let empty = root.path().join("empty").display().to_string();
    let o = netsd(&["settle", "status", "--data-dir", &empty]);
    assert_fails_with(&o, "netsd settle deploy");
    let o = netsd(&["settle", "stake", "--data-dir", &dir, "--amount", "0"]);
    assert_fails_with(&o, "--amount must be positive");
    // --rpc without --chain-id is a usage error (exit code 2).
    let o = netsd(&[
        "settle",
        "status",
        "--data-dir",
        &dir,
        "--rpc",
        &url,
        "--contract",
        &address,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--chain-id"), "{}", stderr(&o));
}
