//! `ndarray` in and out (the `ndarray` feature), for Rust users who hold
//! their matrices in it: embeddings as `Array2<f32>` (`[texts, 384]`), and
//! array views accepted where the API takes a matrix. A view in standard
//! (row-major, contiguous) layout is used in place; any other layout (a
//! transposed or sliced view) is copied once into row-major order.

use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::tokenize::Tokens;
use ndarray::{Array2, ArrayView2};
use std::borrow::Cow;

impl Encoder {
    /// [`Encoder::embed`] as one `[texts, dim]` array (row `i` is text `i`),
    /// written in place: no per-text vectors.
    pub fn embed_array(&self, texts: &[&str]) -> Result<Array2<f32>> {
        let tokens = self.tokenize(texts)?;
        self.embed_tokens_array(&tokens)
    }

    /// [`Encoder::embed_tokens`] as one `[texts, dim]` array.
    pub fn embed_tokens_array(&self, tokens: &[Tokens]) -> Result<Array2<f32>> {
        let h = self.dim();
        let mut out = vec![0.0f32; tokens.len() * h];
        self.embed_each(tokens, |i, v| out[i * h..(i + 1) * h].copy_from_slice(v))?;
        Array2::from_shape_vec((tokens.len(), h), out)
            .map_err(|e| Error::msg(format!("embedding array: {e}")))
    }
}

/// The elements of `x` in row-major order: borrowed when the view is
/// already row-major and contiguous, copied otherwise.
pub fn row_major<'a>(x: &ArrayView2<'a, f32>) -> Cow<'a, [f32]> {
    match x.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(x.iter().copied().collect()),
    }
}

#[cfg(feature = "train")]
mod train {
    use super::row_major;
    use crate::model::heads::Head;
    use crate::train::logreg::LogReg;
    use ndarray::{Array2, ArrayView2};

    impl Head {
        /// [`Head::forward`] on `pooled: [rows, hidden]`: `logits: [rows, classes]`.
        pub fn forward_array(&self, pooled: ArrayView2<'_, f32>) -> Array2<f32> {
            let rows = pooled.nrows();
            let logits = self.forward(&row_major(&pooled), rows);
            Array2::from_shape_vec((rows, self.num_classes()), logits)
                .expect("Head::forward returns rows × classes logits")
        }
    }

    impl LogReg {
        /// [`LogReg::fit`] on `x: [n, dim]` (the width is the array's).
        pub fn fit_array(
            x: ArrayView2<'_, f32>,
            y: &[usize],
            classes: usize,
            iterations: usize,
        ) -> LogReg {
            LogReg::fit(&row_major(&x), y, x.ncols(), classes, iterations)
        }

        /// [`LogReg::predict`] on `x: [n, dim]`.
        pub fn predict_array(&self, x: ArrayView2<'_, f32>) -> Vec<usize> {
            assert_eq!(x.ncols(), self.dim, "LogReg::predict_array: feature width");
            self.predict(&row_major(&x))
        }
    }
}
