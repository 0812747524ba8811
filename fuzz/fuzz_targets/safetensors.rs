//! `model.safetensors` from arbitrary bytes: the header (length, JSON,
//! offsets, dtypes, shapes) and the data, checked against a tiny config
//! (vocab 16, hidden 8, 2 heads, 1 layer, FFN 16, 8 positions) and read
//! with no expectations (`from_safetensors_any`, as checkpoints are).
#![no_main]

use libfuzzer_sys::fuzz_target;
use minilm::config::BertConfig;
use minilm::weights::ParamStore;
use std::path::Path;
use std::sync::OnceLock;

fn tiny() -> &'static BertConfig {
    static C: OnceLock<BertConfig> = OnceLock::new();
    C.get_or_init(|| {
        let v = serde_json::json!({
            "vocab_size": 16, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 16,
            "max_position_embeddings": 8, "type_vocab_size": 2,
            "layer_norm_eps": 1e-12, "hidden_act": "gelu"
        });
        BertConfig::from_json(&v).expect("tiny config is valid")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("model.safetensors");
    if let Err(e) = ParamStore::from_bytes(data, path, tiny()) {
        assert!(e.to_string().starts_with("model.safetensors: "), "{e}");
    }
    let _ = ParamStore::from_safetensors_any(data, path);
});
