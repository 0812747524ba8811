//! A small, dependency-free SVG line-plot writer for the study's figures:
//! one line per series with markers, ±std shown as error bars or a shaded
//! band, axes with ticks and labels, a legend, a linear or log x axis, and
//! optional categorical x tick labels (e.g. 8, 16, 64 and "full").
//!
//! ```
//! use minilm::train::svg::{LinePlot, Series};
//! let mut plot = LinePlot::new("Task A", "examples per class", "macro F1");
//! plot.x_log = true;
//! plot.series.push(Series::new("multi-task", vec![(8.0, 0.61, 0.03), (16.0, 0.70, 0.02)]));
//! let svg = plot.to_svg();
//! assert!(svg.starts_with("<svg"));
//! ```

use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// One line of a plot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// `(x, mean, std)`; drawn in increasing x. Points with a non-finite x or
    /// mean (or x ≤ 0 on a log axis) are skipped; a non-finite std counts as 0.
    pub points: Vec<(f64, f64, f64)>,
}

impl Series {
    /// A series from its name and `(x, mean, std)` points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
        }
    }
}

/// How the ±std spread is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Spread {
    /// Vertical error bars with caps (series at the same x are nudged apart
    /// by a few pixels so their bars do not hide each other).
    #[default]
    Bars,
    /// A translucent band between mean − std and mean + std.
    Band,
    /// Not drawn.
    None,
}

/// A line plot of one or more series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinePlot {
    /// Above the plot.
    pub title: String,
    /// Under the x axis.
    pub x_label: String,
    /// Beside the y axis.
    pub y_label: String,
    /// Logarithmic x axis (base 10 positions; ticks at 1-2-5 × 10^k unless
    /// `x_tick_labels` is given).
    pub x_log: bool,
    /// Explicit x ticks `(position, label)`, e.g. `(8, "8")`, `(128,
    /// "full")`, replacing the automatic ones; also widen the x range to
    /// include them.
    pub x_tick_labels: Option<Vec<(f64, String)>>,
    /// Fixed y range `(min, max)`; automatic (covering mean ± std, rounded
    /// out to ticks) when `None`.
    pub y_range: Option<(f64, f64)>,
    /// How ±std is drawn.
    pub spread: Spread,
    /// The lines, one colour each, in legend order.
    pub series: Vec<Series>,
}

/// Series colours (matplotlib's `tab10`), reused cyclically.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 78.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 64.0;
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

