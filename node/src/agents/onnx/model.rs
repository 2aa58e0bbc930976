//! Snake policy models in ONNX format, run by ONNX Runtime.
//!
//! The contract a model must follow is in `docs/models.md`: one input `board`, `float32`
//! `[N, 7, H, W]` holding the planes of [`nets_envs::snake::observation`] (dynamic batch
//! dimension `N`; `H` and `W` fixed to one board size or dynamic), and an output `logits`,
//! `float32` `[N, 4]`, one score per move in [`Direction`](nets_envs::snake::Direction) code
//! order: up, down, left, right. [`SnakeModel::load`] checks the contract before any board is
//! evaluated; [`SnakeModel::evaluate`] checks every output.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nets_envs::snake::observation::PLANES;
use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{Outlet, TensorElementType, TensorRef, ValueType};

use crate::agents::onnx::runtime::{RuntimeError, runtime};

/// The name of the model's input.
pub const INPUT: &str = "board";
/// The name of the model's output.
pub const OUTPUT: &str = "logits";
/// Scores per board: one per move.
pub const MOVES: usize = 4;

/// One board's output: a score per move, in code order (up, down, left, right).
pub type Logits = [f32; MOVES];

/// Where a model runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// ONNX Runtime's CPU execution provider.
    #[default]
    Cpu,
    /// ONNX Runtime's CUDA execution provider (needs the GPU build of the library and a GPU).
    Cuda,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

/// A device name that is neither `cpu` nor `cuda`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown device {0:?}: expected cpu or cuda")]
pub struct UnknownDevice(pub String);

impl FromStr for Device {
    type Err = UnknownDevice;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            _ => Err(UnknownDevice(s.to_owned())),
        }
    }
}

/// How a model is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    /// The execution provider.
    pub device: Device,
    /// ONNX Runtime's intra-op threads: the threads one evaluation may use (at least 1).
    pub threads: usize,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self {
            device: Device::Cpu,
            threads: 1,
        }
    }
}

/// Why a model cannot be loaded or evaluated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// ONNX Runtime itself is unavailable.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The model file cannot be read.
    #[error("cannot read model {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// ONNX Runtime rejects the file.
    #[error("{} is not a valid ONNX model: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// ONNX Runtime's message.
        message: String,
    },
    /// The model's inputs or outputs break the contract of `docs/models.md`.
    #[error(
        "{} does not follow the Snake model contract (docs/models.md): {}",
        path.display(),
        problems.join("; ")
    )]
    Contract {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// The model's input has a fixed board size other than the game's.
    #[error(
        "{} takes {}x{} boards only (its input is fixed to [N, 7, {}, {}]); this game is on a {width}x{height} board",
        path.display(),
        fixed.0,
        fixed.1,
        fixed.1,
        fixed.0
    )]
    BoardSize {
        /// The file.
        path: PathBuf,
        /// The model's width and height (`0` for a dynamic one).
        fixed: (usize, usize),
        /// The game's width.
        width: usize,
        /// The game's height.
        height: usize,
    },
    /// CUDA was asked for but cannot be used.
    #[error("CUDA is not available: {reason}")]
    CudaUnavailable {
        /// Why.
        reason: String,
    },
    /// ONNX Runtime could not create a session for another reason.
    #[error("cannot create an ONNX Runtime session for {}: {message}", path.display())]
    Session {
        /// The file.
        path: PathBuf,
        /// ONNX Runtime's message.
        message: String,
    },
    /// The boards handed to [`SnakeModel::evaluate`] do not make whole `[7, H, W]` boards.
    #[error("{len} values are not a whole number of 7x{height}x{width} boards")]
    InputSize {
        /// Values given.
        len: usize,
        /// Board width.
        width: usize,
        /// Board height.
        height: usize,
    },
    /// Running the model failed.
    #[error("running the model failed: {0}")]
    Run(String),
    /// The output is not `[N, 4]` float32.
    #[error("the model's output breaks the contract: {0}")]
    Output(String),
    /// The output holds NaN or an infinity.
    #[error(
        "the model output a non-finite score{}: {logits:?} (up, down, left, right)",
        which_board(*board, *batch)
    )]
    NonFinite {
        /// The board's index in its batch.
        board: usize,
        /// The size of the batch.
        batch: usize,
        /// The scores.
        logits: Logits,
    },
}

fn which_board(board: usize, batch: usize) -> String {
    if batch > 1 {
        format!(" for board {board} of a batch of {batch}")
    } else {
        String::new()
    }
}

/// The board size a model's input is fixed to; `None` where it is dynamic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    /// Fixed height (`H`), if any.
    pub height: Option<usize>,
    /// Fixed width (`W`), if any.
    pub width: Option<usize>,
}

