//! End-to-end properties of the simulator on small populations.

use nets_simnet::output;
use nets_simnet::scenario::SettlementBackend;
use nets_simnet::scenario::{Scenario, ScenarioError};
use nets_simnet::sim::{Report, RoleOutcome, Simulation};

/// A small scenario: `extra` is appended (more population groups, a partition, ...).
fn small(extra: &str) -> Scenario {
    let text = format!(
        r#"
name = "small"
seed = 7
epochs = 3

[[leagues]]
max_turns = 150
rounds_per_epoch = 6

[timing]
epoch_ms = 600_000
attest_delay_ms = 300_000

[[population]]
count = 12
agent = {{ kind = "tuned", skill = 700 }}

[[population]]
count = 12
agent = {{ kind = "tuned", skill = 950 }}

[[population]]
count = 12
agent = {{ kind = "greedy" }}
{extra}
"#
    );
    Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(sc: Scenario) -> Report {
    Simulation::new(sc).unwrap().run(&mut |_| {}).unwrap()
}

#[test]
fn same_seed_same_bytes_other_seed_other_run() {
    let dir = std::env::temp_dir().join(format!("simnet-determinism-{}", std::process::id()));
    let extra = r#"
[[population]]
count = 4
agent = { kind = "tuned", skill = 950 }
role = "forger"

[network.churn]
crash = 0.05
join = 1
"#;
    let a = run(small(extra));
    let b = run(small(extra));
    output::write_all(&a, &dir.join("a")).unwrap();
    output::write_all(&b, &dir.join("b")).unwrap();
    for name in output::FILES {
        let x = std::fs::read(dir.join("a").join(name)).unwrap();
        let y = std::fs::read(dir.join("b").join(name)).unwrap();
        assert!(!x.is_empty(), "{name} is empty");
        assert!(x == y, "{name} differs between two runs of one seed");
    }
    let mut other = small(extra);
    other.seed = 8;
    let c = run(other);
    output::write_all(&c, &dir.join("c")).unwrap();
    let x = std::fs::read(dir.join("a").join("metrics.json")).unwrap();
    let z = std::fs::read(dir.join("c").join("metrics.json")).unwrap();
    assert_ne!(x, z, "another seed gave the same run");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn honest_nodes_agree_after_a_partition_heals() {
    // Epoch 0 closes at 600 000 during the partition; it heals before the attestation.
    let report = run(small(
        r#"
[[network.partitions]]
start_ms = 400_000
duration_ms = 350_000
fraction = 0.4
"#,
    ));
    let at_close = &report.per_epoch[0].distinct_views;
    assert!(
        at_close.iter().any(|&d| d > 1),
        "the partition should split views at the close: {at_close:?}"
    );
    for (league, views) in report.final_views.iter().enumerate() {
        assert!(
            views.iter().all(|&d| d == 1),
            "league {league}: distinct final views {views:?}"
        );
    }
    assert!(report.gossip.synced > 0);
    assert_eq!(report.finalised_epochs, vec![3]);
    assert!(report.money_conserved);
    // Rankings are one table: every player at most once.
    let mut players: Vec<&str> = report.rankings.iter().map(|r| r.player.as_str()).collect();
    let n = players.len();
    players.sort_unstable();
    players.dedup();
    assert_eq!(players.len(), n);
}

const CHEATS: &str = r#"
[[population]]
count = 3
agent = { kind = "tuned", skill = 950 }
role = "aborter"

[[population]]
count = 3
agent = { kind = "tuned", skill = 950 }
role = "forger"

[[population]]
count = 3
agent = { kind = "tuned", skill = 950 }
role = "equivocator"
"#;

/// Every fraud is detected and every cheat ends worse off than honest play of the same agent;
/// returns the report for backend-specific checks.
fn cheats_caught(backend: SettlementBackend) -> Report {
    let mut sc = small(CHEATS);
    sc.settlement = backend;
    let report = run(sc);
    for kind in [
        "forged result",
        "equivocation (match)",
        "equivocation (attestation)",
    ] {
        let attempts = report.fraud.attempts.get(kind).copied().unwrap_or(0);
        assert!(attempts > 0, "no {kind} attempted: {:?}", report.fraud);
        assert_eq!(
            report.fraud.detected.get(kind).copied().unwrap_or(0),
            attempts,
            "{kind} undetected"
        );
    }
    let honest = role(&report, "honest");
    for name in ["aborter", "forger", "equivocator"] {
        let o = role(&report, name);
        assert!(
            o.mean_profit < honest.mean_profit,
            "{name}: {} vs honest {}",
            o.mean_profit,
            honest.mean_profit
        );
        if name == "aborter" {
            assert!(o.forfeits > 0);
        } else {
            assert_eq!(o.convicted, o.nodes, "{name} not all convicted");
        }
    }
    // Fraud costs the stake: a double attestation by the contract's own check, match fraud
    // through the conviction the finalised reward table lists.
    assert!(role(&report, "equivocator").slashed > 0);
    assert!(role(&report, "forger").slashed > 0);
    assert!(report.money_conserved, "{}", report.audit);
    report
}

fn role<'a>(report: &'a Report, name: &str) -> &'a RoleOutcome {
    report
        .roles
        .iter()
        .find(|o| o.role == name && o.agent == "tuned-950")
        .unwrap_or_else(|| panic!("no {name} tuned-950 in {:?}", report.roles))
}

