//! Checkpoints: only the trained tensors (plus both heads) in safetensors,
//! and a metadata JSON tying them to the exact base model, the plan, the
//! tasks and their class names, the hyper-parameters and the metrics.
//!
//! A checkpoint folder holds `trained.safetensors`, `meta.json` and, for
//! resuming, `optimizer.safetensors`. It is written into a fresh sibling
//! folder and swapped in by renames, so a crash or a failed write never
//! leaves a half-written checkpoint in place of a good one.

use super::group::ParamGroup;
use super::multitask::MultiTaskModel;
use super::plan::Plan;
use super::task::{HeadSpec, Task};
use crate::config::BertConfig;
use crate::error::{Error, Result};
use crate::sha256::{sha256_file, sha256_hex};
use crate::weights::ParamStore;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Version tag written into `meta.json`.
pub const FORMAT: &str = "minilm-checkpoint/1";

/// What `meta.json` says.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// SHA-256 of the base model's `model.safetensors`.
    pub base_model_sha256: String,
    /// The freezing plan trained under (its `Display` form).
    pub plan: String,
    /// Task A's and task B's names and class names.
    pub heads: [HeadSpec; 2],
    /// Whether sentence embeddings were L2-normalised before the heads.
    pub normalize: bool,
    /// Hyper-parameters, free-form.
    pub hyperparameters: Value,
    /// Metrics, free-form.
    pub metrics: Value,
    /// Optimizer steps taken.
    pub step: u64,
}

impl Meta {
    fn to_json(&self, tensors_sha256: &str) -> Value {
        let head = |h: &HeadSpec| json!({"name": h.name, "classes": h.classes});
        json!({
            "format": FORMAT,
            "base_model_sha256": self.base_model_sha256,
            "plan": self.plan,
            "tasks": {"a": head(&self.heads[0]), "b": head(&self.heads[1])},
            "normalize": self.normalize,
            "hyperparameters": self.hyperparameters,
            "metrics": self.metrics,
            "step": self.step,
            "trained_sha256": tensors_sha256,
        })
    }

    fn from_json(v: &Value, path: &Path) -> Result<(Self, String)> {
        let err = |m: &str| Error::file(path, m);
        if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(err(&format!(
                "not a {FORMAT} checkpoint (field \"format\")"
            )));
        }
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| err(&format!("missing field {k:?}")))
        };
        let head = |t: &str| -> Result<HeadSpec> {
            let h = v
                .get("tasks")
                .and_then(|x| x.get(t))
                .ok_or_else(|| err(&format!("missing tasks.{t}")))?;
            let name = h
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| err(&format!("missing tasks.{t}.name")))?;
            let classes: Vec<String> = h
                .get("classes")
                .and_then(Value::as_array)
                .ok_or_else(|| err(&format!("missing tasks.{t}.classes")))?
                .iter()
                .map(|c| {
                    c.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| err("class names must be strings"))
                })
                .collect::<Result<_>>()?;
            if classes.len() < 2 {
                return Err(err(&format!("tasks.{t} needs at least two classes")));
            }
            Ok(HeadSpec {
                name: name.to_string(),
                classes,
            })
        };
        let meta = Meta {
            base_model_sha256: s("base_model_sha256")?,
            plan: s("plan")?,
            heads: [head("a")?, head("b")?],
            normalize: v.get("normalize").and_then(Value::as_bool).unwrap_or(false),
            hyperparameters: v.get("hyperparameters").cloned().unwrap_or(Value::Null),
            metrics: v.get("metrics").cloned().unwrap_or(Value::Null),
            step: v.get("step").and_then(Value::as_u64).unwrap_or(0),
        };
        Ok((meta, s("trained_sha256")?))
    }
}

/// Write a checkpoint of `model` (the tensors `plan` trains, and both heads
/// always) to `dir`, replacing any checkpoint there only once the new one is
/// complete. `optimizer`, when given, is saved for `--resume`.
pub fn save(
    dir: &Path,
    model: &MultiTaskModel,
    plan: &Plan,
    meta: &Meta,
    optimizer: Option<&ParamStore>,
) -> Result<()> {
    let cfg = model.config();
    let mut trained = model.head_params();
    for name in plan.trainable_names(cfg.hidden_size, cfg.intermediate_size) {
        if !ParamGroup::of(&name).is_head() {
            trained.insert(name.clone(), model.params().get(&name).clone());
        }
    }
    let bytes = trained.to_safetensors(None);
    let meta_json = serde_json::to_string_pretty(&meta.to_json(&sha256_hex(&bytes)))
        .expect("JSON values serialise");
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("trained.safetensors", bytes),
        ("meta.json", meta_json.into_bytes()),
    ];
    if let Some(opt) = optimizer {
        files.push(("optimizer.safetensors", opt.to_safetensors(None)));
    }
    write_dir_atomically(dir, &files)
}

