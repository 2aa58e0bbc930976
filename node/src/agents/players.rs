//! Agents for the daemon's matches: one [`PlayerFactory`] per node builds a fresh
//! [`Player`] for each match from the configured agent spec.

use std::sync::Arc;

use nets_envs::agents::agent_seed;

use crate::agents::battlesnake::{BattlesnakeAgent, BattlesnakeConfig};
use crate::agents::exec::{ExecAgent, ExecConfig};
use crate::agents::onnx::batcher::{BatchConfig, Batcher};
use crate::agents::onnx::model::{ModelOptions, SnakeModel};
use crate::agents::{AgentSpec, OnnxAgent, Player};

/// Builds the node's agent for each match.
#[derive(Debug)]
pub struct PlayerFactory {
    spec: AgentSpec,
    batcher: Option<Arc<Batcher>>,
}

impl PlayerFactory {
    /// A factory for `spec`; an ONNX model is loaded once, for boards of `side` x `side`.
    pub fn new(spec: AgentSpec, side: usize) -> anyhow::Result<Self> {
        let batcher = match &spec {
            AgentSpec::Onnx(path) => {
                let model = SnakeModel::load(path, &ModelOptions::default())?;
                Some(Arc::new(Batcher::spawn(
                    model,
                    side,
                    side,
                    BatchConfig::default(),
                )?))
            }
            _ => None,
        };
        Ok(Self { spec, batcher })
    }

    /// The spec, for logs.
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// A fresh player for one match; `seed` is private to this node and match, `seat` its
    /// seat in the game.
    pub fn player(&self, seed: [u8; 32], seat: usize, game_id: &str) -> Box<dyn Player + Send> {
        match (&self.spec, &self.batcher) {
            (AgentSpec::Onnx(_), Some(b)) => {
                Box::new(OnnxAgent::new(self.spec.to_string(), Arc::new(b.client())))
            }
            (AgentSpec::Exec(command), _) => Box::new(ExecAgent::new(
                command.clone(),
                game_id.to_string(),
                ExecConfig::default(),
            )),
            (AgentSpec::Battlesnake(url), _) => Box::new(BattlesnakeAgent::new(
                url.clone(),
                game_id.to_string(),
                BattlesnakeConfig::default(),
            )),
            (AgentSpec::BuiltIn(kind), _) => Box::new(kind.build(agent_seed(seed, seat))),
            // An ONNX spec always has its batcher (see `new`); fall back to the greedy agent
            // rather than panic should that ever change.
            (AgentSpec::Onnx(_), None) => {
                Box::new(nets_envs::agents::BuiltIn::Greedy.build(agent_seed(seed, seat)))
            }
        }
    }
}
