//! A small, dependency-free SVG line-plot writer for the study's figures:
//! one line per series (solid or dashed) with markers, ±std shown as error
//! bars or a shaded band, axes with ticks and labels, a title and an
//! optional subtitle, a legend, a linear or log x axis, optional categorical
//! x tick labels (e.g. 8, 16, 64), and an optional side panel right of the
//! plot holding one value per series that does not belong on the x axis
//! (e.g. the result on all the training data), on the same y scale.
//!
//! ```
//! use minilm::train::svg::{LinePlot, Series};
//! let mut plot = LinePlot::new("Task A", "examples per class", "macro F1");
//! plot.x_log = true;
//! plot.subtitle = "mean over seeds, bars ±1 std".into();
//! plot.side_label = Some("all data".into());
//! let mut s = Series::new("multi-task", vec![(8.0, 0.61, 0.03), (16.0, 0.70, 0.02)]);
//! s.side = Some((0.90, 0.01));
//! s.dashed = true;
//! plot.series.push(s);
//! let svg = plot.to_svg();
//! assert!(svg.starts_with("<svg") && svg.contains("all data"));
//! ```

use crate::error::Result;
use crate::markup::escape;
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
    /// Drawn dashed (line, legend entry and side mark), with hollow markers.
    pub dashed: bool,
    /// `(mean, std)` shown in the side panel (see [`LinePlot::side_label`])
    /// rather than on the x axis; skipped when the mean is not finite.
    pub side: Option<(f64, f64)>,
}

impl Series {
    /// A solid series from its name and `(x, mean, std)` points, with no
    /// side value.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            ..Series::default()
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
    /// A smaller line under the title (e.g. what the markers and bars
    /// show), also written to the SVG's `<desc>`; empty: none.
    pub subtitle: String,
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
    /// Fixed y range `(min, max)`; automatic (covering mean ± std of the
    /// points and side values, rounded out to ticks) when `None`.
    pub y_range: Option<(f64, f64)>,
    /// How ±std is drawn.
    pub spread: Spread,
    /// Label under the side panel (e.g. "all data"). The panel, a narrow
    /// frame right of the plot with one slot per series that has a
    /// [`Series::side`] value (a short horizontal mark at the mean, a bar
    /// for ±std), is drawn when this is set and some series has one.
    pub side_label: Option<String>,
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
/// Extra room above the plot for a subtitle.
const SUBTITLE: f64 = 16.0;
const BOTTOM: f64 = 64.0;
/// Side panel: width per series, inner padding, gap to the main panel,
/// least width (room for its label).
const SIDE_SLOT: f64 = 16.0;
const SIDE_PAD: f64 = 10.0;
const SIDE_GAP: f64 = 14.0;
const SIDE_MIN: f64 = 64.0;
/// Dash patterns of dashed series: line, legend entry, side mark.
const DASH_LINE: &str = "7 4";
const DASH_LEGEND: &str = "6 3";
const DASH_MARK: &str = "4 2";
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// Where everything goes: the canvas, the main panel, the side panel, the
/// legend and the axis domains.
struct Layout {
    width: f64,
    height: f64,
    /// Main panel, in pixels.
    px0: f64,
    px1: f64,
    py0: f64,
    py1: f64,
    /// Side panel's left and right edge, when drawn.
    side: Option<(f64, f64)>,
    legend_w: f64,
    /// x domain in axis units (log10 x on a log axis).
    xmin: f64,
    xmax: f64,
    ymin: f64,
    ymax: f64,
    x_log: bool,
    /// `(position in axis units, label)`.
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
}

impl Layout {
    /// Pixel x of a position in axis units.
    fn sxa(&self, a: f64) -> f64 {
        self.px0 + (a - self.xmin) / (self.xmax - self.xmin) * (self.px1 - self.px0)
    }
    /// Pixel x of a data x.
    fn sx(&self, x: f64) -> f64 {
        self.sxa(if self.x_log { x.log10() } else { x })
    }
    /// Pixel y of a data y.
    fn sy(&self, y: f64) -> f64 {
        self.py1 - (y - self.ymin) / (self.ymax - self.ymin) * (self.py1 - self.py0)
    }
    /// Whether a position in axis units falls inside the main panel.
    fn x_visible(&self, a: f64) -> bool {
        let x = self.sxa(a);
        x >= self.px0 - 0.5 && x <= self.px1 + 0.5
    }
}

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