impl LinePlot {
    /// An empty plot with a title and axis labels; linear x, error bars.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> LinePlot {
        LinePlot {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..LinePlot::default()
        }
    }

    /// Writes [`LinePlot::to_svg`] to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_svg()).map_err(|e| Error::io(path, e))
    }

    /// The plot as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let series: Vec<Vec<(f64, f64, f64)>> =
            self.series.iter().map(|s| self.usable(&s.points)).collect();

        // Legend width from the longest name (about 0.6 em per character at 13 px).
        let longest = self
            .series
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0);
        let legend_w = if self.series.is_empty() {
            0.0
        } else {
            (longest as f64 * 7.8 + 48.0).clamp(90.0, 260.0)
        };
        let right = 24.0 + legend_w;
        let (px0, px1) = (LEFT, WIDTH - right);
        let (py0, py1) = (TOP, HEIGHT - BOTTOM);

        // x domain, in axis units (log10 x on a log axis).
        let tx = |x: f64| if self.x_log { x.log10() } else { x };
        let mut xs: Vec<f64> = series.iter().flatten().map(|p| tx(p.0)).collect();
        if let Some(t) = &self.x_tick_labels {
            xs.extend(
                t.iter()
                    .map(|(x, _)| *x)
                    .filter(|&x| x.is_finite() && (!self.x_log || x > 0.0))
                    .map(tx),
            );
        }
        let (mut xmin, mut xmax) = min_max(&xs).unwrap_or((0.0, 1.0));
        if xmax - xmin <= 0.0 {
            xmin -= 0.5;
            xmax += 0.5;
        }
        let x_ticks: Vec<(f64, String)> = match &self.x_tick_labels {
            Some(t) => t
                .iter()
                .filter(|(x, _)| x.is_finite() && (!self.x_log || *x > 0.0))
                .map(|(x, l)| (tx(*x), l.clone()))
                .collect(),
            None if self.x_log => log_ticks(xmin, xmax),
            None => {
                let (lo, hi, step) = nice_range(xmin, xmax, 6);
                // Round the domain out to whole ticks on a linear axis.
                xmin = lo;
                xmax = hi;
                linear_ticks(lo, hi, step)
            }
        };
        if self.x_log || self.x_tick_labels.is_some() {
            // Keep the end points off the frame.
            let pad = 0.05 * (xmax - xmin);
            xmin -= pad;
            xmax += pad;
        }

        // y domain.
        let (ymin, ymax, y_ticks) = match self.y_range {
            Some((lo, hi)) if lo.is_finite() && hi.is_finite() && hi > lo => {
                let (_, _, step) = nice_range(lo, hi, 6);
                let ticks = linear_ticks((lo / step).ceil() * step, hi, step);
                (lo, hi, ticks)
            }
            _ => {
                let ys: Vec<f64> = series
                    .iter()
                    .flatten()
                    .flat_map(|&(_, m, s)| [m - s, m + s])
                    .collect();
                let (mut lo, mut hi) = min_max(&ys).unwrap_or((0.0, 1.0));
                if hi - lo <= 0.0 {
                    let d = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
                    lo -= d;
                    hi += d;
                }
                let (lo, hi, step) = nice_range(lo, hi, 6);
                (lo, hi, linear_ticks(lo, hi, step))
            }
        };

        let sx = |x: f64| px0 + (tx(x) - xmin) / (xmax - xmin) * (px1 - px0);
        let sxa = |a: f64| px0 + (a - xmin) / (xmax - xmin) * (px1 - px0);
        let sy = |y: f64| py1 - (y - ymin) / (ymax - ymin) * (py1 - py0);

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT}" font-size="12">"#
        );
        let _ = writeln!(s, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(
            s,
            r#"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
        );
        let _ = writeln!(
            s,
            r#"<defs><clipPath id="plot-area"><rect x="{px0}" y="{py0}" width="{:.2}" height="{:.2}"/></clipPath></defs>"#,
            px1 - px0,
            py1 - py0
        );

        // Grid and ticks.
        let _ = writeln!(s, r##"<g stroke="#e0e0e0" stroke-width="1">"##);
        for (a, _) in &x_ticks {
            let x = sxa(*a);
            if x >= px0 - 0.5 && x <= px1 + 0.5 {
                let _ = writeln!(
                    s,
                    r#"<line x1="{x:.2}" y1="{py0}" x2="{x:.2}" y2="{py1}"/>"#
                );
            }
        }
        for (y, _) in &y_ticks {
            let y = sy(*y);
            let _ = writeln!(
                s,
                r#"<line x1="{px0}" y1="{y:.2}" x2="{px1}" y2="{y:.2}"/>"#
            );
        }
        let _ = writeln!(s, "</g>");
        let _ = writeln!(s, r##"<g stroke="#333" stroke-width="1">"##);
        for (a, _) in &x_ticks {
            let x = sxa(*a);
            if x >= px0 - 0.5 && x <= px1 + 0.5 {
                let _ = writeln!(
                    s,
                    r#"<line x1="{x:.2}" y1="{py1}" x2="{x:.2}" y2="{:.2}"/>"#,
                    py1 + 5.0
                );
            }
        }
        for (y, _) in &y_ticks {
            let y = sy(*y);
            let _ = writeln!(
                s,
                r#"<line x1="{:.2}" y1="{y:.2}" x2="{px0}" y2="{y:.2}"/>"#,
                px0 - 5.0
            );
        }
        let _ = writeln!(s, "</g>");
        let _ = writeln!(s, r##"<g fill="#333" text-anchor="middle">"##);
        for (a, label) in &x_ticks {
            let x = sxa(*a);
            if x >= px0 - 0.5 && x <= px1 + 0.5 {
                let _ = writeln!(
                    s,
                    r#"<text x="{x:.2}" y="{:.2}">{}</text>"#,
                    py1 + 19.0,
                    escape(label)
                );
            }
        }
        let _ = writeln!(s, "</g>");
        let _ = writeln!(s, r##"<g fill="#333" text-anchor="end">"##);
        for (y, label) in &y_ticks {
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{:.2}">{}</text>"#,
                px0 - 8.0,
                sy(*y) + 4.0,
                escape(label)
            );
        }
        let _ = writeln!(s, "</g>");

        // Frame, title and axis labels.
        let _ = writeln!(
            s,
            r##"<rect x="{px0}" y="{py0}" width="{:.2}" height="{:.2}" fill="none" stroke="#333" stroke-width="1"/>"##,
            px1 - px0,
            py1 - py0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{:.2}" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#,
            (px0 + px1) / 2.0,
            TOP - 20.0,
            escape(&self.title)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{:.2}" text-anchor="middle" font-size="13">{}</text>"#,
            (px0 + px1) / 2.0,
            HEIGHT - 18.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({:.2} {:.2}) rotate(-90)" text-anchor="middle" font-size="13">{}</text>"#,
            20.0,
            (py0 + py1) / 2.0,
            escape(&self.y_label)
        );

        // Series: spread first (under every line), then lines and markers.
        let n = series.len();
        let nudge = |i: usize| {
            if self.spread == Spread::Bars && n > 1 {
                (i as f64 - (n - 1) as f64 / 2.0) * 5.0
            } else {
                0.0
            }
        };
        let _ = writeln!(s, r#"<g clip-path="url(#plot-area)">"#);
        for (i, pts) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let dx = nudge(i);
            match self.spread {
                Spread::Band if pts.len() > 1 => {
                    let mut poly = String::new();
                    for &(x, m, sd) in pts.iter() {
                        let _ = write!(poly, "{:.2},{:.2} ", sx(x), sy(m + sd));
                    }
                    for &(x, m, sd) in pts.iter().rev() {
                        let _ = write!(poly, "{:.2},{:.2} ", sx(x), sy(m - sd));
                    }
                    let _ = writeln!(
                        s,
                        r#"<polygon points="{}" fill="{colour}" fill-opacity="0.18" stroke="none"/>"#,
                        poly.trim_end()
                    );
                }
                Spread::Band | Spread::Bars => {
                    let _ = writeln!(s, r#"<g stroke="{colour}" stroke-width="1.5">"#);
                    for &(x, m, sd) in pts {
                        if sd <= 0.0 {
                            continue;
                        }
                        let (x, y0, y1) = (sx(x) + dx, sy(m - sd), sy(m + sd));
                        let _ = writeln!(
                            s,
                            r#"<line x1="{x:.2}" y1="{y0:.2}" x2="{x:.2}" y2="{y1:.2}"/>"#
                        );
                        for y in [y0, y1] {
                            let _ = writeln!(
                                s,
                                r#"<line x1="{:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}"/>"#,
                                x - 4.0,
                                x + 4.0
                            );
                        }
                    }
                    let _ = writeln!(s, "</g>");
                }
                Spread::None => {}
            }
        }
        for (i, pts) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let dx = nudge(i);
            let _ = writeln!(s, r#"<g><title>{}</title>"#, escape(&self.series[i].name));
            if pts.len() > 1 {
                let line: Vec<String> = pts
                    .iter()
                    .map(|&(x, m, _)| format!("{:.2},{:.2}", sx(x) + dx, sy(m)))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>"#,
                    line.join(" ")
                );
            }
            for &(x, m, _) in pts {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="3.5" fill="{colour}" stroke="white" stroke-width="1"/>"#,
                    sx(x) + dx,
                    sy(m)
                );
            }
            let _ = writeln!(s, "</g>");
        }
        let _ = writeln!(s, "</g>");

        // Legend, right of the plot.
        if !self.series.is_empty() {
            let lx = px1 + 16.0;
            let row = 20.0;
            let lh = row * self.series.len() as f64 + 12.0;
            let _ = writeln!(
                s,
                r##"<rect x="{lx:.2}" y="{py0}" width="{:.2}" height="{lh:.2}" fill="white" stroke="#bbb" stroke-width="1" rx="3"/>"##,
                legend_w - 8.0
            );
            for (i, series) in self.series.iter().enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                let y = py0 + 16.0 + row * i as f64;
                let _ = writeln!(
                    s,
                    r#"<line x1="{:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="{colour}" stroke-width="2"/>"#,
                    lx + 8.0,
                    lx + 30.0
                );
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.2}" cy="{y:.2}" r="3.5" fill="{colour}" stroke="white" stroke-width="1"/>"#,
                    lx + 19.0
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{:.2}" y="{:.2}" font-size="13">{}</text>"#,
                    lx + 38.0,
                    y + 4.5,
                    escape(&series.name)
                );
            }
        }
        s.push_str("</svg>\n");
        s
    }

    /// The drawable points of a series, sorted by x.
    fn usable(&self, points: &[(f64, f64, f64)]) -> Vec<(f64, f64, f64)> {
        let mut p: Vec<(f64, f64, f64)> = points
            .iter()
            .filter(|(x, m, _)| x.is_finite() && m.is_finite() && (!self.x_log || *x > 0.0))
            .map(|&(x, m, sd)| (x, m, if sd.is_finite() { sd.abs() } else { 0.0 }))
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p
    }
}

