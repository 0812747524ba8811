//! `config.json` from arbitrary bytes: JSON syntax, then every field's
//! presence, type and range (heads dividing hidden, sizes not absurd).
#![no_main]

use libfuzzer_sys::fuzz_target;
use minilm::config::BertConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(c) = BertConfig::from_json(&v) {
        // An accepted config must describe a model that can be built.
        assert!(c.num_heads > 0 && c.hidden_size % c.num_heads == 0);
        let _ = c.head_dim();
    }
});
