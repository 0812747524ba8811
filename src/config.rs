//! The model's shape and the sentence pipeline's settings, read from a model
//! folder in the standard sentence-transformers layout.

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// BERT hyper-parameters from `config.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    /// Width of every hidden state (384).
    pub hidden_size: usize,
    /// Number of transformer layers (6).
    pub num_layers: usize,
    /// Attention heads per layer (12); `hidden_size / num_heads` is the head width.
    pub num_heads: usize,
    /// Width of the feed-forward layer (1536).
    pub intermediate_size: usize,
    /// LayerNorm epsilon (1e-12).
    pub layer_norm_eps: f32,
    /// Word-piece vocabulary size (30522).
    pub vocab_size: usize,
    /// Number of learned positions (512).
    pub max_position_embeddings: usize,
    /// Number of token types (2).
    pub type_vocab_size: usize,
    /// Dropout on hidden states during training (0.1).
    pub hidden_dropout: f32,
    /// Dropout on attention probabilities during training (0.1).
    pub attention_dropout: f32,
}

impl BertConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads
    }

    /// Parse `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let v = read_json(path)?;
        Self::from_json(&v).map_err(|m| Error::file(path, m))
    }

    /// Parse an already-read `config.json` object; the error is the bare message.
    pub fn from_json(v: &Value) -> std::result::Result<Self, String> {
        let usize_field = |name: &str| -> std::result::Result<usize, String> {
            let x = v
                .get(name)
                .ok_or_else(|| format!("missing field {name:?}"))?;
            let n = x.as_u64().ok_or_else(|| {
                format!("field {name:?} must be a non-negative integer, found {x}")
            })?;
            if n == 0 || n > 1 << 24 {
                return Err(format!("field {name:?} = {n} is out of range"));
            }
            Ok(n as usize)
        };
        let prob_field = |name: &str| -> std::result::Result<f32, String> {
            match v.get(name) {
                None => Ok(0.1),
                Some(x) => match x.as_f64() {
                    Some(p) if (0.0..1.0).contains(&p) => Ok(p as f32),
                    _ => Err(format!(
                        "field {name:?} must be a probability in [0, 1), found {x}"
                    )),
                },
            }
        };
        if let Some(act) = v.get("hidden_act") {
            if act.as_str() != Some("gelu") {
                return Err(format!(
                    "hidden_act {act} is not supported (only \"gelu\", the exact erf form)"
                ));
            }
        }
        if let Some(p) = v.get("position_embedding_type") {
            if p.as_str() != Some("absolute") {
                return Err(format!(
                    "position_embedding_type {p} is not supported (only \"absolute\")"
                ));
            }
        }
        let eps = match v.get("layer_norm_eps") {
            None => 1e-12,
            Some(x) => match x.as_f64() {
                Some(e) if e > 0.0 && e < 1.0 => e as f32,
                _ => {
                    return Err(format!(
                        "field \"layer_norm_eps\" must be in (0, 1), found {x}"
                    ))
                }
            },
        };
        let c = BertConfig {
            hidden_size: usize_field("hidden_size")?,
            num_layers: usize_field("num_hidden_layers")?,
            num_heads: usize_field("num_attention_heads")?,
            intermediate_size: usize_field("intermediate_size")?,
            layer_norm_eps: eps,
            vocab_size: usize_field("vocab_size")?,
            max_position_embeddings: usize_field("max_position_embeddings")?,
            type_vocab_size: usize_field("type_vocab_size")?,
            hidden_dropout: prob_field("hidden_dropout_prob")?,
            attention_dropout: prob_field("attention_probs_dropout_prob")?,
        };
        if !c.hidden_size.is_multiple_of(c.num_heads) {
            return Err(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                c.hidden_size, c.num_heads
            ));
        }
        if c.num_layers > 1024 {
            return Err(format!("num_hidden_layers {} is absurd", c.num_layers));
        }
        Ok(c)
    }
}

/// How token states become one sentence vector (from `1_Pooling/config.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the tokens whose attention mask is 1.
    Mean,
}

