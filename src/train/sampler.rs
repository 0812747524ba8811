//! Few-shot sampling and stratified hold-out splits, deterministic for a
//! seed.
//!
//! Both functions shuffle every class completely with one generator
//! (`StdRng::seed_from_u64(seed)`), visiting the classes in sorted order, and
//! then take a prefix. So the K-shot sample of a seed is contained in the
//! (K+1)-shot sample of the same seed, and the draw for one class does not
//! depend on K. Outputs keep the order of the input dataset.

use crate::error::{Error, Result};
use crate::train::data::{Dataset, Example};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;

/// A class that had fewer examples than asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub label: String,
    pub wanted: usize,
    pub available: usize,
}

/// The indices of the examples of each label, in dataset order, for every
/// name in `dataset.labels` (possibly empty) plus any other label met.
fn by_class(dataset: &Dataset) -> BTreeMap<&str, Vec<usize>> {
    let mut classes: BTreeMap<&str, Vec<usize>> = dataset
        .labels
        .iter()
        .map(|l| (l.as_str(), Vec::new()))
        .collect();
    for (i, e) in dataset.examples.iter().enumerate() {
        classes.entry(e.label.as_str()).or_default().push(i);
    }
    classes
}

/// Each class's indices shuffled by one generator seeded with `seed`.
fn shuffled_classes(dataset: &Dataset, seed: u64) -> BTreeMap<&str, Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut classes = by_class(dataset);
    for idx in classes.values_mut() {
        idx.shuffle(&mut rng);
    }
    classes
}

fn subset(dataset: &Dataset, mut keep: Vec<usize>) -> Dataset {
    keep.sort_unstable();
    let examples: Vec<Example> = keep
        .into_iter()
        .map(|i| dataset.examples[i].clone())
        .collect();
    Dataset {
        examples,
        labels: dataset.labels.clone(),
    }
}

/// K examples of each class drawn with `seed` (`None`: all of them), and the
/// classes that had fewer than K (all of whose examples are then taken).
/// The label set of the result is the input's.
pub fn sample_k_per_class_report(
    dataset: &Dataset,
    k: Option<usize>,
    seed: u64,
) -> (Dataset, Vec<Shortfall>) {
    let Some(k) = k else {
        return (dataset.clone(), Vec::new());
    };
    let mut keep = Vec::new();
    let mut short = Vec::new();
    for (label, idx) in shuffled_classes(dataset, seed) {
        if idx.len() < k {
            short.push(Shortfall {
                label: label.to_string(),
                wanted: k,
                available: idx.len(),
            });
        }
        keep.extend(idx.into_iter().take(k));
    }
    (subset(dataset, keep), short)
}

/// K examples of each class drawn with `seed` (`None`: the whole dataset).
/// Deterministic for a seed. A class with fewer than K examples gives all it
/// has, and a warning on stderr says so (use
/// [`sample_k_per_class_report`] to get the shortfalls instead).
pub fn sample_k_per_class(dataset: &Dataset, k: Option<usize>, seed: u64) -> Dataset {
    let (out, short) = sample_k_per_class_report(dataset, k, seed);
    for s in &short {
        eprintln!(
            "warning: class {:?} has only {} examples, fewer than the {} asked for; taking all of them",
            s.label, s.available, s.wanted
        );
    }
    out
}

/// How much of each class to hold out for validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Holdout {
    /// This fraction of each class, rounded to the nearest count (in
    /// `[0, 1)`). A class with two or more examples gives at least one when
    /// the fraction is above zero.
    Fraction(f64),
    /// This many examples of each class.
    PerClass(usize),
}

/// Split `dataset` into (train, validation), stratified by class and
/// deterministic for `seed`. Every class keeps at least one example in
/// train, so a class with a single example is never held out. Both parts
/// keep the input's label set and order.
pub fn holdout(dataset: &Dataset, how: Holdout, seed: u64) -> Result<(Dataset, Dataset)> {
    if let Holdout::Fraction(f) = how {
        if !(0.0..1.0).contains(&f) {
            return Err(Error::msg(format!(
                "hold-out fraction must be in [0, 1), got {f}"
            )));
        }
    }
    let mut train = Vec::new();
    let mut val = Vec::new();
    for (_, idx) in shuffled_classes(dataset, seed) {
        let n = idx.len();
        let want = match how {
            Holdout::Fraction(f) => {
                let r = (f * n as f64).round() as usize;
                if f > 0.0 && n >= 2 {
                    r.max(1)
                } else {
                    r
                }
            }
            Holdout::PerClass(c) => c,
        };
        let n_val = want.min(n.saturating_sub(1));
        val.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    Ok((subset(dataset, train), subset(dataset, val)))
}
