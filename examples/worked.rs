//! The hand-checkable example of docs/internals.md: one attention row, one
//! LayerNorm row and one GELU value of the traced sentence, each recomputed
//! step by step from the tensors of a `minilm inspect --dump` file and set
//! beside the value the dump holds.
//!
//! ```text
//! minilm inspect --dump /tmp/trace.safetensors "A man is eating food."
//! cargo run --release --example worked -- /tmp/trace.safetensors                            # print the Markdown
//! cargo run --release --example worked -- /tmp/trace.safetensors --write docs/internals.md   # refresh the doc's block
//! ```
//!
//! The LayerNorm's γ and β come from the model folder (`MINILM_MODEL` or
//! `weights/all-MiniLM-L6-v2`). With `--write FILE`, the text between
//! `<!-- worked:begin -->` and `<!-- worked:end -->` is replaced.

#[path = "support/doc_block.rs"]
mod doc_block;

use minilm::{Encoder, Error, Result};
use safetensors::SafeTensors;
use std::fmt::Write;
use std::path::Path;

const BEGIN: &str = "<!-- worked:begin -->";
const END: &str = "<!-- worked:end -->";
/// Layer, head and query token of the attention row (token 4 is "eating").
const LAYER: usize = 0;
const HEAD: usize = 0;
const TOKEN: usize = 4;
/// Feature of the GELU value.
const FEATURE: usize = 1;
const D: usize = 32;

struct Dump<'a> {
    st: SafeTensors<'a>,
    path: &'a Path,
}

impl Dump<'_> {
    /// Tensor `name` as f32 values and its shape.
    fn get(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let v = self
            .st
            .tensor(name)
            .map_err(|e| Error::file(self.path, format!("tensor {name}: {e}")))?;
        let data = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok((data, v.shape().to_vec()))
    }
    /// Row `r` of a `[rows, cols]` tensor.
    fn row(&self, name: &str, r: usize) -> Result<Vec<f32>> {
        let (data, shape) = self.get(name)?;
        let cols = shape[shape.len() - 1];
        Ok(data[r * cols..(r + 1) * cols].to_vec())
    }
}

fn vec4(v: &[f32], from: usize, n: usize) -> String {
    let s: Vec<String> = v[from..from + n]
        .iter()
        .map(|x| format!("{x:.4}"))
        .collect();
    s.join(", ")
}