/// The sentence pipeline around the transformer.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
    /// Inputs are truncated to this many word pieces, [CLS] and [SEP] included.
    pub max_seq_length: usize,
    /// Pooling mode; only mean pooling is supported.
    pub pooling: Pooling,
    /// Whether the pipeline ends with L2 normalisation (a `Normalize` module).
    pub normalize: bool,
}

impl PipelineConfig {
    /// Read the optional `sentence_bert_config.json`, `1_Pooling/config.json`
    /// and `modules.json` of a model folder; absent files mean the defaults of
    /// all-MiniLM-L6-v2 (256 word pieces, mean pooling, normalised).
    pub fn from_dir(dir: &Path, bert: &BertConfig) -> Result<Self> {
        Self::from_sources(bert, |name| {
            let path = dir.join(name);
            Ok(match path.exists() {
                true => Some((read_json(&path)?, path)),
                false => None,
            })
        })
    }

    /// As [`PipelineConfig::from_dir`], with the files supplied by `load`:
    /// given a path relative to the model folder (e.g. `1_Pooling/config.json`),
    /// it returns the parsed file and the path that names it in errors, or
    /// `None` when the file is absent (used for a model built into the binary).
    pub fn from_sources(
        bert: &BertConfig,
        load: impl Fn(&str) -> Result<Option<(Value, std::path::PathBuf)>>,
    ) -> Result<Self> {
        let mut cfg = PipelineConfig {
            max_seq_length: 256,
            pooling: Pooling::Mean,
            normalize: true,
        };
        if let Some((v, sb)) = load("sentence_bert_config.json")? {
            if let Some(x) = v.get("max_seq_length") {
                let n = x.as_u64().ok_or_else(|| {
                    Error::file(&sb, format!("max_seq_length must be an integer, found {x}"))
                })?;
                if n < 2 || n as usize > bert.max_position_embeddings {
                    return Err(Error::file(
                        &sb,
                        format!(
                            "max_seq_length {n} must be in 2..={}",
                            bert.max_position_embeddings
                        ),
                    ));
                }
                cfg.max_seq_length = n as usize;
            }
        }
        if let Some((v, pool)) = load("1_Pooling/config.json")? {
            let on = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
            let others = [
                "pooling_mode_cls_token",
                "pooling_mode_max_tokens",
                "pooling_mode_mean_sqrt_len_tokens",
                "pooling_mode_weightedmean_tokens",
                "pooling_mode_lasttoken",
            ];
            if !on("pooling_mode_mean_tokens") || others.iter().any(|k| on(k)) {
                return Err(Error::file(
                    &pool,
                    "only mean pooling (pooling_mode_mean_tokens alone) is supported",
                ));
            }
        }
        if let Some((v, modules)) = load("modules.json")? {
            let list = v
                .as_array()
                .ok_or_else(|| Error::file(&modules, "expected a JSON array of modules"))?;
            cfg.normalize = list.iter().any(|m| {
                m.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.ends_with(".Normalize"))
            });
        }
        Ok(cfg)
    }
}

/// Read and parse a JSON file, naming it in any error.
pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::file(path, format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
               "intermediate_size": 1536, "layer_norm_eps": 1e-12, "vocab_size": 30522,
               "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu"})
    }

    #[test]
    fn parses_minilm_config() {
        let c = BertConfig::from_json(&base()).unwrap();
        assert_eq!((c.hidden_size, c.head_dim(), c.num_layers), (384, 32, 6));
    }

    #[test]
    fn rejects_bad_configs() {
        let cases: &[(&str, Value, &str)] = &[
            ("num_attention_heads", json!(0), "out of range"),
            ("num_attention_heads", json!(7), "not divisible"),
            ("hidden_size", json!("big"), "non-negative integer"),
            ("hidden_act", json!("gelu_new"), "not supported"),
            ("layer_norm_eps", json!(-1.0), "layer_norm_eps"),
        ];
        for (field, value, needle) in cases {
            let mut v = base();
            v[*field] = value.clone();
            let e = BertConfig::from_json(&v).unwrap_err();
            assert!(e.contains(needle), "{field}: {e}");
        }
        let mut v = base();
        v.as_object_mut().unwrap().remove("vocab_size");
        assert!(BertConfig::from_json(&v)
            .unwrap_err()
            .contains("missing field \"vocab_size\""));
    }
}
