//! `minilm inspect --html`: one self-contained page (inline CSS, inline
//! script, inline SVG; nothing fetched) showing a traced sentence's
//! tokenization, every attention head, the mean pooling and the norms.

use super::report::Summary;
use super::trace::Trace;
use crate::markup::escape;
use serde_json::json;
use std::fmt::Write;

/// Shades of the small maps: a probability is drawn at the nearest multiple
/// of 1/SHADES (below 1/(2·SHADES) it is not drawn), one SVG path per shade,
/// which keeps the page small for long sentences (72 maps of L² cells).
const SHADES: usize = 20;

/// A small heatmap of one head: `[L, L]` probabilities as cells of a unit
/// grid whose opacity is the probability (rows: query tokens, columns: keys).
fn small_heatmap(p: &[f32], l: usize, layer: usize, head: usize) -> String {
    let mut s = format!(
        "<svg class=\"heatmap\" data-layer=\"{layer}\" data-head=\"{head}\" viewBox=\"0 0 {l} {l}\" \
         preserveAspectRatio=\"none\" shape-rendering=\"crispEdges\" role=\"img\" \
         aria-label=\"layer {layer} head {head}\"><title>layer {layer}, head {head}</title>\
         <rect width=\"{l}\" height=\"{l}\" fill=\"#fff\"/><g fill=\"#1d4ed8\">"
    );
    let mut paths = vec![String::new(); SHADES + 1];
    for (i, row) in p.chunks(l).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let k = (v * SHADES as f32).round().clamp(0.0, SHADES as f32) as usize;
            if k > 0 {
                let _ = write!(paths[k], "M{j} {i}h1v1h-1z");
            }
        }
    }
    for (k, d) in paths.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        let _ = write!(
            s,
            "<path fill-opacity=\"{}\" d=\"{d}\"/>",
            k as f32 / SHADES as f32
        );
    }
    s.push_str("</g></svg>");
    s
}

fn round(v: f32, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (v as f64 * m).round() / m
}

/// The whole page for one traced sentence.
pub fn page(trace: &Trace, summary: &Summary) -> String {
    let l = trace.len();
    let layers = trace.layers.len();
    let heads = trace.heads;
    let text = escape(&trace.text);
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>minilm inspect: {text}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n"
    );
    let _ = write!(
        s,
        "<header>\n<h1>minilm inspect</h1>\n<p class=\"sentence\">{text}</p>\n\
         <p class=\"meta\">{l} word pieces &middot; {layers} layers &times; {heads} heads &middot; \
         hidden {} &middot; pooled norm {:.4} (before L2 normalisation)</p>\n\
         <nav><a href=\"#tokens\">Tokenization</a> <a href=\"#attention\">Attention</a> \
         <a href=\"#all-heads\">All heads</a> <a href=\"#pooling\">Mean pooling</a> <a href=\"#norms\">Norms</a></nav>\n</header>\n",
        trace.hidden, summary.pooled_norm
    );
    section_tokens(&mut s, trace, summary);
    section_attention(&mut s, trace);
    section_all_heads(&mut s, trace, summary);
    section_pooling(&mut s, trace, summary);
    section_norms(&mut s, trace, summary);
    section_task_heads(&mut s, summary);
    section_data_and_script(&mut s, trace, summary);
    s
}