    /// Writes [`LinePlot::to_svg`] to `path`, atomically
    /// ([`crate::atomic::write_file`]).
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::atomic::write_file(path, self.to_svg().as_bytes())
    }

    /// The plot as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let series: Vec<Vec<(f64, f64, f64)>> =
            self.series.iter().map(|s| self.usable(&s.points)).collect();
        let l = self.layout(&series);
        let mut s = String::new();
        self.draw_canvas(&mut s, &l);
        self.draw_grid(&mut s, &l);
        self.draw_labels(&mut s, &l);
        self.draw_series(&mut s, &l, &series);
        self.draw_side(&mut s, &l);
        self.draw_legend(&mut s, &l);
        s.push_str("</svg>\n");
        s
    }

    /// The series' side values that can be drawn, in legend order, with the
    /// series' index.
    fn side_values(&self) -> Vec<(usize, f64, f64)> {
        self.series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (m, sd) = s.side?;
                m.is_finite()
                    .then_some((i, m, if sd.is_finite() { sd.abs() } else { 0.0 }))
            })
            .collect()
    }

    /// Sizes and domains: the legend's width from the longest name (about
    /// 0.6 em per character at 13 px), the side panel's from its slots.
    fn layout(&self, series: &[Vec<(f64, f64, f64)>]) -> Layout {
        let longest = self.series.iter().map(|s| s.name.chars().count()).max();
        let legend_w = longest.map_or(0.0, |n| (n as f64 * 7.8 + 48.0).clamp(90.0, 260.0));
        let n_side = self.side_values().len();
        let side_w = if self.side_label.is_some() && n_side > 0 {
            (n_side as f64 * SIDE_SLOT + 2.0 * SIDE_PAD).max(SIDE_MIN)
        } else {
            0.0
        };
        let width = WIDTH + if side_w > 0.0 { side_w + SIDE_GAP } else { 0.0 };
        let extra = if self.subtitle.is_empty() {
            0.0
        } else {
            SUBTITLE
        };
        let px1 = width - 24.0 - legend_w - if side_w > 0.0 { side_w + SIDE_GAP } else { 0.0 };
        // Error bars nudged apart must stay inside the frame.
        let edge = self.max_nudge(series.len()) + 8.0;
        let (xmin, xmax, x_ticks) = self.x_domain(series, edge / (px1 - LEFT));
        let (ymin, ymax, y_ticks) = self.y_domain(series);
        Layout {
            width,
            height: HEIGHT + extra,
            px0: LEFT,
            px1,
            py0: TOP + extra,
            py1: HEIGHT + extra - BOTTOM,
            side: (side_w > 0.0).then_some((px1 + SIDE_GAP, px1 + SIDE_GAP + side_w)),
            legend_w,
            xmin,
            xmax,
            ymin,
            ymax,
            x_log: self.x_log,
            x_ticks,
            y_ticks,
        }
    }

    /// How far (pixels) series are nudged sideways at most: error bars of
    /// `n` series at one x are spread 5 px apart.
    fn max_nudge(&self, n: usize) -> f64 {
        if self.spread == Spread::Bars && n > 1 {
            (n - 1) as f64 / 2.0 * 5.0
        } else {
            0.0
        }
    }

    /// The x domain in axis units (log10 x on a log axis) and its ticks.
    /// On a log or labelled axis the end points are kept off the frame by
    /// 5 % of the range, or by `edge` (a fraction of the panel's width) if
    /// more.
    fn x_domain(
        &self,
        series: &[Vec<(f64, f64, f64)>],
        edge: f64,
    ) -> (f64, f64, Vec<(f64, String)>) {
        let tx = |x: f64| if self.x_log { x.log10() } else { x };
        let labelled: Vec<(f64, String)> = self
            .x_tick_labels
            .iter()
            .flatten()
            .filter(|(x, _)| x.is_finite() && (!self.x_log || *x > 0.0))
            .map(|(x, l)| (tx(*x), l.clone()))
            .collect();
        let mut xs: Vec<f64> = series.iter().flatten().map(|p| tx(p.0)).collect();
        xs.extend(labelled.iter().map(|t| t.0));
        let (mut xmin, mut xmax) = min_max(&xs).unwrap_or((0.0, 1.0));
        if xmax - xmin <= 0.0 {
            xmin -= 0.5;
            xmax += 0.5;
        }
        let ticks = match &self.x_tick_labels {
            Some(_) => labelled,
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
            // Keep the end points off the frame: pad / (range + 2 pad) ≥ edge.
            let edge = edge.clamp(0.0, 0.4);
            let pad = (0.05f64).max(edge / (1.0 - 2.0 * edge)) * (xmax - xmin);
            xmin -= pad;
            xmax += pad;
        }
        (xmin, xmax, ticks)
    }

    /// The y domain (fixed, or covering every mean ± std of the points and
    /// the side values, rounded out to ticks) and its ticks.
    fn y_domain(&self, series: &[Vec<(f64, f64, f64)>]) -> (f64, f64, Vec<(f64, String)>) {
        if let Some((lo, hi)) = self.y_range {
            if lo.is_finite() && hi.is_finite() && hi > lo {
                let (_, _, step) = nice_range(lo, hi, 6);
                return (lo, hi, linear_ticks((lo / step).ceil() * step, hi, step));
            }
        }
        let side = self.side_values();
        let ys: Vec<f64> = series
            .iter()
            .flatten()
            .map(|&(_, m, s)| (m, s))
            .chain(side.iter().map(|&(_, m, s)| (m, s)))
            .flat_map(|(m, s)| [m - s, m + s])
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

    /// The `<svg>` element, title, description, background and clip paths.
    fn draw_canvas(&self, s: &mut String, l: &Layout) {
        let (w, h) = (l.width, l.height);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}" font-size="12">"#
        );
        let _ = writeln!(s, "<title>{}</title>", escape(&self.title));
        if !self.subtitle.is_empty() {
            let _ = writeln!(s, "<desc>{}</desc>", escape(&self.subtitle));
        }
        let _ = writeln!(
            s,
            r#"<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>"#
        );
        let _ = write!(
            s,
            r#"<defs><clipPath id="plot-area"><rect x="{}" y="{}" width="{:.2}" height="{:.2}"/></clipPath>"#,
            l.px0,
            l.py0,
            l.px1 - l.px0,
            l.py1 - l.py0
        );
        if let Some((a, b)) = l.side {
            let _ = write!(
                s,
                r#"<clipPath id="side-area"><rect x="{a:.2}" y="{}" width="{:.2}" height="{:.2}"/></clipPath>"#,
                l.py0,
                b - a,
                l.py1 - l.py0
            );
        }
        let _ = writeln!(s, "</defs>");
    }

    /// Grid lines, tick marks and tick labels (the side panel shares the
    /// horizontal grid lines, not the x ticks).
    fn draw_grid(&self, s: &mut String, l: &Layout) {
        let xs: Vec<&(f64, String)> = l.x_ticks.iter().filter(|t| l.x_visible(t.0)).collect();
        let (py0, py1) = (l.py0, l.py1);
        let _ = writeln!(s, r##"<g stroke="#e0e0e0" stroke-width="1">"##);
        for (a, _) in &xs {
            let x = l.sxa(*a);
            let _ = writeln!(
                s,
                r#"<line x1="{x:.2}" y1="{py0}" x2="{x:.2}" y2="{py1}"/>"#
            );
        }
        for (y, _) in &l.y_ticks {
            let y = l.sy(*y);
            let _ = writeln!(
                s,
                r#"<line x1="{}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}"/>"#,
                l.px0, l.px1
            );
            if let Some((a, b)) = l.side {
                let _ = writeln!(
                    s,
                    r#"<line x1="{a:.2}" y1="{y:.2}" x2="{b:.2}" y2="{y:.2}"/>"#
                );
            }
        }
        let _ = writeln!(s, "</g>");
        let _ = writeln!(s, r##"<g stroke="#333" stroke-width="1">"##);
        for (a, _) in &xs {
            let x = l.sxa(*a);
            let _ = writeln!(
                s,
                r#"<line x1="{x:.2}" y1="{py1}" x2="{x:.2}" y2="{:.2}"/>"#,
                py1 + 5.0
            );
        }
        for (y, _) in &l.y_ticks {
            let y = l.sy(*y);
            let _ = writeln!(
                s,
                r#"<line x1="{:.2}" y1="{y:.2}" x2="{}" y2="{y:.2}"/>"#,
                l.px0 - 5.0,
                l.px0
            );
        }
        let _ = writeln!(s, "</g>");
        let _ = writeln!(s, r##"<g fill="#333" text-anchor="middle">"##);
        for (a, label) in &xs {
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{:.2}">{}</text>"#,
                l.sxa(*a),
                py1 + 19.0,
                escape(label)
            );
        }
        let _ = writeln!(s, "</g>");
        let _ = writeln!(s, r##"<g fill="#333" text-anchor="end">"##);
        for (y, label) in &l.y_ticks {
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{:.2}">{}</text>"#,
                l.px0 - 8.0,
                l.sy(*y) + 4.0,
                escape(label)
            );
        }
        let _ = writeln!(s, "</g>");
    }

    /// Frames, title, subtitle, axis labels and the side panel's label.
    fn draw_labels(&self, s: &mut String, l: &Layout) {
        let frame = |s: &mut String, a: f64, b: f64| {
            let _ = writeln!(
                s,
                r##"<rect x="{a:.2}" y="{}" width="{:.2}" height="{:.2}" fill="none" stroke="#333" stroke-width="1"/>"##,
                l.py0,
                b - a,
                l.py1 - l.py0
            );
        };
        frame(s, l.px0, l.px1);
        let mid = (l.px0 + l.side.map_or(l.px1, |p| p.1)) / 2.0;
        let title_y = if self.subtitle.is_empty() {
            TOP - 20.0
        } else {
            TOP - 26.0
        };
        let _ = writeln!(
            s,
            r#"<text x="{mid:.2}" y="{title_y:.2}" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        if !self.subtitle.is_empty() {
            let _ = writeln!(
                s,
                r##"<text x="{mid:.2}" y="{:.2}" text-anchor="middle" font-size="12" fill="#444">{}</text>"##,
                title_y + 18.0,
                escape(&self.subtitle)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{:.2}" text-anchor="middle" font-size="13">{}</text>"#,
            (l.px0 + l.px1) / 2.0,
            l.height - 18.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({:.2} {:.2}) rotate(-90)" text-anchor="middle" font-size="13">{}</text>"#,
            20.0,
            (l.py0 + l.py1) / 2.0,
            escape(&self.y_label)
        );
        if let (Some((a, b)), Some(label)) = (l.side, &self.side_label) {
            frame(s, a, b);
            let _ = writeln!(
                s,
                r##"<text x="{:.2}" y="{:.2}" text-anchor="middle" fill="#333">{}</text>"##,
                (a + b) / 2.0,
                l.py1 + 19.0,
                escape(label)
            );
        }
    }

    /// The spreads (under every line), then the lines and markers.
    fn draw_series(&self, s: &mut String, l: &Layout, series: &[Vec<(f64, f64, f64)>]) {
        let half = self.max_nudge(series.len());
        let nudge = |i: usize| {
            if half > 0.0 {
                i as f64 * 5.0 - half
            } else {
                0.0
            }
        };
        let _ = writeln!(s, r#"<g clip-path="url(#plot-area)">"#);
        for (i, pts) in series.iter().enumerate() {
            self.draw_spread(s, l, PALETTE[i % PALETTE.len()], pts, nudge(i));
        }
        for (i, pts) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let (dx, dashed) = (nudge(i), self.series[i].dashed);
            let _ = writeln!(s, r#"<g><title>{}</title>"#, escape(&self.series[i].name));
            if pts.len() > 1 {
                let line: Vec<String> = pts
                    .iter()
                    .map(|&(x, m, _)| format!("{:.2},{:.2}", l.sx(x) + dx, l.sy(m)))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"{}/>"#,
                    line.join(" "),
                    dash(dashed, DASH_LINE)
                );
            }
            for &(x, m, _) in pts {
                marker(s, l.sx(x) + dx, l.sy(m), colour, dashed);
            }
            let _ = writeln!(s, "</g>");
        }
        let _ = writeln!(s, "</g>");
    }

    /// One series' ±std: a band, or error bars nudged by `dx` pixels.
    fn draw_spread(
        &self,
        s: &mut String,
        l: &Layout,
        colour: &str,
        pts: &[(f64, f64, f64)],
        dx: f64,
    ) {
        match self.spread {
            Spread::Band if pts.len() > 1 => {
                let mut poly = String::new();
                for &(x, m, sd) in pts.iter() {
                    let _ = write!(poly, "{:.2},{:.2} ", l.sx(x), l.sy(m + sd));
                }
                for &(x, m, sd) in pts.iter().rev() {
                    let _ = write!(poly, "{:.2},{:.2} ", l.sx(x), l.sy(m - sd));
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
                    error_bar(s, l.sx(x) + dx, l.sy(m - sd), l.sy(m + sd), 4.0);
                }
                let _ = writeln!(s, "</g>");
            }
            Spread::None => {}
        }
    }

    /// The side panel's marks: per series, a short horizontal mark at the
    /// mean in its own slot, over a ±std bar.
    fn draw_side(&self, s: &mut String, l: &Layout) {
        let Some((a, _)) = l.side else { return };
        let _ = writeln!(s, r#"<g clip-path="url(#side-area)">"#);
        for (slot, (i, m, sd)) in self.side_values().into_iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let series = &self.series[i];
            let x = a + SIDE_PAD + SIDE_SLOT * (slot as f64 + 0.5);
            let _ = writeln!(
                s,
                r#"<g stroke="{colour}"><title>{}: {m:.3} ± {sd:.3}</title>"#,
                escape(&series.name)
            );
            let _ = writeln!(s, r#"<g stroke-width="1.2">"#);
            error_bar(s, x, l.sy(m - sd), l.sy(m + sd), 3.0);
            let _ = writeln!(s, "</g>");
            let half = SIDE_SLOT / 2.0 - 1.5;
            let y = l.sy(m);
            let _ = writeln!(
                s,
                r#"<line x1="{:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke-width="3"{}/>"#,
                x - half,
                x + half,
                dash(series.dashed, DASH_MARK)
            );
            let _ = writeln!(s, "</g>");
        }
        let _ = writeln!(s, "</g>");
    }

    /// The legend, right of the plot: one row per series (shorter rows when
    /// many series would not fit).
    fn draw_legend(&self, s: &mut String, l: &Layout) {
        if self.series.is_empty() {
            return;
        }
        let lx = l.side.map_or(l.px1, |p| p.1) + 16.0;
        let n = self.series.len() as f64;
        let row = ((l.py1 - l.py0 - 12.0) / n).clamp(12.0, 20.0);
        let _ = writeln!(
            s,
            r##"<rect x="{lx:.2}" y="{}" width="{:.2}" height="{:.2}" fill="white" stroke="#bbb" stroke-width="1" rx="3"/>"##,
            l.py0,
            l.legend_w - 8.0,
            row * n + 12.0
        );
        for (i, series) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let y = l.py0 + 6.0 + row * (i as f64 + 0.5);
            let _ = writeln!(
                s,
                r#"<line x1="{:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="{colour}" stroke-width="2"{}/>"#,
                lx + 8.0,
                lx + 30.0,
                dash(series.dashed, DASH_LEGEND)
            );
            marker(s, lx + 19.0, y, colour, series.dashed);
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{:.2}" font-size="13">{}</text>"#,
                lx + 38.0,
                y + 4.5,
                escape(&series.name)
            );
        }
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

/// ` stroke-dasharray="…"` when `dashed`, else nothing.
fn dash(dashed: bool, pattern: &str) -> String {
    if dashed {
        format!(r#" stroke-dasharray="{pattern}""#)
    } else {
        String::new()
    }
}

/// A marker: a filled circle, or a hollow one for a dashed series.
fn marker(s: &mut String, x: f64, y: f64, colour: &str, hollow: bool) {
    let (fill, stroke, width) = if hollow {
        ("white", colour, 1.5)
    } else {
        (colour, "white", 1.0)
    };
    let _ = writeln!(
        s,
        r#"<circle cx="{x:.2}" cy="{y:.2}" r="3.5" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>"#
    );
}

/// A vertical bar from `y0` to `y1` at `x` with caps `cap` pixels either
/// side (stroke from the enclosing group); nothing when it has no length.
fn error_bar(s: &mut String, x: f64, y0: f64, y1: f64, cap: f64) {
    if (y0 - y1).abs() < 1e-9 {
        return;
    }
    let _ = writeln!(
        s,
        r#"<line x1="{x:.2}" y1="{y0:.2}" x2="{x:.2}" y2="{y1:.2}"/>"#
    );
    for y in [y0, y1] {
        let _ = writeln!(
            s,
            r#"<line x1="{:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}"/>"#,
            x - cap,
            x + cap
        );
    }
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
            if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#39;"]
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
        let mut side = example();
        side.subtitle = "points: mean; bars: ±1 std".into();
        side.side_label = Some("all data".into());
        side.series[2].dashed = true;
        for s in &mut side.series {
            let (_, m, sd) = s.points.pop().unwrap();
            s.side = Some((m, sd));
        }
        side.write(&dir.join("plot-example-side.svg")).unwrap();
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
    fn side_panel_subtitle_and_dashed_series() {
        let mut p = example();
        p.subtitle = "points: mean over seeds; bars: ±1 sample std".into();
        p.side_label = Some("all data".into());
        p.x_tick_labels.as_mut().unwrap().pop();
        for (i, s) in p.series.iter_mut().enumerate() {
            s.points.pop();
            s.side = Some((0.9 + 0.01 * i as f64, 0.01));
        }
        p.series[2].dashed = true;
        // A side value far outside the points widens the y range.
        p.series[1].side = Some((1.5, 0.0));
        let svg = p.to_svg();
        balanced(&svg).unwrap();
        assert!(svg.contains(">all data</text>") && !svg.contains(">full</text>"));
        assert!(svg.contains("<desc>points: mean over seeds; bars: ±1 sample std</desc>"));
        assert!(svg.contains(r#"clipPath id="side-area""#));
        assert!(svg.contains(r#"stroke-dasharray="7 4""#), "dashed line");
        assert!(
            svg.contains(r#"stroke-dasharray="4 2""#),
            "dashed side mark"
        );
        assert!(svg.contains("fine-tuned, single task: 1.500 ± 0.000"));
        assert!(svg.contains(">1.6</text>"), "y axis covers the side value");
        // Wider than without the panel; without a label, no panel.
        let width = |svg: &str| -> f64 {
            let w = svg.split("width=\"").nth(1).unwrap();
            w[..w.find('"').unwrap()].parse().unwrap()
        };
        assert!(width(&svg) > WIDTH);
        p.side_label = None;
        let plain = p.to_svg();
        assert!(!plain.contains("side-area") && !plain.contains(">all data<"));
        assert_eq!(width(&plain), WIDTH);
    }

    #[test]
    fn legend_fits_many_series() {
        let mut p = example();
        p.subtitle = "sub".into();
        p.series = (0..24)
            .map(|i| {
                Series::new(
                    format!("series {i}"),
                    vec![(8.0, 0.5, 0.1), (64.0, 0.6, 0.1)],
                )
            })
            .collect();
        let svg = p.to_svg();
        balanced(&svg).unwrap();
        // The legend box ends inside the canvas.
        let rect = svg
            .lines()
            .find(|l| l.contains(r##"stroke="#bbb""##))
            .unwrap();
        let attr = |k: &str| -> f64 {
            let v = rect.split(&format!(" {k}=\"")).nth(1).unwrap();
            v[..v.find('"').unwrap()].parse().unwrap()
        };
        assert!(attr("y") + attr("height") <= HEIGHT + SUBTITLE, "{rect}");
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
    }
}