/// Scores, softmax and the dump's probabilities for one query row.
fn attention(d: &Dump, pieces: &[String], s: &mut String) -> Result<()> {
    let pre = format!("encoder.layer.{LAYER}.attention.self");
    let q = d.row(&format!("{pre}.query"), TOKEN)?;
    let (k, kshape) = d.get(&format!("{pre}.key"))?;
    let (h, l) = (kshape[1], kshape[0]);
    let (probs, _) = d.get(&format!("{pre}.attention_probs"))?;
    let cols = HEAD * D..(HEAD + 1) * D;
    let qh = &q[cols.clone()];
    let dots: Vec<f64> = (0..l)
        .map(|j| {
            let kj = &k[j * h..(j + 1) * h][cols.clone()];
            qh.iter().zip(kj).map(|(&a, &b)| a as f64 * b as f64).sum()
        })
        .collect();
    let scores: Vec<f64> = dots.iter().map(|x| x / (D as f64).sqrt()).collect();
    let max = scores.iter().cloned().fold(f64::MIN, f64::max);
    let exps: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    let _ = writeln!(
        s,
        "**One attention row.** Layer {LAYER}, head {HEAD} (columns {}…{} of Q and K), query token {TOKEN} (`{}`). \
         Its query, q = `query[{TOKEN}, {}..{}]`, begins {} …; key 0 ([CLS]) begins {} ….\n",
        cols.start,
        cols.end - 1,
        pieces[TOKEN],
        cols.start,
        cols.end,
        vec4(qh, 0, 4),
        vec4(&k[..h], cols.start, 4)
    );
    let k0 = &k[..h][cols.clone()];
    let round4 = |v: f32| (v as f64 * 1e4).round() / 1e4;
    let dot4: f64 = qh
        .iter()
        .zip(k0)
        .map(|(&a, &b)| round4(a) * round4(b))
        .sum();
    let _ = writeln!(
        s,
        "All 32 values of q and of k₀, to 4 decimals (their dot product, from these rounded values, is {dot4:.4}):\n\n\
         ```text\nq  = {}\nk₀ = {}\n```\n",
        vec4(qh, 0, D),
        vec4(k0, 0, D)
    );
    let _ = writeln!(
        s,
        "| key j | piece | q·k_j | s_j = q·k_j / √32 | exp(s_j − max s) | p_j = exp / Σ | dump `attention_probs[{HEAD}, {TOKEN}, j]` |"
    );
    let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|");
    let mut worst = 0.0f64;
    for j in 0..l {
        let dumped = probs[(HEAD * l + TOKEN) * l + j];
        let p = exps[j] / sum;
        worst = worst.max((p - dumped as f64).abs());
        let _ = writeln!(
            s,
            "| {j} | `{}` | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
            pieces[j], dots[j], scores[j], exps[j], p, dumped
        );
    }
    // The same row without the 1/√d scaling, to show what it prevents.
    let dmax = dots.iter().cloned().fold(f64::MIN, f64::max);
    let dsum: f64 = dots.iter().map(|x| (x - dmax).exp()).sum();
    let _ = writeln!(
        s,
        "\nmax s = {max:.4}, Σ exp = {sum:.4}; largest |p_j − dump| = {worst:.1e} (f32 rounding). \
         Without the division by √32, the softmax of the q·k_j column would give [CLS] {:.4} and the \
         seven other tokens {:.4} between them.\n",
        1.0 / dsum,
        1.0 - 1.0 / dsum
    );
    Ok(())
}

/// Mean, variance and a few normalised elements of one LayerNorm row.
fn layer_norm(d: &Dump, enc: &Encoder, pieces: &[String], s: &mut String) -> Result<()> {
    let pre = format!("encoder.layer.{LAYER}.attention.output.LayerNorm");
    let x = d.row(&format!("{pre}.input"), TOKEN)?;
    let y = d.row(&format!("encoder.layer.{LAYER}.attention"), TOKEN)?;
    let gamma = &enc.params().get(&format!("{pre}.weight")).data;
    let beta = &enc.params().get(&format!("{pre}.bias")).data;
    let n = x.len() as f64;
    let mu = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mu).powi(2)).sum::<f64>() / n;
    let r = 1.0 / (var + 1e-12).sqrt();
    let _ = writeln!(
        s,
        "**One LayerNorm row.** The input of layer {LAYER}'s attention LayerNorm (the residual sum x + a, \
         `{pre}.input`), row {TOKEN} (`{}`), H = {} values: μ = Σx/H = {mu:.6}, σ² = Σ(x − μ)²/H = {var:.6}, \
         r = 1/√(σ² + 10⁻¹²) = {r:.6}. The first four features:\n",
        pieces[TOKEN],
        x.len()
    );
    let _ = writeln!(
        s,
        "| i | xᵢ | x̂ᵢ = (xᵢ − μ)·r | γᵢ | βᵢ | yᵢ = x̂ᵢγᵢ + βᵢ | dump `encoder.layer.{LAYER}.attention[{TOKEN}, i]` |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|");
    for i in 0..4 {
        let xh = (x[i] as f64 - mu) * r;
        let yi = xh * gamma[i] as f64 + beta[i] as f64;
        let _ = writeln!(
            s,
            "| {i} | {:.6} | {xh:.6} | {:.6} | {:.6} | {yi:.6} | {:.6} |",
            x[i], gamma[i], beta[i], y[i]
        );
    }
    let xh: Vec<f64> = x.iter().map(|&v| (v as f64 - mu) * r).collect();
    let _ = writeln!(
        s,
        "\nOver the whole row, x̂ has mean {:.1e} and mean square {:.6}: zero and one, as the normalisation intends.\n",
        xh.iter().sum::<f64>() / n,
        xh.iter().map(|v| v * v).sum::<f64>() / n
    );
    Ok(())
}