/// Section 1: the text with each piece's span marked, then the table of pieces.
fn section_tokens(s: &mut String, trace: &Trace, summary: &Summary) {
    // 1. Tokenization: the text with each piece's span marked, then the table.
    s.push_str(
        "<section id=\"tokens\">\n<h2>1. Tokenization</h2>\n<div class=\"side-by-side\"><div>\n",
    );
    s.push_str(
        "<p class=\"note\">WordPiece splits the lower-cased text into vocabulary pieces (<code>##</code> continues a word); \
         [CLS] and [SEP] are added around it. Hover a piece to see its id and character offsets.</p>\n<p class=\"chips\">",
    );
    for (i, p) in summary.pieces.iter().enumerate() {
        let class = if p.chars.is_none() {
            "chip special"
        } else if i % 2 == 0 {
            "chip even"
        } else {
            "chip odd"
        };
        let where_ = p.chars.map_or("special token".to_string(), |(a, b)| {
            format!("chars {a}..{b}")
        });
        let _ = write!(
            s,
            "<span class=\"{class}\" title=\"#{i} id {} {where_}\"><b>{}</b><small>{}</small></span>",
            p.id,
            escape(&p.piece),
            p.id
        );
    }
    s.push_str("</p>\n</div>\n<table class=\"tokens\">\n<thead><tr><th>#</th><th>piece</th><th>id</th><th>chars</th><th>text</th></tr></thead>\n<tbody>\n");
    for (i, p) in summary.pieces.iter().enumerate() {
        let (range, src) = match (p.chars, p.bytes) {
            (Some((a, b)), Some((x, y))) => (
                format!("{a}..{b}"),
                escape(trace.text.get(x..y).unwrap_or("")),
            ),
            _ => ("&ndash;".to_string(), String::new()),
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"num\">{i}</td><td class=\"tok\">{}</td><td class=\"num\">{}</td><td class=\"num\">{range}</td><td>{src}</td></tr>",
            escape(&p.piece),
            p.id
        );
    }
    s.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// Section 2: one head in detail, chosen with the selectors (drawn by the script).
fn section_attention(s: &mut String, trace: &Trace) {
    let heads = trace.heads;
    // 2. One head in detail, chosen with the selectors (drawn by the script).
    let _ = write!(
        s,
        "<section id=\"attention\">\n<h2>2. Attention, one head at a time</h2>\n\
         <p class=\"note\">Row <i>i</i> is query token <i>i</i>; the shade of cell (<i>i</i>, <i>j</i>) is the probability \
         p<sub>ij</sub> = softmax<sub>j</sub>(q<sub>i</sub>&middot;k<sub>j</sub>/&radic;{d}) with which token <i>i</i> reads token <i>j</i> \
         (white 0, full blue 1; each row sums to 1). Pick a layer and a head, click any small map below, \
         or open the page as <code>page.html#L2H9</code>.</p>\n\
         <div class=\"selectors\"><label>layer <select id=\"layer\"></select></label> \
         <label>head <select id=\"head\"></select></label> <span id=\"head-info\"></span></div>\n\
         <div class=\"explorer\"><div id=\"big\"></div><div id=\"side\"></div></div>\n\
         <noscript><p>The detailed view needs JavaScript; the small maps below do not.</p></noscript>\n</section>\n",
        d = trace.hidden / heads.max(1)
    );
}

/// Section 3: the grid of small multiples, one SVG per layer and head.
fn section_all_heads(s: &mut String, trace: &Trace, summary: &Summary) {
    let l = trace.len();
    let layers = trace.layers.len();
    let heads = trace.heads;
    // The grid of small multiples: one SVG per layer and head.
    let _ = write!(
        s,
        "<section id=\"all-heads\">\n<h2>3. All {} heads</h2>\n<p class=\"note\">Rows: layers 0&ndash;{}; columns: heads 0&ndash;{}. \
         Same axes and shading as above, in steps of 5 %. The number under each map is the head's attention entropy in nats \
         (mean over query tokens; uniform over {l} tokens = {:.2}, attending to one token = 0).</p>\n<div class=\"grid\" style=\"grid-template-columns: 3.5em repeat({heads}, 1fr)\">\n<div></div>",
        layers * heads,
        layers.saturating_sub(1),
        heads.saturating_sub(1),
        (l as f32).ln()
    );
    for h in 0..heads {
        let _ = write!(s, "<div class=\"colhead\">h{h}</div>");
    }
    for n in 0..layers {
        let _ = write!(s, "\n<div class=\"rowhead\">L{n}</div>");
        for h in 0..heads {
            let _ = write!(
                s,
                "<div class=\"cell\">{}<span>{:.2}</span></div>",
                small_heatmap(trace.probs(n, h), l, n, h),
                summary.entropy[n][h]
            );
        }
    }
    s.push_str("\n</div>\n</section>\n");
}

/// Section 4: what each token puts into the mean-pooled embedding.
fn section_pooling(s: &mut String, trace: &Trace, summary: &Summary) {
    let l = trace.len();
    // 4. Mean pooling.
    let last = trace
        .layers
        .last()
        .map_or(trace.embeddings.as_slice(), |t| t.output.as_slice());
    let h = trace.hidden;
    let contrib_norms: Vec<f32> = last
        .chunks(h)
        .map(|x| x.iter().map(|&v| v * v).sum::<f32>().sqrt() / l as f32)
        .collect();
    let _ = write!(
        s,
        "<section id=\"pooling\">\n<h2>4. Mean pooling: what each token puts into the embedding</h2>\n\
         <p class=\"note\">The sentence embedding is the mean of the last layer's token states, \
         p = &Sigma;<sub>t</sub> x<sub>t</sub>/L, then scaled to unit length. Each token adds the vector x<sub>t</sub>/L. \
         Its <b>share</b> is the length of that vector projected on p, in units of |p|: \
         s<sub>t</sub> = (x<sub>t</sub>/L)&middot;p / |p|&sup2;. The shares sum to 1 (here L = {l}, so equal shares would be {:.3}); \
         a token whose state points away from the sentence's direction has a small or negative share. \
         The grey bar is |x<sub>t</sub>/L|, the length of the token's term before projection, on the same scale \
         (|p| = {:.3}): the gap between the two is the part of the term that other tokens cancel.</p>\n",
        1.0 / l as f32,
        summary.pooled_norm
    );
    s.push_str(&share_chart(summary, &contrib_norms));
    s.push_str("</section>\n");
}

/// Section 5: hidden-state norms per token and layer.
fn section_norms(s: &mut String, trace: &Trace, summary: &Summary) {
    let layers = trace.layers.len();
    // 5. Hidden-state norms per token and layer.
    s.push_str(
        "<section id=\"norms\">\n<h2>5. Hidden-state norms</h2>\n<p class=\"note\">|x<sub>t</sub>| of each token after the embeddings \
         (emb) and after each layer (L<i>n</i>); shade relative to the largest value in the column. Every state here is a LayerNorm output, \
         so its norm is set mostly by the learned scale &gamma; and shift &beta;; a token far from the others stands out.</p>\n<table class=\"norms\">\n<thead><tr><th>#</th><th>piece</th><th>emb</th>",
    );
    for n in 0..layers {
        let _ = write!(s, "<th>L{n}</th>");
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    let col_max: Vec<f32> = summary
        .hidden_norms
        .iter()
        .map(|c| c.iter().copied().fold(0.0, f32::max).max(1e-12))
        .collect();
    for (i, p) in summary.pieces.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td class=\"num\">{i}</td><td class=\"tok\">{}</td>",
            escape(&p.piece)
        );
        for (c, norms) in summary.hidden_norms.iter().enumerate() {
            let a = norms[i] / col_max[c];
            let _ = write!(
                s,
                "<td class=\"num\" style=\"background:rgba(29,78,216,{:.2})\">{:.2}</td>",
                0.45 * a,
                norms[i]
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n</section>\n");
}

/// Section 6: the task heads of a checkpoint, when one was given.
fn section_task_heads(s: &mut String, summary: &Summary) {
    // 6. The task heads of a checkpoint.
    if !summary.heads.is_empty() {
        s.push_str(
            "<section id=\"heads\">\n<h2>6. Task heads</h2>\n<p class=\"note\">The checkpoint's linear heads on the sentence \
             embedding: logits z = e&middot;W<sup>T</sup> + b and probabilities softmax(z).</p>\n",
        );
        for head in &summary.heads {
            let _ = write!(
                s,
                "<h3>{}</h3>\n<table class=\"head\">\n<thead><tr><th>class</th><th>logit</th><th>probability</th><th></th></tr></thead>\n<tbody>\n",
                escape(&head.task)
            );
            for (k, ((c, l), p)) in head
                .classes
                .iter()
                .zip(&head.logits)
                .zip(&head.probs)
                .enumerate()
            {
                let best = if k == head.predicted() {
                    " class=\"best\""
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "<tr{best}><td>{}</td><td class=\"num\">{l:.4}</td><td class=\"num\">{p:.4}</td>\
                     <td><svg width=\"200\" height=\"10\"><rect width=\"{:.1}\" height=\"10\" fill=\"#1d4ed8\"/></svg></td></tr>",
                    escape(c),
                    200.0 * p
                );
            }
            s.push_str("</tbody>\n</table>\n");
        }
        s.push_str("</section>\n");
    }
}

/// The data for the detailed view, then the script that draws it, and the end of the page.
fn section_data_and_script(s: &mut String, trace: &Trace, summary: &Summary) {
    let layers = trace.layers.len();
    let heads = trace.heads;
    // Data for the detailed view, then the script that draws it.
    let probs: Vec<Vec<Vec<f64>>> = (0..layers)
        .map(|n| {
            (0..heads)
                .map(|hd| trace.probs(n, hd).iter().map(|&v| round(v, 3)).collect())
                .collect()
        })
        .collect();
    let entropy: Vec<Vec<f64>> = summary
        .entropy
        .iter()
        .map(|r| r.iter().map(|&v| round(v, 4)).collect())
        .collect();
    let data = json!({
        "tokens": summary.pieces.iter().map(|p| p.piece.as_str()).collect::<Vec<_>>(),
        "layers": layers, "heads": heads, "probs": probs, "entropy": entropy,
    });
    let data = serde_json::to_string(&data)
        .expect("finite values serialise")
        .replace("</", "<\\/");
    let _ = write!(
        s,
        "<footer>Written by <code>minilm inspect --html</code>; definitions in docs/internals.md. \
         Self-contained: nothing on this page is fetched from anywhere.</footer>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
}

/// Horizontal bars: each token's pooling share (signed, blue or red) and
/// the length of its term (grey), on one scale.
fn share_chart(summary: &Summary, contrib_norms: &[f32]) -> String {
    let l = summary.pieces.len();
    let row = 22.0;
    let label_w = 120.0;
    let bar_w = 520.0;
    let lo = summary.shares.iter().copied().fold(0.0f32, f32::min);
    let hi = summary
        .shares
        .iter()
        .copied()
        .chain(
            contrib_norms
                .iter()
                .map(|&n| n / summary.pooled_norm.max(1e-12)),
        )
        .fold(0.0f32, f32::max);
    let span = (hi - lo).max(1e-6);
    let x_of = |v: f32| label_w + (v - lo) / span * bar_w;
    let height = row * l as f64 + 52.0;
    let width = label_w + bar_w + 70.0;
    let mut s = format!(
        "<svg class=\"shares\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"pooling shares\">\n"
    );
    let x0 = x_of(0.0);
    for (i, p) in summary.pieces.iter().enumerate() {
        let y = 6.0 + row * i as f64;
        let share = summary.shares[i];
        let rel = contrib_norms[i] / summary.pooled_norm.max(1e-12);
        let (a, b) = if share >= 0.0 {
            (x0, x_of(share))
        } else {
            (x_of(share), x0)
        };
        let color = if share >= 0.0 { "#1d4ed8" } else { "#dc2626" };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"lbl\">{}</text>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"5\" fill=\"#c5c9d0\"><title>|x_t/L| / |p| = {rel:.3}</title></rect>\
             <rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"11\" fill=\"{color}\"><title>share {share:.4}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"val\">{share:.3}</text>",
            label_w - 8.0,
            y + 12.0,
            escape(&p.piece),
            y + 14.0,
            (x_of(rel) - x0).max(0.5),
            y + 2.0,
            (b - a).max(0.5),
            x_of(hi) + 6.0,
            y + 12.0,
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{x0:.1}\" x2=\"{x0:.1}\" y1=\"0\" y2=\"{:.1}\" stroke=\"#333\"/>\
         <text x=\"{x0:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"val\">0</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"val\">{hi:.2}</text>\
         <rect x=\"{label_w}\" y=\"{:.1}\" width=\"14\" height=\"10\" fill=\"#1d4ed8\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"val\">share s_t = (x_t/L)\u{b7}p/|p|\u{b2} (red if negative)</text>\
         <rect x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"5\" fill=\"#c5c9d0\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"val\">|x_t/L| / |p|</text>\n</svg>\n",
        row * l as f64 + 6.0,
        row * l as f64 + 22.0,
        x_of(hi),
        row * l as f64 + 22.0,
        row * l as f64 + 32.0,
        label_w + 20.0,
        row * l as f64 + 41.0,
        label_w + 300.0,
        row * l as f64 + 35.0,
        label_w + 320.0,
        row * l as f64 + 41.0
    );
    s
}

const CSS: &str = r##"body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1320px; padding: 0 24px 40px; color: #1f2937; background: #fff; }
header { border-bottom: 1px solid #e5e7eb; padding: 12px 0; }
h1 { font-size: 20px; margin: 4px 0; color: #6b7280; font-weight: 600; }
h2 { font-size: 18px; margin: 28px 0 6px; }
.sentence { font-size: 26px; margin: 6px 0; }
.meta, .note { color: #4b5563; font-size: 14px; max-width: 70em; }
nav a { margin-right: 14px; font-size: 14px; color: #1d4ed8; }
code { background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { display: inline-flex; flex-direction: column; align-items: center; padding: 4px 8px; border-radius: 6px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.chip b { font-size: 16px; font-weight: 600; }
.chip small { font-size: 11px; color: #4b5563; }
.chip.even { background: #dbeafe; } .chip.odd { background: #fef3c7; } .chip.special { background: #e5e7eb; color: #6b7280; }
table { border-collapse: collapse; font-size: 13px; margin-top: 8px; }
th, td { padding: 2px 8px; border-bottom: 1px solid #f0f0f0; text-align: left; }
th { color: #6b7280; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.tok, .tok { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.selectors { margin: 8px 0; font-size: 14px; }
.selectors select { font-size: 14px; margin-right: 12px; }
#head-info { color: #4b5563; }
.side-by-side { display: flex; gap: 40px; align-items: flex-start; }
.side-by-side > div { flex: 1; }
.explorer { display: flex; gap: 28px; align-items: flex-start; }
#big svg text { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; fill: #1f2937; }
#side { font-size: 13px; }
#side td { padding: 1px 6px; }
.grid { display: grid; gap: 4px; align-items: center; }
.colhead, .rowhead { font-size: 12px; color: #6b7280; text-align: center; }
.cell { display: flex; flex-direction: column; align-items: center; cursor: pointer; }
.cell svg { width: 100%; aspect-ratio: 1; border: 1px solid #d1d5db; box-sizing: border-box; }
.cell span { font-size: 10px; color: #6b7280; }
.cell.selected svg { outline: 3px solid #f59e0b; }
svg.shares .lbl { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
svg.shares .val { font-size: 11px; fill: #4b5563; }
tr.best td { font-weight: 600; }
h3 { font-size: 15px; margin: 14px 0 2px; }
footer { margin-top: 32px; font-size: 12px; color: #6b7280; border-top: 1px solid #e5e7eb; padding-top: 8px; }
"##;

const SCRIPT: &str = r##"(function () {
  var D = JSON.parse(document.getElementById('data').textContent);
  var L = D.tokens.length;
  var layerSel = document.getElementById('layer'), headSel = document.getElementById('head');
  for (var n = 0; n < D.layers; n++) layerSel.add(new Option(String(n), String(n)));
  for (var h = 0; h < D.heads; h++) headSel.add(new Option(String(h), String(h)));
  function esc(s) { return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }
  function draw() {
    var n = +layerSel.value, h = +headSel.value, p = D.probs[n][h];
    var cell = Math.max(16, Math.min(34, Math.floor(640 / L)));
    var maxLen = 0; D.tokens.forEach(function (t) { maxLen = Math.max(maxLen, t.length); });
    var left = 16 + 7.5 * maxLen, top = 16 + 6 * maxLen, size = cell * L;
    var s = '<svg class="big" width="' + (left + size + 8) + '" height="' + (top + size + 8) + '" role="img">';
    D.tokens.forEach(function (t, i) {
      var c = (i + 0.5) * cell;
      s += '<text x="' + (left - 6) + '" y="' + (top + c + 4) + '" text-anchor="end">' + esc(t) + '</text>';
      s += '<text transform="translate(' + (left + c + 4) + ',' + (top - 6) + ') rotate(-60)">' + esc(t) + '</text>';
    });
    s += '<rect x="' + left + '" y="' + top + '" width="' + size + '" height="' + size + '" fill="#fff" stroke="#9ca3af"/><g fill="#1d4ed8">';
    for (var i = 0; i < L; i++) for (var j = 0; j < L; j++) {
      var v = p[i * L + j];
      s += '<rect x="' + (left + j * cell) + '" y="' + (top + i * cell) + '" width="' + cell + '" height="' + cell +
        '" fill-opacity="' + v + '"><title>' + esc(D.tokens[i]) + ' \u2192 ' + esc(D.tokens[j]) + ': ' + v.toFixed(3) + '</title></rect>';
    }
    s += '</g></svg>';
    document.getElementById('big').innerHTML = s;
    var side = '<table><thead><tr><th>token</th><th>reads most</th><th>p</th></tr></thead><tbody>';
    for (var i = 0; i < L; i++) {
      var best = 0; for (var j = 1; j < L; j++) if (p[i * L + j] > p[i * L + best]) best = j;
      side += '<tr><td class="tok">' + i + ' ' + esc(D.tokens[i]) + '</td><td class="tok">' + best + ' ' + esc(D.tokens[best]) +
        '</td><td>' + p[i * L + best].toFixed(2) + '</td></tr>';
    }
    document.getElementById('side').innerHTML = side + '</tbody></table>';
    document.getElementById('head-info').textContent = 'entropy ' + D.entropy[n][h].toFixed(2) +
      ' nats (uniform ' + Math.log(L).toFixed(2) + ')';
    document.querySelectorAll('.cell').forEach(function (c) {
      var svg = c.querySelector('svg');
      c.classList.toggle('selected', +svg.dataset.layer === n && +svg.dataset.head === h);
    });
  }
  var m = /^#L(\d+)H(\d+)$/.exec(location.hash);
  if (m && +m[1] < D.layers && +m[2] < D.heads) { layerSel.value = m[1]; headSel.value = m[2]; }
  layerSel.onchange = draw; headSel.onchange = draw;
  document.querySelectorAll('.cell').forEach(function (c) {
    c.onclick = function () {
      var svg = c.querySelector('svg');
      layerSel.value = svg.dataset.layer; headSel.value = svg.dataset.head; draw();
      history.replaceState(null, '', '#L' + svg.dataset.layer + 'H' + svg.dataset.head);
      document.getElementById('attention').scrollIntoView();
    };
  });
  draw();
})();
"##;
