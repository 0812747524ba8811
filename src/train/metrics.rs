//! Classification metrics: accuracy, per-class precision / recall / F1 /
//! support, macro and weighted averages, and the confusion matrix, with a
//! plain-text table and a JSON form.
//!
//! # Zero-division convention
//!
//! As scikit-learn's `precision_recall_fscore_support(..., zero_division=0)`:
//!
//! * precision of a class that is never predicted is **0**;
//! * recall of a class with no true examples (support 0) is **0**;
//! * F1 is **0** when precision + recall is 0.
//!
//! The macro averages are the unweighted means over **all** of `classes`,
//! including classes that never occur in the truth or the predictions (as
//! scikit-learn with `labels=` set to every class). A class absent from the
//! truth therefore pulls the macro averages down; the weighted F1 (weights =
//! support) is unaffected by it. With no examples at all, accuracy and every
//! average are 0.

use crate::error::{Error, Result};
use serde_json::{json, Value};

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassMetrics {
    /// Class name.
    pub name: String,
    /// TP / (TP + FP); 0 when the class is never predicted.
    pub precision: f64,
    /// TP / (TP + FN); 0 when the class has no true examples.
    pub recall: f64,
    /// 2PR / (P + R); 0 when P + R = 0.
    pub f1: f64,
    /// Number of true examples of the class.
    pub support: usize,
}

/// Metrics of one set of predictions against the truth.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Class names, in index order.
    pub classes: Vec<String>,
    /// Number of examples.
    pub n: usize,
    /// Fraction of examples predicted correctly (0 when there are none).
    pub accuracy: f64,
    /// One entry per class, in index order.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean of the per-class precisions.
    pub macro_precision: f64,
    /// Unweighted mean of the per-class recalls.
    pub macro_recall: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Mean of the per-class F1 scores weighted by support.
    pub weighted_f1: f64,
    /// `confusion[t][p]`: examples of true class `t` predicted as `p`
    /// (rows = true, columns = predicted).
    pub confusion: Vec<Vec<usize>>,
}

