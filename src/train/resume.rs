//! Resume checkpoints: a [`TrainState`] on disk, so that `minilm train
//! --resume DIR` continues a stopped run and ends in the same bits as a run
//! that never stopped.
//!
//! The folder holds `state.safetensors` (the trained tensors as
//! `param/<name>`, the best epoch's as `best/<name>`, the AdamW state as
//! `adamw.*`) and `resume.json` (the step, epoch, best score, the logs so
//! far — every float as its bit pattern, so nothing is rounded — the
//! tensors' sha256, and the caller's `run` object, e.g. the command line).
//! It is written with [`write_dir_atomically`], so a failed write leaves
//! the previous one untouched.

use super::checkpoint::write_dir_atomically;
use super::trainer::{EpochLog, TrainState};
use crate::error::{Error, Result};
use crate::sha256::sha256_hex;
use crate::weights::ParamStore;
use serde_json::{json, Value};
use std::path::Path;

/// Version tag written into `resume.json`.
pub const FORMAT: &str = "minilm-resume/1";

/// Write `state` (and the free-form `run` object) to `dir`, atomically.
pub fn save(dir: &Path, state: &TrainState, run: &Value) -> Result<()> {
    let mut store = ParamStore::default();
    for (n, t) in state.params.iter() {
        store.insert(format!("param/{n}"), t.clone());
    }
    if let Some(best) = &state.best {
        for (n, t) in best.iter() {
            store.insert(format!("best/{n}"), t.clone());
        }
    }
    for (n, t) in state.optimizer.iter() {
        store.insert(n, t.clone());
    }
    let bytes = store.to_safetensors(None);
    let bits = |v: f64| format!("{:016x}", v.to_bits());
    let meta = json!({
        "format": FORMAT,
        "step": state.step,
        "epoch": state.epoch,
        "epoch_steps": state.epoch_steps,
        "epoch_loss": bits(state.epoch_loss),
        "examples": state.examples,
        "has_best": state.best.is_some(),
        "best_epoch": state.best_epoch,
        "best_score": bits(state.best_score),
        "epochs": state.epochs.iter().map(|e| json!({
            "epoch": e.epoch,
            "train_loss": bits(e.train_loss),
            "val_macro_f1": [bits(e.val_macro_f1[0]), bits(e.val_macro_f1[1])],
            "score": bits(e.score),
        })).collect::<Vec<_>>(),
        "step_losses": state.step_losses.iter().map(|&v| bits(v)).collect::<Vec<_>>(),
        "state_sha256": sha256_hex(&bytes),
        "run": run,
    });
    let text = serde_json::to_string_pretty(&meta).expect("JSON values serialise");
    write_dir_atomically(
        dir,
        &[
            ("state.safetensors", bytes),
            ("resume.json", text.into_bytes()),
        ],
    )
}

/// Read a resume folder written by [`save`]: the state and the `run` object.
pub fn load(dir: &Path) -> Result<(TrainState, Value)> {
    let meta_path = dir.join("resume.json");
    if !meta_path.is_file() {
        return Err(Error::file(
            dir,
            "no resume state here (resume.json not found)",
        ));
    }
    let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Error::file(&meta_path, format!("invalid JSON: {e}")))?;
    let err = |m: String| Error::file(&meta_path, m);
    if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(err(format!("not a {FORMAT} file (field \"format\")")));
    }
    let uint = |k: &str| -> Result<usize> {
        v.get(k)
            .and_then(Value::as_u64)
            .map(|n| n as usize)
            .ok_or_else(|| err(format!("missing or invalid field {k:?}")))
    };
    let float = |x: Option<&Value>, k: &str| -> Result<f64> {
        x.and_then(Value::as_str)
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .map(f64::from_bits)
            .ok_or_else(|| err(format!("missing or invalid float {k:?}")))
    };
    let mut epochs = Vec::new();
    for (i, e) in v
        .get("epochs")
        .and_then(Value::as_array)
        .ok_or_else(|| err("missing field \"epochs\"".into()))?
        .iter()
        .enumerate()
    {
        let k = format!("epochs[{i}]");
        let f1 = e.get("val_macro_f1");
        epochs.push(EpochLog {
            epoch: e
                .get("epoch")
                .and_then(Value::as_u64)
                .ok_or_else(|| err(format!("{k}.epoch")))? as usize,
            train_loss: float(e.get("train_loss"), &k)?,
            val_macro_f1: [
                float(f1.and_then(|a| a.get(0)), &k)?,
                float(f1.and_then(|a| a.get(1)), &k)?,
            ],
            score: float(e.get("score"), &k)?,
        });
    }
    let step_losses = v
        .get("step_losses")
        .and_then(Value::as_array)
        .ok_or_else(|| err("missing field \"step_losses\"".into()))?
        .iter()
        .map(|x| float(Some(x), "step_losses"))
        .collect::<Result<Vec<f64>>>()?;
    let st_path = dir.join("state.safetensors");
    let bytes = std::fs::read(&st_path).map_err(|e| Error::io(&st_path, e))?;
    if v.get("state_sha256").and_then(Value::as_str) != Some(sha256_hex(&bytes).as_str()) {
        return Err(Error::file(
            &st_path,
            "contents do not match the sha256 in resume.json (corrupt or replaced)",
        ));
    }
    let all = ParamStore::from_safetensors_any(&bytes, &st_path)?;
    let mut params = ParamStore::default();
    let mut best = ParamStore::default();
    let mut optimizer = ParamStore::default();
    for (n, t) in all.iter() {
        if let Some(name) = n.strip_prefix("param/") {
            params.insert(name, t.clone());
        } else if let Some(name) = n.strip_prefix("best/") {
            best.insert(name, t.clone());
        } else {
            optimizer.insert(n, t.clone());
        }
    }
    let has_best = v.get("has_best").and_then(Value::as_bool).unwrap_or(false);
    let state = TrainState {
        step: uint("step")?,
        epoch: uint("epoch")?,
        epoch_steps: uint("epoch_steps")?,
        epoch_loss: float(v.get("epoch_loss"), "epoch_loss")?,
        examples: uint("examples")?,
        params,
        optimizer,
        best: has_best.then_some(best),
        best_epoch: uint("best_epoch")?,
        best_score: float(v.get("best_score"), "best_score")?,
        epochs,
        step_losses,
    };
    if state.step_losses.len() != state.step {
        return Err(err(format!(
            "{} step losses for step {}",
            state.step_losses.len(),
            state.step
        )));
    }
    Ok((state, v.get("run").cloned().unwrap_or(Value::Null)))
}
