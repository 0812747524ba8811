//! 16-bit weights: the model rounded to bf16 and to f16 (as `minilm convert`
//! writes it), loaded back (widened to f32) and run over every reference
//! fixture text. Each embedding's cosine to the sentence-transformers f32
//! embedding must be ≥ 0.9999; min and mean are printed
//! (`cargo test --release --test half_precision -- --nocapture`).

mod common;

use common::*;
use minilm::config::{BertConfig, PipelineConfig};
use minilm::tokenize::Tokenizer;
use minilm::weights::ParamStore;
use minilm::Encoder;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

#[test]
fn bf16_and_f16_weights_keep_cosine_above_0_9999() {
    let (texts, want) = reference_fixtures();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();

    let dir = real_model_dir();
    let config = BertConfig::from_file(&dir.join("config.json")).unwrap();
    let pipeline = PipelineConfig::from_dir(&dir, &config).unwrap();
    let tokenizer =
        Tokenizer::from_file(&dir.join("tokenizer.json"), pipeline.max_seq_length).unwrap();
    let f32_params = ParamStore::load(&dir.join("model.safetensors"), &config).unwrap();

    for dtype in [Dtype::BF16, Dtype::F16] {
        let bytes = f32_params.to_safetensors_as(dtype, None);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert!(st.tensors().iter().all(|(_, v)| v.dtype() == dtype));
        let params = ParamStore::from_bytes(&bytes, Path::new("half"), &config).unwrap();
        let enc = Encoder::from_parts(config.clone(), pipeline.clone(), params, tokenizer.clone());
        let got = enc.embed(&texts).unwrap();
        let cos: Vec<f64> = got.iter().zip(&want).map(|(g, w)| cosine(g, w)).collect();
        let (imin, min) = cos
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        let mean = cos.iter().sum::<f64>() / cos.len() as f64;
        eprintln!(
            "{dtype:?}: cosine to f32 reference over {} texts: min {min:.7} (text {imin}), mean {mean:.7}",
            cos.len()
        );
        assert!(min >= 0.9999, "{dtype:?}: min cosine {min} (text {imin})");
    }
}
