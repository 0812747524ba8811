//! Parameter groups: which part of the multi-task model a tensor belongs to,
//! decided in one place from its name.

use super::task::Task;
use std::fmt;

/// The part of the model a parameter belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamGroup {
    /// The embeddings (token, position, type, their LayerNorm).
    Embeddings,
    /// Encoder layer `n` (0-based).
    Layer(usize),
    /// A task's head (`head_a.*`, `head_b.*`).
    Head(Task),
    /// Anything else (e.g. a pooler the model file carries).
    Other,
}

impl ParamGroup {
    /// The group of the tensor called `name` (model-file or head naming).
    pub fn of(name: &str) -> ParamGroup {
        for t in Task::ALL {
            if name
                .strip_prefix(t.head_prefix())
                .is_some_and(|rest| rest.starts_with('.'))
            {
                return ParamGroup::Head(t);
            }
        }
        if let Some(rest) = name.strip_prefix("encoder.layer.") {
            if let Some(n) = rest.split('.').next().and_then(|n| n.parse().ok()) {
                return ParamGroup::Layer(n);
            }
        }
        if name.starts_with("embeddings.") {
            return ParamGroup::Embeddings;
        }
        ParamGroup::Other
    }

    /// Whether this is a head.
    pub fn is_head(self) -> bool {
        matches!(self, ParamGroup::Head(_))
    }
}

impl fmt::Display for ParamGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamGroup::Embeddings => f.write_str("embeddings"),
            ParamGroup::Layer(n) => write!(f, "layer {n}"),
            ParamGroup::Head(t) => f.write_str(t.head_prefix()),
            ParamGroup::Other => f.write_str("other"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_name() {
        assert_eq!(ParamGroup::of("head_a.weight"), ParamGroup::Head(Task::A));
        assert_eq!(ParamGroup::of("head_b.bias"), ParamGroup::Head(Task::B));
        assert_eq!(ParamGroup::of("head_ab.bias"), ParamGroup::Other);
        assert_eq!(
            ParamGroup::of("encoder.layer.11.output.dense.weight"),
            ParamGroup::Layer(11)
        );
        assert_eq!(
            ParamGroup::of("embeddings.LayerNorm.weight"),
            ParamGroup::Embeddings
        );
        assert_eq!(ParamGroup::of("pooler.dense.weight"), ParamGroup::Other);
    }
}
