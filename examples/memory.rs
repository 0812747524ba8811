//! What a loaded `Encoder` keeps resident, counted from its buffers
//! (docs/architecture.md, "Weights in memory"):
//!
//! ```text
//! cargo run --release --example memory [MODEL_DIR]
//! ```
//!
//! Prints the bytes of the parameter store (`ParamStore`: every tensor of
//! `model.safetensors` as `f32`, by name) and of the model built from it
//! (`BertModel`: the embedding tables, the packed linear weights
//! `PackedWeight`, biases and LayerNorm vectors, all copies), and the
//! process's resident set (`VmRSS`) and peak (`VmHWM`) after loading.

fn status_kb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

fn mb(floats: usize) -> String {
    format!("{:>11} B  {:6.1} MB", floats * 4, floats as f64 * 4.0 / 1e6)
}

fn main() -> minilm::Result<()> {
    let dir = std::env::args().nth(1).map(Into::into);
    let rss_before = status_kb("VmRSS:");
    let encoder = minilm::Encoder::from_dir(dir.unwrap_or_else(minilm::default_model_dir))?;
    let rss_after = status_kb("VmRSS:");

    let store: usize = encoder.params().iter().map(|(_, t)| t.data.len()).sum();

    let model = encoder.model();
    let cfg = &model.config;
    let (h, vocab) = (cfg.hidden_size, cfg.vocab_size);
    // The embedding tables are private to `Embeddings`; their sizes come from the config.
    let tables = (vocab + cfg.max_position_embeddings + cfg.type_vocab_size) * h;
    let emb_norm = model.embeddings.layer_norm.gamma.len() + model.embeddings.layer_norm.beta.len();
    let (mut packed, mut small) = (0, emb_norm);
    for layer in &model.layers {
        let a = &layer.attention;
        let f = &layer.feed_forward;
        for lin in [&a.qkv, &a.output, &f.intermediate, &f.output] {
            // Packed panels are NR columns wide; every weight here is a multiple of NR wide, so no padding.
            packed += lin.weight.n() * lin.weight.k();
            small += lin.bias.len();
        }
        for ln in [&a.layer_norm, &f.layer_norm] {
            small += ln.gamma.len() + ln.beta.len();
        }
    }
    let model_total = tables + packed + small;

    println!("parameter store (ParamStore, f32 by name):   {}", mb(store));
    println!(
        "model (BertModel):                            {}",
        mb(model_total)
    );
    println!(
        "  embedding tables (word, position, type):    {}",
        mb(tables)
    );
    println!(
        "  packed linear weights (PackedWeight):       {}",
        mb(packed)
    );
    println!(
        "  biases and LayerNorm vectors:               {}",
        mb(small)
    );
    println!(
        "both:                                         {}",
        mb(store + model_total)
    );
    println!(
        "process VmRSS: {:.1} MB before loading, {:.1} MB after; peak (VmHWM) {:.1} MB",
        rss_before * 1024.0 / 1e6,
        rss_after * 1024.0 / 1e6,
        status_kb("VmHWM:") * 1024.0 / 1e6
    );
    Ok(())
}
