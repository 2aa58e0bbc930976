//! The pure crates stay pure: `nets-envs` and `nets-tournament` must not depend, directly or
//! transitively, on an async runtime, a network stack, a storage engine or a chain client.
//! The daemon and the simulator drive the same core; that only works if the core does no I/O.

use std::process::Command;

/// Crate names (or prefixes ending in `*`) that have no place in a sans-IO core.
const FORBIDDEN: &[&str] = &[
    "tokio*",
    "async-std",
    "smol",
    "mio",
    "futures-executor",
    "libp2p*",
    "quinn*",
    "hyper*",
    "reqwest",
    "axum",
    "tonic",
    "socket2",
    "sled",
    "rocksdb",
    "redb",
    "rusqlite",
    "alloy*",
    "revm*",
    "ethers*",
    "ort",
    "ort-sys",
];

fn dependencies(package: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn forbidden(name: &str) -> bool {
    FORBIDDEN.iter().any(|f| match f.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *f,
    })
}

#[test]
fn pure_crates_have_no_io_dependencies() {
    for package in ["nets-envs", "nets-tournament"] {
        let deps = dependencies(package);
        assert!(
            deps.iter().any(|d| d == package),
            "cargo tree listed nothing for {package}"
        );
        let bad: Vec<&String> = deps.iter().filter(|d| forbidden(d)).collect();
        assert!(bad.is_empty(), "{package} depends on {bad:?}");
    }
}

#[test]
fn the_check_catches_a_forbidden_crate() {
    // The node crate will carry the runtime and network; the matcher must see them.
    assert!(forbidden("tokio"));
    assert!(forbidden("libp2p-kad"));
    assert!(forbidden("alloy-primitives"));
    assert!(!forbidden("rand_chacha"));
    assert!(!forbidden("serde_json"));
}

/// The features of `of` in the build of `package` on its own (as `cargo build --release -p
/// nets-node` builds `netsd`).
fn features(package: &str, of: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-p", package, "-e", "features"])
        .args(["--prefix", "none", "--format", "{p} [{f}]"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{of} v")))
        .unwrap_or_else(|| panic!("cargo tree listed no {of}: {text}"));
    let inside = line
        .rsplit_once('[')
        .map_or("", |(_, f)| f.trim_end_matches(']'));
    inside
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_release_netsd_holds_no_simulated_adversary() {
    let adversaries = "adversaries".to_string();
    // The node on its own: no adversaries. simnet turns them on for its full-stack mode
    // (which shows the check sees the feature when it is on).
    assert!(!features("nets-node", "nets-node").contains(&adversaries));
    assert!(features("nets-simnet", "nets-node").contains(&adversaries));
}
