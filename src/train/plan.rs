//! Freezing plans: which encoder layers and which heads train, as data.
//!
//! The embeddings never train. Layers below the first trainable one run as
//! plain inference (their output can be cached); layers from the first
//! trainable one up keep activations for the backward pass, and a frozen
//! layer among them only passes gradients through.

use super::task::Task;
use crate::error::{Error, Result};
use crate::weights::layer_tensors;
use std::fmt;

/// The named presets, in order of trainable surface.
pub const PRESETS: [&str; 5] = ["frozen", "heads", "last1", "last2", "all"];

/// The default plan's name (the original recipe's choice).
pub const DEFAULT_PLAN: &str = "last2";

/// Which encoder layers train and whether each head trains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Trainable encoder layers, sorted, without repeats.
    layers: Vec<usize>,
    /// Whether `head_a` / `head_b` train.
    heads: [bool; 2],
    /// Number of layers of the encoder the plan was made for.
    num_layers: usize,
}

impl Plan {
    /// Layers `layers` of an encoder of `num_layers` train, and the heads as given.
    pub fn new(
        num_layers: usize,
        layers: impl IntoIterator<Item = usize>,
        head_a: bool,
        head_b: bool,
    ) -> Result<Self> {
        let mut l: Vec<usize> = layers.into_iter().collect();
        l.sort_unstable();
        l.dedup();
        if let Some(&bad) = l.iter().find(|&&i| i >= num_layers) {
            return Err(Error::msg(format!(
                "plan: layer {bad} does not exist (the encoder has {num_layers})"
            )));
        }
        Ok(Plan {
            layers: l,
            heads: [head_a, head_b],
            num_layers,
        })
    }

    /// A named plan for an encoder of `num_layers` layers: a preset
    /// (`frozen`: nothing trains; `heads`: both heads; `last1`: the last layer
    /// and the heads; `last2`: the last two layers and the heads; `all`: every
    /// layer and the heads), optionally followed by `,freeze-a` or
    /// `,freeze-b` to keep one head fixed while the rest trains (continual
    /// learning). The explicit form `layers=3,4,5/heads=b` (`layers=none`,
    /// `heads=none` allowed) is what [`Plan`]'s `Display` prints for a plan
    /// that no preset names.
    pub fn parse(spec: &str, num_layers: usize) -> Result<Self> {
        // Modifiers come last: `base,freeze-a`. (The explicit form has commas of its own.)
        let mut base = spec.trim();
        let mut mods = Vec::new();
        while let Some((rest, m)) = base.rsplit_once(',') {
            if !m.trim().starts_with("freeze-") {
                break;
            }
            mods.push(m.trim());
            base = rest.trim();
        }
        let n = num_layers;
        let mut plan = match base {
            "frozen" => Plan::new(n, [], false, false)?,
            "heads" => Plan::new(n, [], true, true)?,
            "last1" => Plan::new(n, n.saturating_sub(1)..n, true, true)?,
            "last2" => Plan::new(n, n.saturating_sub(2)..n, true, true)?,
            "all" => Plan::new(n, 0..n, true, true)?,
            s if s.starts_with("layers=") => Self::parse_explicit(s, n)?,
            other => {
                return Err(Error::msg(format!(
                    "unknown plan {other:?} (expected one of {}, optionally with ,freeze-a or ,freeze-b)",
                    PRESETS.join(", ")
                )))
            }
        };
        for m in mods.into_iter().rev() {
            plan = match m {
                "freeze-a" => plan.freeze_head(Task::A),
                "freeze-b" => plan.freeze_head(Task::B),
                other => {
                    return Err(Error::msg(format!(
                        "unknown plan modifier {other:?} (expected freeze-a or freeze-b)"
                    )))
                }
            };
        }
        Ok(plan)
    }

    fn parse_explicit(s: &str, n: usize) -> Result<Self> {
        let bad = || {
            Error::msg(format!(
                "plan {s:?}: expected layers=I,J,…/heads=a|b|ab|none"
            ))
        };
        let (l, h) = s.split_once('/').ok_or_else(bad)?;
        let l = l.strip_prefix("layers=").ok_or_else(bad)?;
        let h = h.strip_prefix("heads=").ok_or_else(bad)?;
        let layers: Vec<usize> = if l == "none" {
            vec![]
        } else {
            l.split(',')
                .map(|x| x.parse().map_err(|_| bad()))
                .collect::<Result<_>>()?
        };
        let (a, b) = match h {
            "none" => (false, false),
            "a" => (true, false),
            "b" => (false, true),
            "ab" | "a,b" => (true, true),
            _ => return Err(bad()),
        };
        Plan::new(n, layers, a, b)
    }

