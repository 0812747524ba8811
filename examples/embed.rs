//! Embed two sentences and print their cosine (the library alone, no CLI):
//! `cargo run --release --no-default-features --example embed [MODEL_DIR]`.
fn main() -> minilm::Result<()> {
    let dir = std::env::args().nth(1).map(Into::into);
    let encoder = minilm::Encoder::from_dir(dir.unwrap_or_else(minilm::default_model_dir))?;
    let e = encoder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
    let cosine: f32 = e[0].iter().zip(&e[1]).map(|(a, b)| a * b).sum();
    println!("cosine {cosine:.4}");
    Ok(())
}