/// Text with `& < > " '` escaped for SVG/XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

fn min_max(v: &[f64]) -> Option<(f64, f64)> {
    let mut it = v.iter().copied().filter(|x| x.is_finite());
    let first = it.next()?;
    Some(it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x))))
}

/// A 1-2-5 step giving about `target` intervals over `[lo, hi]`, and the
/// range rounded out to multiples of it: `(lo', hi', step)`.
pub fn nice_range(lo: f64, hi: f64, target: usize) -> (f64, f64, f64) {
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = mag
        * if norm <= 1.0 {
            1.0
        } else if norm <= 2.0 {
            2.0
        } else if norm <= 5.0 {
            5.0
        } else {
            10.0
        };
    // Tolerate rounding noise when lo/hi already sit on a tick.
    let lo2 = ((lo / step) - 1e-9).floor() * step;
    let hi2 = ((hi / step) + 1e-9).ceil() * step;
    (lo2, hi2, step)
}

/// Ticks `lo, lo + step, …` up to `hi`, labelled with as many decimals as
/// `step` needs.
fn linear_ticks(lo: f64, hi: f64, step: f64) -> Vec<(f64, String)> {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let n = ((hi - lo) / step + 1e-9).floor() as i64;
    (0..=n)
        .map(|i| {
            let v = lo + i as f64 * step;
            let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
            (v, format!("{v:.decimals$}"))
        })
        .collect()
}