    /// The same plan with `task`'s head frozen.
    pub fn freeze_head(mut self, task: Task) -> Self {
        self.heads[task.index()] = false;
        self
    }

    /// Trainable layers, ascending.
    pub fn layers(&self) -> &[usize] {
        &self.layers
    }
    /// True when layer `i` trains.
    pub fn trains_layer(&self, i: usize) -> bool {
        self.layers.binary_search(&i).is_ok()
    }
    /// True when `task`'s head trains.
    pub fn trains_head(&self, task: Task) -> bool {
        self.heads[task.index()]
    }
    /// True when nothing trains (feature extraction: no gradients at all).
    pub fn is_frozen(&self) -> bool {
        self.layers.is_empty() && !self.heads.iter().any(|&h| h)
    }
    /// Number of layers of the encoder this plan is for.
    pub fn num_layers(&self) -> usize {
        self.num_layers
    }
    /// The first layer that keeps activations: the lowest trainable layer,
    /// or `num_layers` when the encoder is frozen. Layers below it form the
    /// frozen prefix; its input is what a trainer may cache.
    pub fn first_layer(&self) -> usize {
        self.layers.first().copied().unwrap_or(self.num_layers)
    }

    /// Names of the trainable tensors (model-file names plus `head_a.*`,
    /// `head_b.*`), given the encoder's hidden and intermediate widths.
    pub fn trainable_names(&self, hidden: usize, intermediate: usize) -> Vec<String> {
        let mut v = Vec::new();
        for &l in &self.layers {
            for (suffix, _) in layer_tensors(hidden, intermediate) {
                v.push(format!("encoder.layer.{l}.{suffix}"));
            }
        }
        for t in Task::ALL {
            if self.trains_head(t) {
                v.push(format!("{}.weight", t.head_prefix()));
                v.push(format!("{}.bias", t.head_prefix()));
            }
        }
        v
    }

    /// The preset that equals this plan, if any (modifiers included).
    fn preset_name(&self) -> Option<String> {
        for p in PRESETS {
            let base = Plan::parse(p, self.num_layers).ok()?;
            if base.layers != self.layers {
                continue;
            }
            return match (base.heads, self.heads) {
                (x, y) if x == y => Some(p.to_string()),
                ([true, true], [false, true]) => Some(format!("{p},freeze-a")),
                ([true, true], [true, false]) => Some(format!("{p},freeze-b")),
                _ => continue,
            };
        }
        None
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.preset_name() {
            return f.write_str(&p);
        }
        let layers = if self.layers.is_empty() {
            "none".to_string()
        } else {
            self.layers
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let heads = match self.heads {
            [true, true] => "ab",
            [true, false] => "a",
            [false, true] => "b",
            [false, false] => "none",
        };
        write!(f, "layers={layers}/heads={heads}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        let p = |s: &str| Plan::parse(s, 6).unwrap();
        assert!(p("frozen").is_frozen());
        assert_eq!(p("heads").first_layer(), 6);
        assert_eq!(p("last1").layers(), &[5]);
        assert_eq!(p("last2").layers(), &[4, 5]);
        assert_eq!(p("all").layers(), &[0, 1, 2, 3, 4, 5]);
        assert_eq!(p("last2").trainable_names(384, 1536).len(), 36);
        assert_eq!(p("all").trainable_names(384, 1536).len(), 100);
        let c = p("last2,freeze-a");
        assert!(!c.trains_head(Task::A) && c.trains_head(Task::B));
        for s in [
            "frozen",
            "heads",
            "last1",
            "last2",
            "all",
            "last2,freeze-a",
            "heads,freeze-b",
            "layers=3,5/heads=b",
        ] {
            assert_eq!(p(s).to_string(), s);
            assert_eq!(p(&p(s).to_string()), p(s));
        }
        assert!(Plan::parse("last3", 6).is_err());
        assert!(Plan::parse("layers=9/heads=ab", 6).is_err());
        assert!(Plan::parse("last2,freeze-c", 6).is_err());
    }
}