impl Metrics {
    /// Metrics of predictions `pred` against `truth` (class indices into
    /// `classes`).
    ///
    /// # Panics
    /// If `truth` and `pred` differ in length or hold an index outside
    /// `classes`; [`Metrics::try_compute`] returns those as errors.
    pub fn compute(classes: &[String], truth: &[usize], pred: &[usize]) -> Metrics {
        match Metrics::try_compute(classes, truth, pred) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`Metrics::compute`], with bad input as an error instead of a panic.
    pub fn try_compute(classes: &[String], truth: &[usize], pred: &[usize]) -> Result<Metrics> {
        let k = classes.len();
        if truth.len() != pred.len() {
            return Err(Error::msg(format!(
                "metrics: {} true labels but {} predictions",
                truth.len(),
                pred.len()
            )));
        }
        let mut confusion = vec![vec![0usize; k]; k];
        for (i, (&t, &p)) in truth.iter().zip(pred).enumerate() {
            if t >= k || p >= k {
                return Err(Error::msg(format!(
                    "metrics: example {i}: class index {} is out of range for {k} classes",
                    t.max(p)
                )));
            }
            confusion[t][p] += 1;
        }
        let n = truth.len();
        let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
        let accuracy = ratio(correct, n);

        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = confusion[c][c];
                let support: usize = confusion[c].iter().sum();
                let predicted: usize = (0..k).map(|t| confusion[t][c]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    name: classes[c].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();

        let mean = |f: fn(&ClassMetrics) -> f64| {
            if k == 0 {
                0.0
            } else {
                per_class.iter().map(f).sum::<f64>() / k as f64
            }
        };
        let macro_precision = mean(|c| c.precision);
        let macro_recall = mean(|c| c.recall);
        let macro_f1 = mean(|c| c.f1);
        let weighted_f1 = if n == 0 {
            0.0
        } else {
            per_class
                .iter()
                .map(|c| c.f1 * c.support as f64)
                .sum::<f64>()
                / n as f64
        };

        Ok(Metrics {
            classes: classes.to_vec(),
            n,
            accuracy,
            per_class,
            macro_precision,
            macro_recall,
            macro_f1,
            weighted_f1,
            confusion,
        })
    }

    /// Two aligned plain-text tables: per-class precision / recall / F1 /
    /// support with the macro and weighted averages and the accuracy, then the
    /// confusion matrix (rows = true, columns = predicted) with the class
    /// names as headers.
    pub fn table(&self) -> String {
        let mut out = String::new();

        // Per-class table.
        let name_w = self
            .classes
            .iter()
            .map(|c| c.chars().count())
            .chain(["weighted avg".len(), "class".len()])
            .max()
            .unwrap_or(0);
        let support_w = self.n.to_string().len().max("support".len());
        let num = |v: f64| format!("{v:.4}");
        out.push_str(&format!(
            "{:<name_w$}  {:>9}  {:>9}  {:>9}  {:>support_w$}\n",
            "class", "precision", "recall", "f1", "support"
        ));
        let rule_w = name_w + 2 + 3 * 11 + support_w;
        out.push_str(&"-".repeat(rule_w));
        out.push('\n');
        for c in &self.per_class {
            out.push_str(&format!(
                "{:<name_w$}  {:>9}  {:>9}  {:>9}  {:>support_w$}\n",
                c.name,
                num(c.precision),
                num(c.recall),
                num(c.f1),
                c.support
            ));
        }
        out.push_str(&"-".repeat(rule_w));
        out.push('\n');
        out.push_str(&format!(
            "{:<name_w$}  {:>9}  {:>9}  {:>9}  {:>support_w$}\n",
            "macro avg",
            num(self.macro_precision),
            num(self.macro_recall),
            num(self.macro_f1),
            self.n
        ));
        out.push_str(&format!(
            "{:<name_w$}  {:>9}  {:>9}  {:>9}  {:>support_w$}\n",
            "weighted avg",
            "",
            "",
            num(self.weighted_f1),
            self.n
        ));
        out.push_str(&format!(
            "{:<name_w$}  {:>9}  {:>9}  {:>9}  {:>support_w$}\n",
            "accuracy",
            "",
            "",
            num(self.accuracy),
            self.n
        ));

        // Confusion matrix.
        out.push('\n');
        out.push_str("confusion matrix (rows = true, columns = predicted)\n");
        let corner = "true \\ pred";
        let row_w = self
            .classes
            .iter()
            .map(|c| c.chars().count())
            .chain([corner.len()])
            .max()
            .unwrap_or(0);
        let col_w: Vec<usize> = (0..self.classes.len())
            .map(|p| {
                let widest = self
                    .confusion
                    .iter()
                    .map(|r| r[p].to_string().len())
                    .max()
                    .unwrap_or(1);
                self.classes[p].chars().count().max(widest)
            })
            .collect();
        out.push_str(&format!("{corner:<row_w$}"));
        for (name, &w) in self.classes.iter().zip(&col_w) {
            out.push_str(&format!("  {name:>w$}"));
        }
        out.push('\n');
        for (name, row) in self.classes.iter().zip(&self.confusion) {
            out.push_str(&format!("{name:<row_w$}"));
            for (count, &w) in row.iter().zip(&col_w) {
                out.push_str(&format!("  {count:>w$}"));
            }
            out.push('\n');
        }
        out
    }

    /// The metrics as JSON:
    /// `{"n", "accuracy", "macro": {"precision", "recall", "f1"},
    /// "weighted_f1", "per_class": [{"class", "precision", "recall", "f1",
    /// "support"}], "classes", "confusion"}` (confusion rows = true, columns =
    /// predicted).
    pub fn to_json(&self) -> Value {
        let per_class: Vec<Value> = self
            .per_class
            .iter()
            .map(|c| {
                json!({
                    "class": c.name,
                    "precision": c.precision,
                    "recall": c.recall,
                    "f1": c.f1,
                    "support": c.support,
                })
            })
            .collect();
        json!({
            "n": self.n,
            "accuracy": self.accuracy,
            "macro": {
                "precision": self.macro_precision,
                "recall": self.macro_recall,
                "f1": self.macro_f1,
            },
            "weighted_f1": self.weighted_f1,
            "per_class": per_class,
            "classes": self.classes,
            "confusion": self.confusion,
        })
    }
}

/// `num / den`, 0 when `den` is 0.
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The predicted class of each row of `values`, `[n, classes]` row-major
/// logits or probabilities: the index of the row maximum, the lowest index on
/// ties. NaN entries are ignored (a row of NaN only gives 0).
///
/// # Panics
/// If `classes` is 0 or `values.len()` is not a multiple of `classes`.
pub fn from_probs(values: &[f32], classes: usize) -> Vec<usize> {
    assert!(classes > 0, "from_probs: 0 classes");
    assert!(
        values.len().is_multiple_of(classes),
        "from_probs: {} values is not a whole number of rows of {classes} classes",
        values.len()
    );
    values
        .chunks(classes)
        .map(|row| {
            let mut best: Option<(usize, f32)> = None;
            for (i, &v) in row.iter().enumerate() {
                if v.is_nan() {
                    continue;
                }
                // Strictly greater: an equal value later keeps the lower index.
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((i, v));
                }
            }
            best.map_or(0, |(i, _)| i)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn perfect_predictions() {
        let m = Metrics::compute(&names(&["a", "b"]), &[0, 1, 1, 0], &[0, 1, 1, 0]);
        close(m.accuracy, 1.0);
        close(m.macro_f1, 1.0);
        close(m.weighted_f1, 1.0);
        assert_eq!(m.confusion, vec![vec![2, 0], vec![0, 2]]);
    }

    /// Four classes; "c" is never predicted, "d" never occurs in the truth.
    ///
    /// truth: a a a b b c c      (7 examples)
    /// pred:  a a b b d a b
    ///
    /// Confusion (rows true a b c d, cols pred a b c d):
    ///   a: 2 1 0 0
    ///   b: 0 1 0 1
    ///   c: 1 1 0 0
    ///   d: 0 0 0 0
    ///
    /// accuracy = (2 + 1) / 7 = 3/7
    /// a: TP 2, predicted 3, support 3 → P 2/3, R 2/3, F1 2/3
    /// b: TP 1, predicted 3, support 2 → P 1/3, R 1/2,
    ///    F1 = 2·(1/3)(1/2) / (1/3 + 1/2) = (1/3) / (5/6) = 2/5
    /// c: TP 0, predicted 0 (zero division → P 0), support 2 → R 0, F1 0
    /// d: TP 0, predicted 1 → P 0, support 0 (zero division → R 0), F1 0
    /// macro P  = (2/3 + 1/3 + 0 + 0) / 4 = 1/4
    /// macro R  = (2/3 + 1/2 + 0 + 0) / 4 = (7/6) / 4 = 7/24
    /// macro F1 = (2/3 + 2/5 + 0 + 0) / 4 = (16/15) / 4 = 4/15
    /// weighted F1 = (3·2/3 + 2·2/5 + 2·0 + 0·0) / 7 = (2 + 4/5) / 7 = 2/5
    #[test]
    fn never_predicted_and_absent_classes() {
        let classes = names(&["a", "b", "c", "d"]);
        let truth = [0, 0, 0, 1, 1, 2, 2];
        let pred = [0, 0, 1, 1, 3, 0, 1];
        let m = Metrics::compute(&classes, &truth, &pred);
        assert_eq!(m.n, 7);
        assert_eq!(
            m.confusion,
            vec![
                vec![2, 1, 0, 0],
                vec![0, 1, 0, 1],
                vec![1, 1, 0, 0],
                vec![0, 0, 0, 0]
            ]
        );
        close(m.accuracy, 3.0 / 7.0);

        let a = &m.per_class[0];
        close(a.precision, 2.0 / 3.0);
        close(a.recall, 2.0 / 3.0);
        close(a.f1, 2.0 / 3.0);
        assert_eq!(a.support, 3);

        let b = &m.per_class[1];
        close(b.precision, 1.0 / 3.0);
        close(b.recall, 0.5);
        close(b.f1, 0.4);
        assert_eq!(b.support, 2);

        let c = &m.per_class[2];
        assert_eq!((c.precision, c.recall, c.f1, c.support), (0.0, 0.0, 0.0, 2));
        let d = &m.per_class[3];
        assert_eq!((d.precision, d.recall, d.f1, d.support), (0.0, 0.0, 0.0, 0));

        close(m.macro_precision, 0.25);
        close(m.macro_recall, 7.0 / 24.0);
        close(m.macro_f1, 4.0 / 15.0);
        close(m.weighted_f1, 0.4);

        let j = m.to_json();
        close(j["accuracy"].as_f64().unwrap(), 3.0 / 7.0);
        close(j["macro"]["f1"].as_f64().unwrap(), 4.0 / 15.0);
        close(j["weighted_f1"].as_f64().unwrap(), 0.4);
        assert_eq!(j["per_class"][1]["class"], "b");
        assert_eq!(j["per_class"][2]["support"], 2);
        assert_eq!(j["confusion"][1], json!([0, 1, 0, 1]));
        assert_eq!(j["classes"][3], "d");
        assert_eq!(j["n"], 7);
    }

    /// Binary: truth 1 1 1 0 0, pred 1 0 1 1 0.
    /// neg (0): TP 1, predicted 2, support 2 → P 1/2, R 1/2, F1 1/2
    /// pos (1): TP 2, predicted 3, support 3 → P 2/3, R 2/3, F1 2/3
    /// accuracy 3/5; macro F1 (1/2 + 2/3) / 2 = 7/12;
    /// weighted F1 (2·1/2 + 3·2/3) / 5 = 3/5.
    #[test]
    fn binary() {
        let m = Metrics::compute(&names(&["neg", "pos"]), &[1, 1, 1, 0, 0], &[1, 0, 1, 1, 0]);
        close(m.accuracy, 0.6);
        close(m.per_class[0].f1, 0.5);
        close(m.per_class[1].f1, 2.0 / 3.0);
        close(m.macro_f1, 7.0 / 12.0);
        close(m.macro_precision, 7.0 / 12.0);
        close(m.weighted_f1, 0.6);
    }

    #[test]
    fn empty_input_is_all_zero() {
        let m = Metrics::compute(&names(&["a", "b"]), &[], &[]);
        assert_eq!(m.n, 0);
        assert_eq!((m.accuracy, m.macro_f1, m.weighted_f1), (0.0, 0.0, 0.0));
        assert!(!m.table().is_empty());
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = names(&["a", "b"]);
        assert!(Metrics::try_compute(&c, &[0, 1], &[0]).is_err());
        let e = Metrics::try_compute(&c, &[0, 2], &[0, 1]).unwrap_err();
        assert!(e.message().contains("example 1"), "{e}");
    }

    #[test]
    fn argmax_ties_and_nan() {
        let v = [
            0.1,
            0.7,
            0.2, // → 1
            0.5,
            0.5,
            0.1, // tie → 0
            0.2,
            0.3,
            0.3, // tie → 1
            f32::NAN,
            -1.0,
            -2.0, // NaN ignored → 1
            f32::NAN,
            f32::NAN,
            f32::NAN, // → 0
            -3.0,
            -1.0,
            -1.0, // logits, tie → 1
        ];
        assert_eq!(from_probs(&v, 3), vec![1, 0, 1, 1, 0, 1]);
        assert!(from_probs(&[], 4).is_empty());
    }

    #[test]
    fn table_is_aligned() {
        let classes = names(&["acq", "money-fx", "earn"]);
        let truth = [0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
        let pred = [0, 1, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
        let m = Metrics::compute(&classes, &truth, &pred);
        let t = m.table();
        println!("{t}");
        let lines: Vec<&str> = t.lines().collect();
        // Per-class block: header, rule, 3 classes, rule, 3 summary rows.
        let block: Vec<&str> = lines[..9].to_vec();
        let w = block[0].len();
        for l in &block {
            assert_eq!(l.len(), w, "{l:?}");
        }
        assert!(block[3].starts_with("money-fx "));
        assert!(block[6].starts_with("macro avg"));
        assert!(block[8].starts_with("accuracy"));
        // Confusion block: every line has the same width and the columns line
        // up under the right-aligned headers.
        let header = lines
            .iter()
            .position(|l| l.starts_with("true \\ pred"))
            .unwrap();
        let conf = &lines[header..header + 4];
        let w = conf[0].len();
        for l in conf {
            assert_eq!(l.len(), w, "{l:?}");
        }
        assert!(conf[0].ends_with("acq  money-fx  earn"), "{:?}", conf[0]);
        // earn row: 0 acq, 1 money-fx, 10 earn.
        assert!(conf[3].starts_with("earn"));
        assert!(conf[3].ends_with("    0         1    10"), "{:?}", conf[3]);
    }
}