/// Ticks of a log axis whose domain is `[lo, hi]` in log10 units: powers of
/// ten when the range spans at least two decades, else 1-2-5 × 10^k. Labels
/// are the x values.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let (k0, k1) = (lo.floor() as i32, hi.ceil() as i32);
    let mults: &[f64] = if hi - lo >= 2.0 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut ticks = Vec::new();
    for k in k0..=k1 {
        for &m in mults {
            let x = m * 10f64.powi(k);
            let a = x.log10();
            if a >= lo - 1e-9 && a <= hi + 1e-9 {
                ticks.push((a, format_number(x)));
            }
        }
    }
    ticks
}

/// `x` without trailing zeros: `8`, `0.5`, `1000`, `0.002`.
fn format_number(x: f64) -> String {
    if x == x.round() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every element is closed in order (a small stand-in for an
    /// XML parser): tags, self-closing tags, no stray `<` or `&` in text.
    fn balanced(svg: &str) -> std::result::Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            check_text(text)?;
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack
                    .pop()
                    .ok_or(format!("</{name}> without an open tag"))?;
                if top != name.trim() {
                    return Err(format!("</{name}> closes <{top}>"));
                }
            } else if !tag.starts_with('?') && !tag.starts_with('!') {
                let name: String = tag
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/')
                    .collect();
                if name.is_empty() {
                    return Err(format!("empty tag <{tag}>"));
                }
                // Attribute values must have balanced quotes.
                if !tag.matches('"').count().is_multiple_of(2) {
                    return Err(format!("odd quotes in <{tag}>"));
                }
                check_text(tag)?;
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &rest[close + 1..];
        }
        check_text(rest)?;
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed: {stack:?}"))
        }
    }

    fn check_text(t: &str) -> std::result::Result<(), String> {
        for (i, _) in t.match_indices('&') {
            let ent = &t[i..];
            if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| ent.starts_with(e))
            {
                return Err(format!("bare & in {t:?}"));
            }
        }
        if t.contains('<') {
            return Err(format!("bare < in {t:?}"));
        }
        Ok(())
    }

    fn example() -> LinePlot {
        let mut p = LinePlot::new(
            "Task A (R8): macro F1 vs examples per class",
            "training examples per class",
            "macro F1 (mean ± std over 5 seeds)",
        );
        p.x_log = true;
        p.x_tick_labels = Some(vec![
            (8.0, "8".into()),
            (16.0, "16".into()),
            (32.0, "32".into()),
            (64.0, "64".into()),
            (256.0, "full".into()),
        ]);
        p.series = vec![
            Series::new(
                "frozen encoder + head",
                vec![
                    (8.0, 0.52, 0.06),
                    (16.0, 0.63, 0.04),
                    (32.0, 0.71, 0.03),
                    (64.0, 0.77, 0.02),
                    (256.0, 0.86, 0.01),
                ],
            ),
            Series::new(
                "fine-tuned, single task",
                vec![
                    (8.0, 0.48, 0.09),
                    (16.0, 0.66, 0.05),
                    (32.0, 0.76, 0.03),
                    (64.0, 0.82, 0.02),
                    (256.0, 0.93, 0.005),
                ],
            ),
            Series::new(
                "multi-task <A & B>",
                vec![
                    (8.0, 0.55, 0.07),
                    (16.0, 0.68, 0.04),
                    (32.0, 0.78, 0.02),
                    (64.0, 0.84, 0.02),
                    (256.0, 0.94, 0.004),
                ],
            ),
        ];
        p
    }

    #[test]
    fn well_formed_and_complete() {
        for spread in [Spread::Bars, Spread::Band, Spread::None] {
            let mut p = example();
            p.spread = spread;
            let svg = p.to_svg();
            balanced(&svg).unwrap();
            assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#));
            assert!(svg.contains("frozen encoder + head"));
            assert!(svg.contains("fine-tuned, single task"));
            assert!(svg.contains("multi-task &lt;A &amp; B&gt;"));
            assert!(!svg.contains("<A & B>"));
            assert!(svg.contains(">full</text>"));
            assert!(svg.contains(PALETTE[2]));
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
        }
    }

    #[test]
    fn writes_example() {
        let dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(d) => std::path::PathBuf::from(d),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        };
        std::fs::create_dir_all(&dir).unwrap();
        example().write(&dir.join("plot-example.svg")).unwrap();
        let mut band = example();
        band.spread = Spread::Band;
        band.x_log = false;
        band.x_tick_labels = None;
        band.y_range = Some((0.0, 1.0));
        band.write(&dir.join("plot-example-band.svg")).unwrap();
    }

    #[test]
    fn degenerate_inputs() {
        // Empty plot, a single point, NaN / negative-x points on a log axis.
        let empty = LinePlot::new("empty", "x", "y");
        balanced(&empty.to_svg()).unwrap();
        let mut p = LinePlot::new("one", "x", "y");
        p.series.push(Series::new("s", vec![(3.0, 0.5, 0.0)]));
        let svg = p.to_svg();
        balanced(&svg).unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        p.x_log = true;
        p.series.push(Series::new(
            "bad",
            vec![
                (f64::NAN, 1.0, 0.1),
                (-1.0, 1.0, 0.1),
                (10.0, f64::NAN, 0.1),
            ],
        ));
        p.series.push(Series::new(
            "ok",
            vec![(1.0, 0.2, f64::NAN), (100.0, 0.4, 0.1)],
        ));
        let svg = p.to_svg();
        balanced(&svg).unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn ticks() {
        assert_eq!(nice_range(0.13, 0.94, 6), (0.0, 1.0, 0.2));
        let t: Vec<String> = linear_ticks(0.0, 1.0, 0.2)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(t, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let t: Vec<String> = linear_ticks(0.0, 100.0, 20.0)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(t, ["0", "20", "40", "60", "80", "100"]);
        // log10 of [8, 256] spans < 2 decades → 1-2-5 ticks.
        let t: Vec<String> = log_ticks(8f64.log10(), 256f64.log10())
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(t, ["10", "20", "50", "100", "200"]);
        let t: Vec<String> = log_ticks(0.0, 3.0).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["1", "10", "100", "1000"]);
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(
            escape(r#"a<b & "c" 'd'>"#),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
    }
}