/// The error function to double precision (Abramowitz–Stegun 7.1.26 is too
/// coarse for 6 digits; this is the series / continued fraction split).
fn erf(x: f64) -> f64 {
    if x.abs() < 2.5 {
        // Maclaurin series: erf x = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)).
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 * sum.abs().max(1e-300) {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // Continued fraction for erfc, evaluated backwards.
        let a = x.abs();
        let mut f = 0.0;
        for k in (1..60).rev() {
            f = (k as f64 / 2.0) / (a + f);
        }
        let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f);
        (1.0 - erfc).copysign(x)
    }
}

/// One GELU value and its derivative.
fn gelu(d: &Dump, pieces: &[String], s: &mut String) -> Result<()> {
    let pre = format!("encoder.layer.{LAYER}.intermediate");
    let u = d.row(&format!("{pre}.dense"), TOKEN)?[FEATURE] as f64;
    let g = d.row(&pre, TOKEN)?[FEATURE];
    let e = erf(u / std::f64::consts::SQRT_2);
    let phi_cdf = 0.5 * (1.0 + e);
    let phi = (-u * u / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let _ = writeln!(
        s,
        "**One GELU value.** Layer {LAYER}'s feed-forward, token {TOKEN} (`{}`), feature {FEATURE}: \
         u = `{pre}.dense[{TOKEN}, {FEATURE}]` = {u:.6}.\n",
        pieces[TOKEN]
    );
    let _ = writeln!(s, "| step | value |\n|---|---:|");
    let _ = writeln!(s, "| u/√2 | {:.6} |", u / std::f64::consts::SQRT_2);
    let _ = writeln!(s, "| erf(u/√2) | {e:.6} |");
    let _ = writeln!(s, "| Φ(u) = (1 + erf(u/√2))/2 | {phi_cdf:.6} |");
    let _ = writeln!(s, "| gelu(u) = u·Φ(u) | {:.6} |", u * phi_cdf);
    let _ = writeln!(s, "| dump `{pre}[{TOKEN}, {FEATURE}]` | {g:.6} |");
    let _ = writeln!(s, "| φ(u) = exp(−u²/2)/√(2π) | {phi:.6} |");
    let _ = writeln!(
        s,
        "| gelu′(u) = Φ(u) + u·φ(u) (what the backward multiplies by) | {:.6} |",
        phi_cdf + u * phi
    );
    Ok(())
}

fn markdown(dump_path: &Path) -> Result<String> {
    let enc = Encoder::from_dir(minilm::default_model_dir())?;
    let bytes = std::fs::read(dump_path).map_err(|e| Error::io(dump_path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::file(dump_path, e))?;
    let d = Dump {
        st,
        path: dump_path,
    };
    // The word pieces are in the dump's metadata, as a JSON array.
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::file(dump_path, e))?;
    let pieces_json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("pieces").cloned())
        .ok_or_else(|| Error::file(dump_path, "no \"pieces\" in the metadata"))?;
    let pieces: Vec<String> =
        serde_json::from_str(&pieces_json).map_err(|e| Error::file(dump_path, e))?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Generated by `cargo run --release --example worked -- /tmp/trace.safetensors --write docs/internals.md` \
         from the dump of `minilm inspect --dump /tmp/trace.safetensors \"A man is eating food.\"`.\n"
    );
    attention(&d, &pieces, &mut s)?;
    layer_norm(&d, &enc, &pieces, &mut s)?;
    gelu(&d, &pieces, &mut s)?;
    Ok(s)
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [dump] => print!("{}", markdown(Path::new(dump))?),
        [dump, flag, file] if flag == "--write" => {
            let block = markdown(Path::new(dump))?;
            doc_block::write_block(file, BEGIN, END, &block)?
        }
        _ => return Err(Error::msg("usage: worked DUMP.safetensors [--write FILE]")),
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("worked: {e}");
        std::process::exit(1);
    }
}
