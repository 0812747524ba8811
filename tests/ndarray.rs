//! The `ndarray` feature (src/arrays.rs): arrays out equal the vectors out
//! bit for bit, and array views in give the same results as the slices
//! they stand for, whatever their layout. Built only with the feature
//! (Cargo.toml `required-features`); `.ci/run` runs it.

use minilm::arrays::row_major;
use minilm::model::heads::Head;
use minilm::train::logreg::LogReg;
use minilm::weights::{ParamStore, Tensor};
use minilm::Encoder;
use ndarray::{Array2, ShapeBuilder};
use std::borrow::Cow;

fn bits(v: impl IntoIterator<Item = f32>) -> Vec<u32> {
    v.into_iter().map(f32::to_bits).collect()
}

#[test]
fn embed_array_is_embed_as_one_array() {
    let enc = Encoder::from_dir(minilm::default_model_dir())
        .unwrap_or_else(|e| panic!("{e} (run weights/fetch.sh)"));
    // Lengths differ, so the texts are embedded out of input order.
    let texts = [
        "A man is eating food.",
        "Hi",
        "The quick brown fox jumps over the lazy dog near the river bank.",
    ];
    let rows = enc.embed(&texts).unwrap();
    let array = enc.embed_array(&texts).unwrap();
    assert_eq!(array.dim(), (texts.len(), enc.dim()));
    assert!(array.is_standard_layout());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            bits(array.row(i).iter().copied()),
            bits(row.iter().copied()),
            "text {i}"
        );
    }
    assert_eq!(enc.embed_array(&[]).unwrap().dim(), (0, enc.dim()));
}

#[test]
fn row_major_borrows_standard_layout_and_copies_the_rest() {
    let a = Array2::from_shape_fn((3, 4), |(i, j)| (10 * i + j) as f32);
    let view = a.view();
    match row_major(&view) {
        Cow::Borrowed(s) => assert_eq!(s.as_ptr(), a.as_ptr()),
        Cow::Owned(_) => panic!("a standard-layout view was copied"),
    }
    // The transpose and a column-major array are copied in logical order.
    let t = a.t();
    let want: Vec<f32> = (0..4)
        .flat_map(|j| (0..3).map(move |i| (10 * i + j) as f32))
        .collect();
    assert!(matches!(row_major(&t), Cow::Owned(_)));
    assert_eq!(row_major(&t).as_ref(), want.as_slice());
    let f = Array2::from_shape_vec((4, 3).f(), a.iter().copied().collect()).unwrap();
    assert_eq!(
        row_major(&f.view()).as_ref(),
        f.iter().copied().collect::<Vec<_>>().as_slice()
    );
}

/// Six points in two clusters, `[6, 3]`, stored column-major (a view that
/// is not row-major), and the same points as a row-major slice.
fn points() -> (Array2<f32>, Vec<f32>, Vec<usize>) {
    let rows: [[f32; 3]; 6] = [
        [1.0, 0.2, 0.0],
        [0.9, -0.1, 0.1],
        [1.1, 0.0, -0.2],
        [-1.0, 0.1, 0.0],
        [-0.8, 0.0, 0.3],
        [-1.2, -0.2, 0.1],
    ];
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let mut x = Array2::zeros((6, 3).f());
    for (i, r) in rows.iter().enumerate() {
        for (j, &v) in r.iter().enumerate() {
            x[(i, j)] = v;
        }
    }
    (x, flat, vec![0, 0, 0, 1, 1, 1])
}

#[test]
fn logreg_on_views_matches_slices() {
    let (x, flat, y) = points();
    assert!(!x.is_standard_layout());
    let from_view = LogReg::fit_array(x.view(), &y, 2, 50);
    let from_slice = LogReg::fit(&flat, &y, 3, 2, 50);
    assert_eq!(
        bits(from_view.weight.clone()),
        bits(from_slice.weight.clone())
    );
    assert_eq!(bits(from_view.bias.clone()), bits(from_slice.bias.clone()));
    assert_eq!(from_view.predict_array(x.view()), y);
    assert_eq!(from_view.predict_array(x.view()), from_slice.predict(&flat));
}

#[test]
fn head_forward_array_matches_forward() {
    let (x, flat, _) = points();
    let mut store = ParamStore::default();
    let w = vec![0.5, -1.0, 0.25, -0.5, 1.0, 2.0];
    store.insert(
        "head_a.weight",
        Tensor {
            shape: vec![2, 3],
            data: w,
        },
    );
    store.insert(
        "head_a.bias",
        Tensor {
            shape: vec![2],
            data: vec![0.1, -0.1],
        },
    );
    let head = Head::from_store(&store, "head_a", "toy", &["p".into(), "q".into()]);
    let logits = head.forward_array(x.view());
    assert_eq!(logits.dim(), (6, 2));
    assert_eq!(bits(logits.iter().copied()), bits(head.forward(&flat, 6)));
    // logits = x·Wᵀ + b, by hand for the first row: x₀ = (1, 0.2, 0),
    // W₀ = (0.5, −1, 0.25), b₀ = 0.1, so 0.5 − 0.2 + 0.1 = 0.4.
    assert!((logits[(0, 0)] - 0.4).abs() < 1e-6);
}
