//! `matrixmultiply::sgemm` behind a safe, bounds-checked signature, for the
//! benchmark's comparison (feature `reference`; not used by the kernels).

/// `C = alpha·A·B + beta·C` by the `matrixmultiply` crate (its own threading
/// is off unless its `threading` feature is enabled, which we do not).
#[allow(clippy::too_many_arguments)]
pub fn matrixmultiply_sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) {
    let need = |rows: usize, cols: usize, rs: usize, cs: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        }
    };
    assert!(a.len() >= need(m, k, rsa, csa), "A too short");
    assert!(b.len() >= need(k, n, rsb, csb), "B too short");
    assert!(c.len() >= need(m, n, rsc, csc), "C too short");
    // SAFETY: the asserts prove every index i·rs + j·cs matrixmultiply reads
    // or writes lies inside its slice; `c` is a unique borrow, so it aliases
    // neither `a` nor `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            rsc as isize,
            csc as isize,
        );
    }
}
