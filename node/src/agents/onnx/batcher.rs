//! Batched inference: one model serves many games at once.
//!
//! A [`Batcher`] owns a [`SnakeModel`] on a worker thread. Games ask for moves through
//! [`Client`]s; the worker collects the boards that arrive and evaluates them in one model
//! call. A batch is run as soon as one of these holds:
//!
//! - it has [`BatchConfig::max_batch`] boards;
//! - every registered client is waiting for an answer (nobody else can add a board, so waiting
//!   longer gains nothing: a single game is never slowed down);
//! - [`BatchConfig::max_wait`] has passed since its first board arrived.
//!
//! Everything is std threads and bounded channels: the request queue holds at most
//! [`BatchConfig::queue`] boards (a full queue blocks the asking game), and each answer travels
//! on a channel of capacity one. A non-finite score fails only the board it belongs to.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nets_envs::snake::observation::PLANES;

use crate::agents::onnx::model::{Logits, ModelError, SnakeModel, check_finite};

/// When the worker runs a batch, and how much may queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// The most boards in one model call (at least 1).
    pub max_batch: usize,
    /// The longest the first board of a batch waits for others.
    pub max_wait: Duration,
    /// The capacity of the request queue, in boards (at least 1).
    pub queue: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_batch: 64,
            max_wait: Duration::from_millis(2),
            queue: 1024,
        }
    }
}

/// Counters of a batcher's work so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Model calls.
    pub batches: u64,
    /// Boards evaluated.
    pub boards: u64,
    /// The largest batch.
    pub largest: u64,
    /// Total time boards spent queued before their batch started, in nanoseconds.
    pub wait_ns: u64,
    /// Total time spent in model calls, in nanoseconds.
    pub run_ns: u64,
}

impl BatchStats {
    /// Mean boards per model call.
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.boards as f64 / self.batches as f64
        }
    }

    /// Mean time a board waited in the queue before its batch ran.
    pub fn mean_wait(&self) -> Duration {
        Duration::from_nanos(self.wait_ns.checked_div(self.boards).unwrap_or(0))
    }
}

/// Why a board got no scores.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The model failed on this board (or on its whole batch).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The board does not have the batcher's size.
    #[error(
        "a board of {got} values was sent to a batcher for {expected}-value ({width}x{height}) boards"
    )]
    BoardSize {
        /// Values sent.
        got: usize,
        /// Values expected.
        expected: usize,
        /// The batcher's board width.
        width: usize,
        /// The batcher's board height.
        height: usize,
    },
    /// The worker thread is gone (it panicked or could not start).
    #[error("the inference worker has stopped")]
    Stopped,
}

struct Request {
    board: Vec<f32>,
    queued: Instant,
    reply: SyncSender<Result<Logits, BatchError>>,
}

#[derive(Default)]
struct Counters {
    clients: AtomicUsize,
    batches: AtomicU64,
    boards: AtomicU64,
    largest: AtomicU64,
    wait_ns: AtomicU64,
    run_ns: AtomicU64,
}

/// A model on its worker thread, and the handle that registers [`Client`]s.
///
/// The worker stops when the batcher and all its clients are dropped.
pub struct Batcher {
    tx: SyncSender<Request>,
    counters: Arc<Counters>,
    width: usize,
    height: usize,
    worker: JoinHandle<()>,
}

