//! The record types: one labelled text ([`Example`]) and a list of them with
//! its label set ([`Dataset`]).

use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub label: String,
}

impl Example {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Example {
        Example {
            text: text.into(),
            label: label.into(),
        }
    }
}

/// A list of examples and the sorted names of its labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    pub examples: Vec<Example>,
    /// Sorted, without duplicates. Either the labels that occur in
    /// `examples`, or a label set given by the caller (which may hold labels
    /// that no example carries).
    pub labels: Vec<String>,
}

impl Dataset {
    /// A dataset whose label names are the ones that occur in `examples`.
    pub fn new(examples: Vec<Example>) -> Dataset {
        let labels: BTreeSet<&str> = examples.iter().map(|e| e.label.as_str()).collect();
        let labels = labels.into_iter().map(str::to_string).collect();
        Dataset { examples, labels }
    }

    /// A dataset with a fixed label set; an example whose label is not in
    /// `labels` is an error.
    pub fn with_labels(examples: Vec<Example>, labels: &[String]) -> Result<Dataset> {
        let set: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
        if let Some(e) = examples.iter().find(|e| !set.contains(e.label.as_str())) {
            return Err(Error::msg(format!(
                "unknown label {:?} (expected one of {})",
                e.label,
                join_labels(labels)
            )));
        }
        let labels = set.into_iter().map(str::to_string).collect();
        Ok(Dataset { examples, labels })
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The index in `labels` of each example's label, in example order. An
    /// example whose label is not in `labels` is an error.
    pub fn label_indices(&self, labels: &[String]) -> Result<Vec<usize>> {
        let index: BTreeMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        self.examples
            .iter()
            .enumerate()
            .map(|(i, e)| {
                index.get(e.label.as_str()).copied().ok_or_else(|| {
                    Error::msg(format!(
                        "example {}: label {:?} is not one of {}",
                        i + 1,
                        e.label,
                        join_labels(labels)
                    ))
                })
            })
            .collect()
    }

    /// The index in `self.labels` of each example's label.
    pub fn own_label_indices(&self) -> Vec<usize> {
        let index: BTreeMap<&str, usize> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        // Every example's label is in `self.labels` by construction; an
        // example added by hand afterwards with another label maps to the
        // end of the list rather than panicking.
        self.examples
            .iter()
            .map(|e| {
                index
                    .get(e.label.as_str())
                    .copied()
                    .unwrap_or(self.labels.len())
            })
            .collect()
    }

    /// How many examples carry each label, for every name in `self.labels`
    /// (zero included), in label order.
    pub fn label_counts(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<&str, usize> =
            self.labels.iter().map(|l| (l.as_str(), 0)).collect();
        for e in &self.examples {
            *counts.entry(e.label.as_str()).or_insert(0) += 1;
        }
        counts
            .into_iter()
            .map(|(l, n)| (l.to_string(), n))
            .collect()
    }

    /// `N examples (a 12, b 30)`, for logs.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .label_counts()
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        format!("{} examples ({})", self.len(), parts.join(", "))
    }
}

pub(super) fn join_labels(labels: &[String]) -> String {
    let v: Vec<String> = labels.iter().map(|l| format!("{l:?}")).collect();
    v.join(", ")
}
