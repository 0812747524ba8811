//! The two tasks and how they are named.

use crate::error::{Error, Result};
use std::fmt;

/// Which head a batch goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    /// Task A (topic classification in the original recipe), head `head_a`.
    A,
    /// Task B (sentiment analysis in the original recipe), head `head_b`.
    B,
}

impl Task {
    /// Both tasks, in order.
    pub const ALL: [Task; 2] = [Task::A, Task::B];

    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        self as usize
    }
    /// Tensor prefix of the task's head: `head_a` or `head_b`.
    pub fn head_prefix(self) -> &'static str {
        match self {
            Task::A => "head_a",
            Task::B => "head_b",
        }
    }
    /// The task's letter, `a` or `b`.
    pub fn letter(self) -> &'static str {
        match self {
            Task::A => "a",
            Task::B => "b",
        }
    }
    /// `a`/`A`/`head_a` or `b`/`B`/`head_b` (a task's own name, like `topic`,
    /// is resolved by the model, which knows it: `MultiTaskModel::task`).
    pub fn from_letter(s: &str) -> Option<Task> {
        match s.to_ascii_lowercase().as_str() {
            "a" | "head_a" | "task_a" => Some(Task::A),
            "b" | "head_b" | "task_b" => Some(Task::B),
            _ => None,
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::A => "A",
            Task::B => "B",
        })
    }
}

impl std::str::FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Task> {
        Task::from_letter(s)
            .ok_or_else(|| Error::msg(format!("unknown task {s:?} (expected A or B)")))
    }
}

/// What a head predicts: the task's name and its class names, in logit order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadSpec {
    /// The task's name, e.g. `topic`.
    pub name: String,
    /// Class names, e.g. `["negative", "positive"]`.
    pub classes: Vec<String>,
}

impl HeadSpec {
    /// A spec from a name and class names.
    pub fn new(name: impl Into<String>, classes: &[&str]) -> Self {
        HeadSpec {
            name: name.into(),
            classes: classes.iter().map(|s| s.to_string()).collect(),
        }
    }
}