/// Write `files` (plain file names) as the whole new content of `dir`,
/// with [`crate::atomic::write_dir`]: built in a new sibling folder, synced,
/// then swapped in. If anything fails, `dir` is untouched and no temporary
/// folder remains. A checkpoint folder is flat: a name holding a path
/// separator is refused before anything is written.
pub fn write_dir_atomically(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    if let Some((name, _)) = files.iter().find(|(n, _)| n.contains(['/', '\\'])) {
        return Err(Error::file(&dir.join(name), "not a plain file name"));
    }
    crate::atomic::write_dir(dir, files)
}

/// A loaded checkpoint: its metadata and tensors.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// `meta.json`.
    pub meta: Meta,
    /// `trained.safetensors`.
    pub tensors: ParamStore,
    /// `optimizer.safetensors`, when present.
    pub optimizer: Option<ParamStore>,
    /// Where it was read from.
    pub dir: PathBuf,
}

impl Checkpoint {
    /// Read and check a checkpoint folder.
    pub fn read(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::file(dir, "checkpoint folder not found"));
        }
        let meta_path = dir.join("meta.json");
        let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::file(&meta_path, format!("invalid JSON: {e}")))?;
        let (meta, want_sha) = Meta::from_json(&v, &meta_path)?;
        let st_path = dir.join("trained.safetensors");
        let bytes = std::fs::read(&st_path).map_err(|e| Error::io(&st_path, e))?;
        if sha256_hex(&bytes) != want_sha {
            return Err(Error::file(
                &st_path,
                "contents do not match the sha256 in meta.json (corrupt or replaced)",
            ));
        }
        let tensors = ParamStore::from_safetensors_any(&bytes, &st_path)?;
        let opt_path = dir.join("optimizer.safetensors");
        let optimizer = if opt_path.exists() {
            let b = std::fs::read(&opt_path).map_err(|e| Error::io(&opt_path, e))?;
            Some(ParamStore::from_safetensors_any(&b, &opt_path)?)
        } else {
            None
        };
        Ok(Checkpoint {
            meta,
            tensors,
            optimizer,
            dir: dir.to_path_buf(),
        })
    }

    /// Refuse a checkpoint made for another base model than `model_file`.
    pub fn check_base(&self, model_file: &Path) -> Result<()> {
        let sha = sha256_file(model_file)?;
        if sha != self.meta.base_model_sha256 {
            return Err(Error::file(
                &self.dir,
                format!(
                    "checkpoint was trained on base model {}…, but {} is {}…",
                    self.meta
                        .base_model_sha256
                        .chars()
                        .take(12)
                        .collect::<String>(),
                    model_file.display(),
                    &sha[..12]
                ),
            ));
        }
        Ok(())
    }

    /// Apply the checkpoint over the base model's parameters and build the
    /// multi-task model it describes.
    pub fn into_model(&self, base: &ParamStore, config: &BertConfig) -> Result<MultiTaskModel> {
        self.apply_to(base.clone(), config)
    }

    /// [`Checkpoint::into_model`] over base parameters taken by value (no
    /// copy of the base weights).
    pub fn apply_to(&self, mut params: ParamStore, config: &BertConfig) -> Result<MultiTaskModel> {
        for (name, t) in self.tensors.iter() {
            if let Some(p) = params.try_get(name) {
                if p.shape != t.shape {
                    return Err(Error::tensor(
                        &self.dir.join("trained.safetensors"),
                        name,
                        format!("shape {:?}, the base model has {:?}", t.shape, p.shape),
                    ));
                }
            } else if !ParamGroup::of(name).is_head() {
                return Err(Error::tensor(
                    &self.dir.join("trained.safetensors"),
                    name,
                    "not a parameter of the model",
                ));
            }
            params.insert(name, t.clone());
        }
        for t in Task::ALL {
            let w = format!("{}.weight", t.head_prefix());
            let classes = self.meta.heads[t.index()].classes.len();
            match params.try_get(&w) {
                Some(x) if x.shape == [classes, config.hidden_size] => {}
                _ => {
                    return Err(Error::tensor(
                        &self.dir.join("trained.safetensors"),
                        &w,
                        format!("missing or not [{classes}, {}]", config.hidden_size),
                    ))
                }
            }
        }
        Ok(
            MultiTaskModel::from_params(params, config, self.meta.heads.clone())?
                .with_normalize(self.meta.normalize),
        )
    }
}