#[test]
fn cheats_are_caught_and_end_worse_off_than_honest_play_on_the_contract() {
    let report = cheats_caught(SettlementBackend::Contract);
    assert!(report.chain_transactions > 0);
    assert!(
        report.settlement_notes.is_empty(),
        "{:?}",
        report.settlement_notes
    );
}

#[test]
fn cheats_are_caught_and_end_worse_off_than_honest_play_on_the_model_chain() {
    let report = cheats_caught(SettlementBackend::Model);
    assert_eq!(report.chain_transactions, 0);
}

/// The same scenario settled by the model and by the contract on the embedded chain.
fn both(extra: &str) -> (Report, Report) {
    let mut model = small(extra);
    model.settlement = SettlementBackend::Model;
    let mut contract = small(extra);
    contract.settlement = SettlementBackend::Contract;
    (run(model), run(contract))
}

#[test]
fn the_contract_settles_exactly_as_the_model_does_with_and_without_cheats() {
    let view = |r: &Report| {
        let ranks: Vec<_> = r
            .rankings
            .iter()
            .map(|x| (x.player.clone(), x.rating, x.capital, x.profit))
            .collect();
        let roles: Vec<_> = r
            .roles
            .iter()
            .map(|o| (o.role, o.mean_profit.to_bits(), o.slashed, o.convicted))
            .collect();
        (ranks, roles, r.final_roots.clone(), r.escrow_left)
    };
    for extra in ["", CHEATS] {
        let (model, contract) = both(extra);
        assert_ne!(model.settlement, contract.settlement);
        assert_eq!(contract.finalised_epochs, vec![3]);
        assert_eq!(contract.finalised_epochs, model.finalised_epochs);
        assert!(!contract.rankings.is_empty());
        assert_eq!(view(&contract), view(&model));
        assert!(contract.money_conserved, "{}", contract.audit);
        assert!(model.money_conserved);
        assert!(contract.chain_transactions > 0 && contract.chain_gas > 0);
    }
}

#[test]
fn bad_scenarios_name_the_field() {
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/default.toml"
    ))
    .unwrap();
    let cases = [
        // An unknown key.
        (
            good.replace("epochs = 10", "epochs = 10\nepochz = 3"),
            "epochz",
        ),
        // A misspelt key in a nested table.
        (
            good.replace("mesh_degree = 6", "mesh_degre = 6"),
            "mesh_degre",
        ),
        // A wrong type.
        (good.replace("seed = 1", "seed = \"one\""), "seed"),
        // A backend that does not exist.
        (
            good.replace("epochs = 10", "epochs = 10\nsettlement = \"ethereum\""),
            "settlement",
        ),
        // Out of range values, named by path.
        (good.replace("loss = 0.01", "loss = 1.5"), "network.loss"),
        (
            good.replace("count = 60", "count = 0"),
            "population[0].count",
        ),
        (
            good.replace("fraction = 0.3", "fraction = 0.0"),
            "network.partitions[0].fraction",
        ),
        (
            good.replace("skill = 600", "skill = 1600"),
            "population[1].agent",
        ),
        // A missing required key.
        (good.replace("epochs = 10\n", ""), "epochs"),
    ];
    for (text, field) in cases {
        let err = Scenario::from_toml(&text).expect_err(field);
        let msg = err.to_string();
        assert!(
            msg.contains(field),
            "error for `{field}` does not name it: {msg}"
        );
        if field.contains('.') || field.contains('[') {
            assert!(matches!(err, ScenarioError::Invalid { .. }));
        }
    }
}