impl fmt::Debug for Batcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Batcher {
    /// Starts the worker for boards of `width` x `height` (checked against the model's
    /// signature).
    pub fn spawn(
        model: SnakeModel,
        width: usize,
        height: usize,
        config: BatchConfig,
    ) -> Result<Self, ModelError> {
        model.check_board(width, height)?;
        let (tx, rx) = mpsc::sync_channel(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        let worker = {
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name("netsd-inference".into())
                .spawn(move || run_worker(model, rx, &counters, config, width, height))
                .map_err(|e| ModelError::Run(format!("cannot start the inference thread: {e}")))?
        };
        Ok(Self {
            tx,
            counters,
            width,
            height,
            worker,
        })
    }

    /// A new client. Each thread that asks for moves should use its own client (agents of one
    /// game, asked one after the other, can share one), because the worker stops waiting once
    /// every client has a board queued.
    pub fn client(&self) -> Client {
        self.counters.clients.fetch_add(1, Ordering::SeqCst);
        Client {
            tx: self.tx.clone(),
            counters: Arc::clone(&self.counters),
            len: PLANES * self.width * self.height,
            width: self.width,
            height: self.height,
        }
    }

    /// The board width and height this batcher serves.
    pub fn board(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The counters so far.
    pub fn stats(&self) -> BatchStats {
        let c = &self.counters;
        BatchStats {
            batches: c.batches.load(Ordering::Relaxed),
            boards: c.boards.load(Ordering::Relaxed),
            largest: c.largest.load(Ordering::Relaxed),
            wait_ns: c.wait_ns.load(Ordering::Relaxed),
            run_ns: c.run_ns.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting work and waits for the worker to finish what is queued. Clients still
    /// alive keep the worker running; this returns once they are dropped too.
    pub fn shutdown(self) {
        let Self { tx, worker, .. } = self;
        drop(tx);
        // A worker that panicked has already failed its clients' requests.
        let _ = worker.join();
    }
}

/// A game's handle to a [`Batcher`]: sends one board and waits for its scores.
pub struct Client {
    tx: SyncSender<Request>,
    counters: Arc<Counters>,
    len: usize,
    width: usize,
    height: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The scores of one board (`7 * height * width` values), evaluated in a batch with
    /// whatever other clients send meanwhile. Blocks until the answer arrives.
    pub fn evaluate(&self, board: Vec<f32>) -> Result<Logits, BatchError> {
        if board.len() != self.len {
            return Err(BatchError::BoardSize {
                got: board.len(),
                expected: self.len,
                width: self.width,
                height: self.height,
            });
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(Request {
                board,
                queued: Instant::now(),
                reply,
            })
            .map_err(|_| BatchError::Stopped)?;
        answer.recv().map_err(|_| BatchError::Stopped)?
    }

    /// The board width and height this client's batcher serves.
    pub fn board(&self) -> (usize, usize) {
        (self.width, self.height)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.counters.clients.fetch_sub(1, Ordering::SeqCst);
    }
}

fn run_worker(
    mut model: SnakeModel,
    rx: Receiver<Request>,
    counters: &Counters,
    config: BatchConfig,
    width: usize,
    height: usize,
) {
    let max_batch = config.max_batch.max(1);
    let mut batch: Vec<Request> = Vec::with_capacity(max_batch);
    let mut input: Vec<f32> = Vec::with_capacity(max_batch * PLANES * width * height);
    let mut output: Vec<Logits> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        let deadline = first.queued + config.max_wait;
        batch.push(first);
        let mut open = true;
        while open && batch.len() < max_batch {
            match rx.try_recv() {
                Ok(request) => {
                    batch.push(request);
                    continue;
                }
                Err(TryRecvError::Disconnected) => open = false,
                Err(TryRecvError::Empty) => {}
            }
            if !open || batch.len() >= counters.clients.load(Ordering::SeqCst) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(request) => batch.push(request),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }

        let started = Instant::now();
        input.clear();
        let mut wait_ns = 0u64;
        for request in &batch {
            input.extend_from_slice(&request.board);
            wait_ns += nanos(started.saturating_duration_since(request.queued));
        }
        output.clear();
        let result = model.evaluate_into(&input, width, height, &mut output);
        let run_ns = nanos(started.elapsed());
        let n = batch.len() as u64;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.boards.fetch_add(n, Ordering::Relaxed);
        counters.largest.fetch_max(n, Ordering::Relaxed);
        counters.wait_ns.fetch_add(wait_ns, Ordering::Relaxed);
        counters.run_ns.fetch_add(run_ns, Ordering::Relaxed);
        match result {
            Ok(()) => {
                let n = batch.len();
                for (i, (request, logits)) in batch.drain(..).zip(output.iter()).enumerate() {
                    let answer = check_finite(i, n, *logits).map_err(BatchError::from);
                    // A client that gave up is no reason to stop.
                    let _ = request.reply.send(answer);
                }
            }
            Err(e) => {
                for request in batch.drain(..) {
                    let _ = request.reply.send(Err(BatchError::Model(e.clone())));
                }
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
