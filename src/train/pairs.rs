//! Pair batches for contrastive tuning, drawn from one task's K-shot sample.
//!
//! Each pass over a task's examples (a fresh, seeded draw per pass) shuffles
//! every class's examples and cuts them into units of two (one unit of one
//! when a class has an odd count), shuffles the units across classes, and
//! packs them into batches of at most `batch_size` examples (a batch never
//! holds one example alone: it then takes one more unit, and a last batch of
//! one joins the one before): every example
//! with a classmate in the sample meets at least one in its batch. Within a
//! batch each example gets `R` pairs, half with examples of its own class
//! (target 1) and half with examples of other classes (target 0), drawn with
//! replacement from the batch; an example lacking one kind gets only the
//! other. A batch never mixes tasks, and every sentence of a batch runs
//! through the encoder once however many pairs it is in.

use super::order::{seeded, stream};
use super::pair_loss::Pair;
use super::task::Task;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

/// The batches of one task, pass after pass (the smaller task cycles).
pub struct PairBatchOrder {
    seed: u64,
    task: Task,
    pass: u64,
    batches: Vec<Vec<usize>>,
}

/// One step's batch of a task: the examples and their pairs (`a`, `b` are
/// rows of `examples`).
#[derive(Clone, Debug, PartialEq)]
pub struct PairBatch {
    /// Indices into the task's training split.
    pub examples: Vec<usize>,
    /// Labelled pairs of rows of `examples`.
    pub pairs: Vec<Pair>,
}

impl PairBatchOrder {
    /// Before the first pass.
    pub fn new(seed: u64, task: Task) -> Self {
        PairBatchOrder {
            seed,
            task,
            pass: 0,
            batches: Vec::new(),
        }
    }

    /// The next batch of a task whose examples have class `labels`, with
    /// `pairs_per_example` pairs per example.
    pub fn next(
        &mut self,
        labels: &[usize],
        batch_size: usize,
        pairs_per_example: usize,
    ) -> PairBatch {
        let stream = stream::PAIRS + self.task.index() as u64;
        if self.batches.is_empty() {
            let rng = &mut seeded(self.seed, stream, 2 * self.pass);
            self.batches = pack(labels, batch_size.max(1), rng);
            self.batches.reverse(); // popped from the end
        }
        let examples = self
            .batches
            .pop()
            .expect("a non-empty sample gives a batch");
        let batch_index = self.batches.len() as u64;
        // Pairs: one generator per (pass, batch), so a replayed order draws
        // the same pairs.
        let rng = &mut seeded(self.seed, stream, (2 * self.pass + 1) ^ (batch_index << 32));
        if self.batches.is_empty() {
            self.pass += 1;
        }
        let batch_labels: Vec<usize> = examples.iter().map(|&i| labels[i]).collect();
        let pairs = draw_pairs(&batch_labels, pairs_per_example, rng);
        PairBatch { examples, pairs }
    }
}

/// One pass: classmates in units of two, units shuffled, packed in order.
fn pack<R: Rng + ?Sized>(labels: &[usize], batch_size: usize, rng: &mut R) -> Vec<Vec<usize>> {
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut units: Vec<Vec<usize>> = Vec::new();
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        idx.shuffle(rng);
        units.extend(idx.chunks(2).map(<[usize]>::to_vec));
    }
    units.shuffle(rng);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    for u in units {
        // A batch of one has no pair: it takes the next unit even if that overflows.
        if current.len() >= 2 && current.len() + u.len() > batch_size {
            batches.push(std::mem::take(&mut current));
        }
        current.extend(u);
    }
    match batches.last_mut() {
        // A lone example has no pair: it joins the batch before it.
        Some(last) if current.len() == 1 => last.extend(current),
        _ if !current.is_empty() => batches.push(current),
        _ => {}
    }
    batches
}

/// `r` pairs for each row of a batch with class `labels`: `⌈r/2⌉` with
/// rows of its class and `⌊r/2⌋` with rows of other classes (all `r` of the
/// kind it has, if it lacks the other; none if it is alone).
pub fn draw_pairs<R: Rng + ?Sized>(labels: &[usize], r: usize, rng: &mut R) -> Vec<Pair> {
    let n = labels.len();
    let mut pairs = Vec::with_capacity(n * r);
    for i in 0..n {
        let same: Vec<usize> = (0..n)
            .filter(|&j| j != i && labels[j] == labels[i])
            .collect();
        let other: Vec<usize> = (0..n).filter(|&j| labels[j] != labels[i]).collect();
        let (n_same, n_other) = match (same.is_empty(), other.is_empty()) {
            (false, false) => (r.div_ceil(2), r / 2),
            (false, true) => (r, 0),
            (true, false) => (0, r),
            (true, true) => (0, 0),
        };
        for (pool, count, target) in [(&same, n_same, 1.0), (&other, n_other, 0.0)] {
            for _ in 0..count {
                let j = pool[rng.random_range(0..pool.len())];
                pairs.push(Pair { a: i, b: j, target });
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_the_sample_and_pair_classmates() {
        let labels: Vec<usize> = (0..40).map(|i| i % 5).collect();
        let mut order = PairBatchOrder::new(7, Task::A);
        let mut seen = vec![0; labels.len()];
        let mut total = 0;
        while total < labels.len() {
            let b = order.next(&labels, 16, 4);
            assert!(b.examples.len() <= 16 && b.examples.len() >= 2);
            total += b.examples.len();
            for &i in &b.examples {
                seen[i] += 1;
            }
            for (row, &i) in b.examples.iter().enumerate() {
                let mine: Vec<&Pair> = b.pairs.iter().filter(|p| p.a == row).collect();
                assert_eq!(mine.len(), 4);
                assert_eq!(
                    mine.iter().filter(|p| p.target == 1.0).count(),
                    2,
                    "balanced"
                );
                for p in mine {
                    let same = labels[b.examples[p.b]] == labels[i];
                    assert_eq!(same, p.target == 1.0);
                    assert_ne!(p.b, row);
                }
            }
        }
        assert_eq!(total, labels.len(), "one pass visits each example once");
        assert!(seen.iter().all(|&c| c == 1));
        // Deterministic per seed.
        let a = PairBatchOrder::new(3, Task::B).next(&labels, 8, 6);
        let b = PairBatchOrder::new(3, Task::B).next(&labels, 8, 6);
        let c = PairBatchOrder::new(4, Task::B).next(&labels, 8, 6);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn no_batch_of_one() {
        // 7 examples, batches of 2: the pass would end on a batch of one.
        let labels = [0, 0, 0, 1, 1, 1, 2];
        for seed in 0..20 {
            let mut order = PairBatchOrder::new(seed, Task::A);
            let mut total = 0;
            while total < labels.len() {
                let b = order.next(&labels, 2, 2);
                assert!(b.examples.len() >= 2, "seed {seed}: {:?}", b.examples);
                assert!(!b.pairs.is_empty());
                total += b.examples.len();
            }
            assert_eq!(total, labels.len());
        }
    }

    #[test]
    fn a_lone_example_gets_only_the_pairs_it_can_have() {
        let mut rng = seeded(0, 0, 0);
        let pairs = draw_pairs(&[0, 1, 1], 4, &mut rng);
        let of0: Vec<&Pair> = pairs.iter().filter(|p| p.a == 0).collect();
        assert_eq!(of0.len(), 4);
        assert!(of0.iter().all(|p| p.target == 0.0));
        assert!(draw_pairs(&[0], 4, &mut rng).is_empty());
    }
}
