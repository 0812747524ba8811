//! The tile grid of the low-precision products ([`crate::qgemm`],
//! [`crate::bgemm`]): which thread computes which MR×NR output tile, in
//! which order, and the epilogue applied to a finished tile.
//!
//! Each tile is computed over the whole depth by one microkernel call (the
//! int8 sums are exact, and the bf16 sums run in a fixed order from zero), so
//! no split or blocking changes any element's bits. Order within a task:
//! rows in blocks that keep their packed activations in L2, and for each
//! block every column panel (whose packed weights stay in L1/L2 while the
//! block's row panels stream past them).

use crate::gelu;
use crate::gemm::Epilogue;
use crate::isa::Isa;
use crate::parallel;

/// Tasks per thread when a product is split (load balance on a shared core).
const TASKS_PER_THREAD: usize = 4;
/// Fewest MR-row panels per task when splitting rows.
const MIN_PANELS: usize = 4;
/// Bytes of packed activation rows kept hot per row block.
const ROW_BLOCK_BYTES: usize = 192 * 1024;
/// Most rows a register tile has on any low-precision path.
pub(crate) const MAX_MR: usize = 16;

/// The output matrix, shared by the tasks that write disjoint tiles of it.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub *mut f32);

// SAFETY: an OutPtr is only shared between tasks of one product, each
// writing its own tiles (disjoint rows × columns of a row-major matrix).
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}

/// The shape of one product's tile grid.
pub(crate) struct Grid {
    pub m: usize,
    pub n: usize,
    pub mr: usize,
    pub nr: usize,
    /// Bytes of one packed activation row (for the row blocking).
    pub row_bytes: usize,
    /// Multiply-adds of the whole product (for the thread decision).
    pub flops: usize,
}

/// Call `tile(i0, j0)` for every tile of the grid, split across threads
/// when that pays and `allow_threads`. Every tile is called exactly once.
pub(crate) fn run(g: &Grid, allow_threads: bool, tile: &(dyn Fn(usize, usize) + Sync)) {
    let row_panels = g.m.div_ceil(g.mr);
    let col_panels = g.n.div_ceil(g.nr);
    if row_panels == 0 || col_panels == 0 {
        return;
    }
    let threads = if allow_threads && parallel::worth_parallel(g.flops) {
        parallel::threads_here()
    } else {
        1
    };
    let block = (ROW_BLOCK_BYTES / (g.mr * g.row_bytes.max(1))).max(1);
    let run_block = |r0: usize, r1: usize, c0: usize, c1: usize| {
        let mut ib = r0;
        while ib < r1 {
            let ie = (ib + block).min(r1);
            for jp in c0..c1 {
                for ip in ib..ie {
                    tile(ip * g.mr, jp * g.nr);
                }
            }
            ib = ie;
        }
    };
    if threads <= 1 || (row_panels < 2 && col_panels < 2) {
        run_block(0, row_panels, 0, col_panels);
        return;
    }
    // As the f32 driver: rows first (at least MIN_PANELS row panels per
    // task), then whole column panels.
    let target = threads * TASKS_PER_THREAD;
    let rt = target.min((row_panels / MIN_PANELS).max(1));
    let ct = target.div_ceil(rt).min(col_panels);
    parallel::for_each(rt * ct, |t| {
        let (ti, tj) = (t / ct, t % ct);
        run_block(
            row_panels * ti / rt,
            row_panels * (ti + 1) / rt,
            col_panels * tj / ct,
            col_panels * (tj + 1) / ct,
        );
    });
}

/// Copy the live `mrows × ncols` part of a scratch tile (row stride `ld`)
/// into `out` at (i0, j0).
///
/// # Safety
/// The block lies inside the `[m, n]` output behind `out` and belongs to the
/// calling task.
pub(crate) unsafe fn copy_tile(
    t: &[f32],
    ld: usize,
    out: OutPtr,
    n: usize,
    (i0, j0): (usize, usize),
    (mrows, ncols): (usize, usize),
) {
    for i in 0..mrows {
        // SAFETY: row i0 + i, columns j0..j0 + ncols are inside the caller's
        // block; `t` is a distinct local buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(
                t.as_ptr().add(i * ld),
                out.0.add((i0 + i) * n + j0),
                ncols,
            )
        };
    }
}

/// Apply the residual and GELU parts of `epilogue` (the bias is added by
/// the microkernels) to the finished tile at (i0, j0).
///
/// # Safety
/// As [`copy_tile`].
pub(crate) unsafe fn finish_tile(
    isa: Isa,
    epilogue: Epilogue<'_>,
    out: OutPtr,
    n: usize,
    (i0, j0): (usize, usize),
    (mrows, ncols): (usize, usize),
) {
    if let Epilogue::None = epilogue {
        return;
    }
    let mut segs: [&mut [f32]; MAX_MR] = std::array::from_fn(|_| <&mut [f32]>::default());
    for (r, seg) in segs.iter_mut().enumerate().take(mrows) {
        // SAFETY: row i0 + r, columns j0..j0 + ncols, owned by the caller's
        // task; distinct rows, so the slices do not overlap.
        *seg = unsafe { std::slice::from_raw_parts_mut(out.0.add((i0 + r) * n + j0), ncols) };
    }
    let segs = &mut segs[..mrows];
    match epilogue {
        Epilogue::None => {}
        Epilogue::Gelu => gelu::gelu_rows(isa, segs),
        Epilogue::Residual(res) => {
            for (r, seg) in segs.iter_mut().enumerate() {
                let base = (i0 + r) * n + j0;
                for (y, &v) in seg.iter_mut().zip(&res[base..base + ncols]) {
                    *y += v;
                }
            }
        }
    }
}

/// Check the shapes shared by `linear_i8` and `linear_bf16`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_shapes(
    what: &str,
    x: usize,
    m: usize,
    n: usize,
    k: usize,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: usize,
) {
    assert_eq!(x, m * k, "{what}: input is not [{m}, {k}]");
    assert_eq!(out, m * n, "{what}: output is not [{m}, {n}]");
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "{what}: bias is not [{n}]");
    }
    if let Epilogue::Residual(r) = epilogue {
        assert_eq!(r.len(), m * n, "{what}: residual is not [{m}, {n}]");
    }
}

/// The bias padded with zeros to `n_pad` columns (the microkernels read
/// whole NR-column panels), or `None`.
pub(crate) fn padded_bias(bias: Option<&[f32]>, n_pad: usize) -> Option<Vec<f32>> {
    bias.map(|b| {
        let mut v = b.to_vec();
        v.resize(n_pad, 0.0);
        v
    })
}
