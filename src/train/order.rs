//! Where a run's random draws come from, and the order of a task's batches.
//!
//! Every random draw of a run comes from a generator seeded by the run's
//! seed and a position (the step, or a task's pass over its data), never
//! from one long-lived stream: a run can then be resumed at any step and
//! continue exactly as if it had not stopped.

use super::split::Split;
use super::task::Task;
use minilm_kernels::splitmix;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// The random streams of a run (the `stream` argument of [`seeded`]).
pub mod stream {
    /// Dropout masks of an optimizer step.
    pub const DROPOUT: u64 = 1;
    /// Task A's and task B's shuffles: `SHUFFLE + task index`.
    pub const SHUFFLE: u64 = 2;
    /// Pair draws of the contrastive method: `PAIRS + task index`.
    pub const PAIRS: u64 = 4;
}

/// A generator for draw `index` of stream `stream` of a run seeded `seed`.
pub fn seeded(seed: u64, stream: u64, index: u64) -> Xoshiro256PlusPlus {
    // The three numbers combined with two odd constants, then mixed by the
    // SplitMix64 finaliser into one seed.
    let z = seed ^ stream.wrapping_mul(splitmix::GAMMA) ^ index.wrapping_mul(splitmix::MUL1);
    Xoshiro256PlusPlus::seed_from_u64(splitmix::mix(z))
}

/// The dropout generator of optimizer step `step`.
pub fn step_rng(seed: u64, step: usize) -> Xoshiro256PlusPlus {
    seeded(seed, stream::DROPOUT, step as u64)
}

/// Shuffled batches of one task, grouped by length: each pass over the data
/// is a fresh shuffle (seeded by the run's seed, the task and the pass), cut
/// into windows of 8 batches that are sorted by length and batched, then the
/// batches are shuffled. The smaller task simply asks for more batches than
/// it has and starts a new pass (it cycles).
pub struct BatchOrder {
    seed: u64,
    task: Task,
    pass: u64,
    batches: Vec<Vec<usize>>,
}

impl BatchOrder {
    /// Before the first pass.
    pub fn new(seed: u64, task: Task) -> Self {
        BatchOrder {
            seed,
            task,
            pass: 0,
            batches: Vec::new(),
        }
    }

    /// The indices of the next batch of `split`.
    pub fn next(&mut self, split: &Split, batch_size: usize) -> Vec<usize> {
        if self.batches.is_empty() {
            let rng = &mut seeded(
                self.seed,
                stream::SHUFFLE + self.task.index() as u64,
                self.pass,
            );
            self.pass += 1;
            let mut idx: Vec<usize> = (0..split.len()).collect();
            idx.shuffle(rng);
            let mut batches = Vec::new();
            for window in idx.chunks_mut(batch_size * 8) {
                window.sort_by_key(|&i| split.tokens[i].len());
                batches.extend(window.chunks(batch_size).map(<[usize]>::to_vec));
            }
            batches.shuffle(rng);
            batches.reverse(); // popped from the end
            self.batches = batches;
        }
        self.batches
            .pop()
            .expect("a non-empty split gives at least one batch")
    }
}