/// A loaded model that follows the contract.
pub struct SnakeModel {
    session: Session,
    path: PathBuf,
    signature: Signature,
    options: ModelOptions,
    input: String,
    output: String,
}

impl fmt::Debug for SnakeModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnakeModel")
            .field("path", &self.path)
            .field("signature", &self.signature)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SnakeModel {
    /// Loads the model at `path`, checks its inputs and outputs against the contract, and
    /// prepares it on the chosen device. Nothing is evaluated yet.
    pub fn load(path: &Path, options: &ModelOptions) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let rt = runtime()?;
        let session_error = |message: String| ModelError::Session {
            path: path.to_path_buf(),
            message,
        };
        let mut builder = Session::builder(&rt.environment)
            .map_err(|e| session_error(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| session_error(e.to_string()))?
            .with_intra_threads(options.threads.max(1))
            .map_err(|e| session_error(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| session_error(e.to_string()))?;
        if options.device == Device::Cuda {
            if !ep::CUDA::is_available().unwrap_or(false) {
                return Err(ModelError::CudaUnavailable {
                    reason: format!(
                        "the ONNX Runtime library {} was built without the CUDA execution \
                         provider; install the GPU build (scripts/setup-onnxruntime --gpu) and \
                         set ORT_DYLIB_PATH to its libonnxruntime.so",
                        rt.library.path.display()
                    ),
                });
            }
            builder = builder
                .with_execution_providers([ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| {
                    let mut reason = tidy(&e.to_string());
                    if reason.contains("cannot open shared object file") {
                        reason += " (the GPU build of ONNX Runtime needs CUDA 13 and cuDNN 9 \
                                   installed)";
                    }
                    ModelError::CudaUnavailable { reason }
                })?;
        }
        let session = builder.commit_from_memory(&bytes).map_err(|e| {
            let message = tidy(&e.to_string());
            if options.device == Device::Cuda && message.to_ascii_lowercase().contains("cuda") {
                ModelError::CudaUnavailable { reason: message }
            } else {
                ModelError::Invalid {
                    path: path.to_path_buf(),
                    message,
                }
            }
        })?;
        let signature =
            check_contract(session.inputs(), session.outputs()).map_err(|problems| {
                ModelError::Contract {
                    path: path.to_path_buf(),
                    problems,
                }
            })?;
        let input = describe_outlet(session.inputs(), INPUT);
        let output = describe_outlet(session.outputs(), OUTPUT);
        Ok(Self {
            session,
            path: path.to_path_buf(),
            signature,
            options: options.clone(),
            input,
            output,
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The board size the input is fixed to, if any.
    pub fn signature(&self) -> Signature {
        self.signature
    }

    /// The input as the model declares it, e.g. `board f32 [N, 7, H, W]`.
    pub fn input_description(&self) -> &str {
        &self.input
    }

    /// The output as the model declares it, e.g. `logits f32 [N, 4]`.
    pub fn output_description(&self) -> &str {
        &self.output
    }

    /// The options it was loaded with.
    pub fn options(&self) -> &ModelOptions {
        &self.options
    }

    /// Checks that the model can evaluate boards of this size.
    pub fn check_board(&self, width: usize, height: usize) -> Result<(), ModelError> {
        let Signature {
            height: fixed_h,
            width: fixed_w,
        } = self.signature;
        if fixed_w.is_some_and(|w| w != width) || fixed_h.is_some_and(|h| h != height) {
            return Err(ModelError::BoardSize {
                path: self.path.clone(),
                fixed: (fixed_w.unwrap_or(0), fixed_h.unwrap_or(0)),
                width,
                height,
            });
        }
        Ok(())
    }

    /// Evaluates a batch of boards (`boards` holds `N` boards of `7 * height * width` values
    /// each, laid out as `observation::encode` writes them) and returns one set of scores per
    /// board. Any non-finite score is an error naming the board.
    pub fn evaluate(
        &mut self,
        boards: &[f32],
        width: usize,
        height: usize,
    ) -> Result<Vec<Logits>, ModelError> {
        let mut out = Vec::new();
        self.evaluate_into(boards, width, height, &mut out)?;
        let batch = out.len();
        for (board, logits) in out.iter().enumerate() {
            check_finite(board, batch, *logits)?;
        }
        Ok(out)
    }

    /// As [`evaluate`](Self::evaluate), but appends the scores to `out` and leaves the check
    /// for non-finite scores to the caller (see [`check_finite`]), so that one bad board of a
    /// batch does not fail the others.
    pub fn evaluate_into(
        &mut self,
        boards: &[f32],
        width: usize,
        height: usize,
        out: &mut Vec<Logits>,
    ) -> Result<(), ModelError> {
        self.check_board(width, height)?;
        let per_board = PLANES * width * height;
        if per_board == 0 || boards.is_empty() || !boards.len().is_multiple_of(per_board) {
            return Err(ModelError::InputSize {
                len: boards.len(),
                width,
                height,
            });
        }
        let n = boards.len() / per_board;
        let input = TensorRef::from_array_view(([n, PLANES, height, width], boards))
            .map_err(|e| ModelError::Run(tidy(&e.to_string())))?;
        let outputs = self
            .session
            .run(ort::inputs![INPUT => input])
            .map_err(|e| ModelError::Run(tidy(&e.to_string())))?;
        let value = outputs
            .get(OUTPUT)
            .ok_or_else(|| ModelError::Output(format!("no output named {OUTPUT:?}")))?;
        let (shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| ModelError::Output(format!("{OUTPUT} is not a float32 tensor ({e})")))?;
        if **shape != [n as i64, MOVES as i64] {
            return Err(ModelError::Output(format!(
                "{OUTPUT} has shape {:?} for {n} boards; expected [{n}, {MOVES}]",
                &**shape
            )));
        }
        out.extend(data.chunks_exact(MOVES).map(|c| [c[0], c[1], c[2], c[3]]));
        Ok(())
    }
}

/// ONNX Runtime's message, trimmed; for a failed CUDA call only the failure itself
/// (`CUDA failure 100: no CUDA-capable device is detected`), without the C++ signatures and
/// source locations around it.
fn tidy(message: &str) -> String {
    let mut message = message.trim();
    // `/onnxruntime_src/…cc:2043 … [ONNXRuntimeError] : 1 : FAIL : the message`
    if let Some((_, rest)) = message.split_once("[ONNXRuntimeError] : ")
        && let Some(text) = rest.splitn(3, " : ").nth(2)
    {
        message = text.trim();
    }
    match message.find("CUDA failure") {
        Some(start) => {
            let failure = &message[start..];
            failure
                .split(" ; ")
                .next()
                .unwrap_or(failure)
                .trim()
                .to_owned()
        }
        None => message.to_owned(),
    }
}

/// Returns `logits` if every score is finite, else [`ModelError::NonFinite`] naming board
/// `board` of a batch of `batch`.
pub fn check_finite(board: usize, batch: usize, logits: Logits) -> Result<Logits, ModelError> {
    if logits.iter().all(|v| v.is_finite()) {
        Ok(logits)
    } else {
        Err(ModelError::NonFinite {
            board,
            batch,
            logits,
        })
    }
}

/// A dimension as the contract reads it: `Some(n)` fixed, `None` dynamic.
fn dim(d: i64) -> Option<usize> {
    usize::try_from(d).ok().filter(|&n| n > 0)
}

/// A shape for messages: fixed dimensions as numbers, dynamic ones by their symbol (or `?`).
fn show_shape(shape: &[i64], symbols: &[String]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| match dim(d) {
            Some(n) => n.to_string(),
            None => symbols
                .get(i)
                .filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| "?".into()),
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

/// `name type [dims]` of the outlet called `name`.
fn describe_outlet(outlets: &[Outlet], name: &str) -> String {
    match outlets.iter().find(|o| o.name() == name).map(Outlet::dtype) {
        Some(ValueType::Tensor {
            ty,
            shape,
            dimension_symbols,
        }) => format!("{name} {ty} {}", show_shape(shape, dimension_symbols)),
        Some(other) => format!("{name} {}", describe(other)),
        None => format!("{name} (missing)"),
    }
}

fn describe(ty: &ValueType) -> String {
    match ty {
        ValueType::Tensor { ty, .. } => format!("a tensor of {ty}"),
        ValueType::Sequence(_) => "a sequence".into(),
        ValueType::Map { .. } => "a map".into(),
        ValueType::Optional(_) => "an optional value".into(),
    }
}

/// What the contract asks of one named tensor: float32, a given rank, a dynamic batch
/// dimension first and a fixed second dimension.
struct TensorRule<'a> {
    /// "input" or "output".
    role: &'a str,
    /// The tensor's name.
    name: &'a str,
    /// The layout, as the contract writes it (e.g. `[N, 7, H, W]`).
    layout: String,
    /// The rank.
    rank: usize,
    /// The size of the second dimension.
    second: usize,
    /// What the second dimension counts, for messages ("planes", "scores per board").
    second_what: &'a str,
    /// Said after the expected size, for messages.
    second_note: &'a str,
}

/// Checks the tensor of `rule` among `outlets`, adding every problem found to `problems`;
/// returns its dimensions (`None` where dynamic) when it has the right rank.
fn check_tensor(
    rule: &TensorRule<'_>,
    outlets: &[Outlet],
    problems: &mut Vec<String>,
) -> Option<Vec<Option<usize>>> {
    let TensorRule { role, name, .. } = *rule;
    let Some(outlet) = outlets.iter().find(|o| o.name() == name) else {
        let names = outlets
            .iter()
            .map(|o| format!("{:?}", o.name()))
            .collect::<Vec<_>>()
            .join(", ");
        problems.push(format!(
            "it has no {role} named {name:?} (its {role}s: {names})"
        ));
        return None;
    };
    let ValueType::Tensor {
        ty,
        shape,
        dimension_symbols,
    } = outlet.dtype()
    else {
        problems.push(format!(
            "{role} {name} is {}; the contract needs a float32 tensor",
            describe(outlet.dtype())
        ));
        return None;
    };
    let shown = show_shape(shape, dimension_symbols);
    if *ty != TensorElementType::Float32 {
        problems.push(format!(
            "{role} {name} is {ty}; the contract needs f32 (float32)"
        ));
    }
    if shape.len() != rule.rank {
        problems.push(format!(
            "{role} {name} has shape {shown}, rank {}; the contract needs rank {}, {}",
            shape.len(),
            rule.rank,
            rule.layout
        ));
        return None;
    }
    let dims: Vec<Option<usize>> = shape.iter().map(|&d| dim(d)).collect();
    if let Some(Some(n)) = dims.first() {
        problems.push(format!(
            "{role} {name} has shape {shown}: its batch dimension is fixed to {n}; the contract needs a dynamic batch dimension N"
        ));
    }
    if let Some(Some(v)) = dims.get(1)
        && *v != rule.second
    {
        problems.push(format!(
            "{role} {name} has shape {shown}: {v} {}; the contract needs {}{}",
            rule.second_what, rule.second, rule.second_note
        ));
    }
    Some(dims)
}

/// Checks the inputs and outputs against the contract; returns the fixed board size, or every
/// problem found.
fn check_contract(inputs: &[Outlet], outputs: &[Outlet]) -> Result<Signature, Vec<String>> {
    let mut problems = Vec::new();
    let mut signature = Signature::default();
    let input = TensorRule {
        role: "input",
        name: INPUT,
        layout: format!("[N, {PLANES}, H, W]"),
        rank: 4,
        second: PLANES,
        second_what: "planes",
        second_note: "",
    };
    if let Some(dims) = check_tensor(&input, inputs, &mut problems) {
        signature.height = dims.get(2).copied().flatten();
        signature.width = dims.get(3).copied().flatten();
    }
    let extra: Vec<&Outlet> = inputs.iter().filter(|o| o.name() != INPUT).collect();
    if !extra.is_empty() && extra.len() < inputs.len() {
        problems.push(format!(
            "it has inputs other than {INPUT:?} ({}); the contract allows only {INPUT:?}",
            extra
                .iter()
                .map(|o| format!("{:?}", o.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let output = TensorRule {
        role: "output",
        name: OUTPUT,
        layout: format!("[N, {MOVES}]"),
        rank: 2,
        second: MOVES,
        second_what: "scores per board",
        second_note: " (up, down, left, right)",
    };
    check_tensor(&output, outputs, &mut problems);
    if problems.is_empty() {
        Ok(signature)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_failures_are_shown_without_the_cpp_noise() {
        let raw = "/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:154 \
                   std::conditional_t<THRW, void, onnxruntime::common::Status> \
                   onnxruntime::CudaCall(ERRTYPE, const char*) [with ERRTYPE = cudaError] \
                   CUDA failure 100: no CUDA-capable device is detected ; GPU=-1 ; \
                   hostname=vm ; expr=cudaSetDevice(info_.device_id); \n\n";
        assert_eq!(
            tidy(raw),
            "CUDA failure 100: no CUDA-capable device is detected"
        );
        assert_eq!(
            tidy("  Protobuf parsing failed.\n"),
            "Protobuf parsing failed."
        );
        assert_eq!(
            tidy(
                "/onnxruntime_src/x.cc:2043 onnxruntime::Provider& Get() [ONNXRuntimeError] : \
                 1 : FAIL : Failed to load library x.so with error: libcublasLt.so.13: \
                 cannot open shared object file"
            ),
            "Failed to load library x.so with error: libcublasLt.so.13: cannot open shared \
             object file"
        );
    }

    #[test]
    fn devices_parse() {
        assert_eq!("cpu".parse(), Ok(Device::Cpu));
        assert_eq!("cuda".parse(), Ok(Device::Cuda));
        assert_eq!(Device::Cuda.to_string(), "cuda");
        let err = "gpu".parse::<Device>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown device \"gpu\": expected cpu or cuda"
        );
    }
}
