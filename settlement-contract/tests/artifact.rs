//! The committed artifact is what the pinned compiler makes of the committed source.

use std::path::Path;
use std::process::Command;

use nets_settlement::alloy::primitives::Bytes;
use nets_settlement::bindings::NetsSettlement;

const SETUP: &str = "run scripts/setup-contract (it installs the pinned solc and anvil from npm)";

#[test]
fn artifact_matches_a_fresh_compile() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        dir.join("node_modules/solc/package.json").is_file(),
        "solc is not installed in settlement-contract/node_modules: {SETUP}"
    );
    let output = Command::new("node")
        .arg("scripts/compile.mjs")
        .arg("--check")
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); node is needed: {SETUP}"));
    assert!(
        output.status.success(),
        "the artifact drifted from the source:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn artifact_records_the_pinned_compiler_and_the_bindings_use_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(dir.join(nets_settlement::ARTIFACT_PATH)).unwrap();
    let artifact: serde_json::Value = serde_json::from_str(&text).unwrap();
    let compiler = &artifact["compiler"];
    assert!(compiler["version"].as_str().unwrap().starts_with("0.8.37+"));
    assert_eq!(compiler["settings"]["evmVersion"], "cancun");
    assert_eq!(compiler["settings"]["optimizer"]["enabled"], true);
    let bytecode: Bytes = artifact["bytecode"].as_str().unwrap().parse().unwrap();
    assert_eq!(NetsSettlement::BYTECODE, bytecode);
    let deployed: Bytes = artifact["deployedBytecode"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(NetsSettlement::DEPLOYED_BYTECODE, deployed);
    // The public chain limit on code size (EIP-170).
    assert!(deployed.len() <= 24_576, "{} bytes", deployed.len());

    // The pinned versions in package.json are exact.
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap()).unwrap();
    assert_eq!(package["devDependencies"]["solc"], "0.8.37");
    assert_eq!(package["devDependencies"]["@foundry-rs/anvil"], "1.7.1");
}
