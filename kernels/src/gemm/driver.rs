//! The BLIS loop nest around the microkernel, and the split across threads.
//!
//! For a block of output rows and columns:
//! `for jc (NC columns) { for pc (KC depth) { for ic (MC rows) { for jp (NR
//! columns) { for ip (MR rows) { microkernel } } } } }` — each B micro-panel
//! (KC×NR) stays in L1 across the ip loop while the MR-row micro-panels of A
//! stream past it from L2, and each tile's microkernel fetches a share of
//! the next B micro-panel, one line per depth step. Full MR-row panels of a
//! row-major A are read in place; only a ragged last panel, or A of another
//! layout, is packed. The epilogue of an output tile runs right after its
//! last depth block, while the tile is still in cache.

use super::blocking::{KC, MC, NC};
use super::dispatch::{Kernel, Prefetch};
use super::pack::{self, Slot};
use crate::parallel;

/// Applied to each finished output tile: `(first row, first column, the
/// tile's rows)`, one slice per row (rows of a tile are not contiguous in
/// C, and the columns between them belong to other tasks).
pub(crate) type Epilogue<'a> = &'a (dyn Fn(usize, usize, &mut [&mut [f32]]) + Sync);

/// Most rows a register tile has on any path.
const MAX_MR: usize = 16;
const _: () = assert!(
    MAX_MR >= super::blocking::avx512::MR
        && MAX_MR >= super::blocking::avx2::MR
        && MAX_MR >= super::blocking::portable::MR
);

/// The output matrix as a raw pointer with strides.
#[derive(Clone, Copy)]
pub(crate) struct COut {
    pub ptr: *mut f32,
    pub rs: usize,
    pub cs: usize,
}

// SAFETY: COut is only shared between tasks that write disjoint elements of
// an injective layout (checked by `split_ok`), so no two threads touch the
// same float.
unsafe impl Send for COut {}
// SAFETY: as above.
unsafe impl Sync for COut {}

/// One product `C[m, n] = alpha·A·B + beta·C` with B already packed in
/// NR-panels over all n columns.
pub(crate) struct Product<'a> {
    pub kern: &'static Kernel,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub a: &'a [f32],
    pub rsa: usize,
    pub csa: usize,
    pub bpack: &'a [f32],
    pub beta: f32,
    pub c: COut,
    pub epilogue: Option<Epilogue<'a>>,
}

/// True when distinct (i, j) address distinct floats of C, so that tasks
/// owning disjoint (i, j) sets never write the same float.
fn split_ok(m: usize, n: usize, rs: usize, cs: usize) -> bool {
    if m <= 1 {
        return cs > 0 || n <= 1;
    }
    if n <= 1 {
        return rs > 0;
    }
    (cs > 0 && rs > (n - 1) * cs) || (rs > 0 && cs > (m - 1) * rs)
}

/// Run the product, split across threads when `parallel` says it pays and
/// `threads` allows.
///
/// # Safety
/// `p.c` addresses an m×n matrix, every element writable (and readable
/// unless beta = 0), not aliasing `p.a` or `p.bpack`; `p.a` holds every
/// `i·rsa + p·csa`; `p.bpack` holds ceil(n/NR) panels of depth k.
pub(crate) unsafe fn run(p: &Product<'_>, allow_threads: bool) {
    let (mr, nr) = (p.kern.mr, p.kern.nr);
    let threads = if allow_threads && parallel::worth_parallel(p.m * p.n * p.k) {
        parallel::threads_here()
    } else {
        1
    };
    let row_panels = p.m.div_ceil(mr);
    let col_panels = p.n.div_ceil(nr);
    if threads <= 1 || !split_ok(p.m, p.n, p.c.rs, p.c.cs) || (row_panels < 2 && col_panels < 2) {
        // SAFETY: forwarded contract, the whole matrix on this thread.
        unsafe { run_block(p, 0, p.m, 0, p.n) };
        return;
    }
    // A grid of tasks, several per thread so that threads claiming tasks
    // as they finish (a team's counter, rayon's work stealing) even out a
    // core that is busy with something else. Rows first (each
    // task packs only its own A rows), at least MIN_PANELS row panels per
    // task so B is not re-streamed too often; then columns in whole NR
    // panels (each such task repacks its A rows). No split changes any
    // element's summation order.
    let target = threads * TASKS_PER_THREAD;
    let rt = target.min((row_panels / MIN_PANELS).max(1));
    let ct = target.div_ceil(rt).min(col_panels);
    parallel::for_each(rt * ct, |t| {
        let (ti, tj) = (t / ct, t % ct);
        let r0 = row_panels * ti / rt * mr;
        let r1 = (row_panels * (ti + 1) / rt * mr).min(p.m);
        let c0 = col_panels * tj / ct * nr;
        let c1 = (col_panels * (tj + 1) / ct * nr).min(p.n);
        // SAFETY: the grid cells are disjoint (i, j) sets, and split_ok
        // proved the layout injective, so no two tasks write one float.
        unsafe { run_block(p, r0, r1, c0, c1) };
    });
}

/// Tasks per thread when a product is split (for load balance).
const TASKS_PER_THREAD: usize = 4;
/// Fewest MR-row panels per task when splitting rows.
const MIN_PANELS: usize = 4;

/// The loop nest over rows `r0..r1` and columns `c0..c1` (`c0` a multiple
/// of NR).
///
/// # Safety
/// As [`run`], and no other thread writes these rows and columns meanwhile.
unsafe fn run_block(p: &Product<'_>, r0: usize, r1: usize, c0: usize, c1: usize) {
    let (mr, nr, k) = (p.kern.mr, p.kern.nr, p.k);
    let rows = r1 - r0;
    if rows == 0 || c1 <= c0 {
        return;
    }
    // With unit column stride (row-major activations, the common case) the
    // microkernel reads full MR-row panels of A in place: packing them would
    // only copy rows that are already contiguous in depth. The ragged last
    // panel, and A of any other layout, is packed (zero-padded to MR rows).
    let in_place = if p.csa == 1 { rows / mr * mr } else { 0 };
    let packed_rows = rows - in_place;
    pack::with_buf(Slot::A, pack::packed_len(packed_rows, k, mr), |apack| {
        pack::pack_a(mr, p.a, p.rsa, p.csa, r0 + in_place, packed_rows, k, apack);
        let c = p.c;
        let mut tile = [0.0f32; 16 * 32];
        let direct = c.cs == 1;
        let mut jc = c0;
        while jc < c1 {
            let jend = (jc + NC).min(c1);
            // Depth blocks outermost (BLIS order): a KC×NC block of B is
            // used by every row block before the next depth block.
            let mut pc = 0;
            while pc < k {
                let kc = KC.min(k - pc);
                let last = pc + kc == k;
                // Later depth blocks add onto what the first one stored.
                let beta = if pc == 0 { p.beta } else { 1.0 };
                let mut ic = 0;
                while ic < rows {
                    let icend = (ic + MC).min(rows);
                    let mut j0 = jc;
                    while j0 < jend {
                        let ncols = nr.min(jend - j0);
                        let bp = p.bpack[(j0 / nr) * nr * k + pc * nr..].as_ptr();
                        let ips = ic / mr..icend.div_ceil(mr);
                        let n_ip = ips.len();
                        for ip in ips {
                            // Each tile fetches its share of the next B
                            // micro-panel while it runs, so that panel is in
                            // cache when the jp loop reaches it (packed
                            // weights of a layer do not fit in L2, and
                            // successive micro-panels of one depth block are
                            // k·NR floats apart).
                            let pf = if j0 + nr < jend {
                                next_panel_share(p, j0 / nr + 1, pc, kc, ip - ic / mr, n_ip)
                            } else {
                                Prefetch::NONE
                            };
                            let i0 = r0 + ip * mr;
                            let mrows = mr.min(r1 - i0);
                            let (ap, a_rs, a_ps) = if ip * mr < in_place {
                                // Rows i0..i0+MR of A, depth from pc: all
                                // inside A by the contract of `run`.
                                (p.a[i0 * p.rsa + pc..].as_ptr(), p.rsa, 1)
                            } else {
                                let q = ip - in_place / mr;
                                (apack[q * mr * k + pc * mr..].as_ptr(), 1, mr)
                            };
                            // A full tile with unit column stride is updated in
                            // C directly; an edge or strided tile is computed
                            // into a scratch tile, then merged element-wise with
                            // the same update rule.
                            let full = direct && mrows == mr && ncols == nr;
                            let (dst, ld, alpha, beta_k) = if full {
                                (c.ptr.wrapping_add(i0 * c.rs + j0), c.rs, p.alpha, beta)
                            } else {
                                (tile.as_mut_ptr(), nr, 1.0, 0.0)
                            };
                            // SAFETY: ap addresses MR rows × kc depth of A (in
                            // place or packed), bp a kc-long micro-panel of packed
                            // B (k·NR per panel); dst is either a full MR×NR tile
                            // inside C with unit column stride, or `tile` (≥ MR·NR
                            // floats, row stride nr); neither aliases A or B.
                            unsafe {
                                (p.kern.run)(kc, ap, a_rs, a_ps, bp, dst, ld, alpha, beta_k, pf)
                            };
                            if !full {
                                // SAFETY: rows i0..i0+mrows and columns
                                // j0..j0+ncols lie in this block of C.
                                unsafe { merge(&tile, nr, c, i0, j0, mrows, ncols, p.alpha, beta) };
                            }
                            if last {
                                if let Some(epi) = p.epilogue {
                                    debug_assert!(direct && mrows <= MAX_MR);
                                    // SAFETY: the tile's rows and columns lie
                                    // in this task's block of C.
                                    unsafe { run_epilogue(epi, c, i0, j0, mrows, ncols) };
                                }
                            }
                        }
                        j0 += nr;
                    }
                    ic = icend;
                }
                pc += kc;
            }
            jc = jend;
        }
    });
}

/// This tile's share of the lines of B micro-panel `panel` at depth block
/// `pc..pc + kc`: the `n_ip` tiles of a row block each fetch one slice,
/// tile `rel` the `rel`-th.
#[inline(always)]
fn next_panel_share(
    p: &Product<'_>,
    panel: usize,
    pc: usize,
    kc: usize,
    rel: usize,
    n_ip: usize,
) -> Prefetch {
    let (nr, k) = (p.kern.nr, p.k);
    let lines = (kc * nr).div_ceil(FLOATS_PER_LINE);
    let per = lines.div_ceil(n_ip);
    let first = (rel * per).min(lines);
    Prefetch {
        start: p
            .bpack
            .as_ptr()
            .wrapping_add(panel * nr * k + pc * nr)
            .wrapping_add(first * FLOATS_PER_LINE),
        lines: per.min(lines - first),
    }
}

/// Run the epilogue on the finished tile at rows `i0..i0 + mrows`, columns
/// `j0..j0 + ncols` of C, one slice per row.
///
/// # Safety
/// C has unit column stride, the tile lies inside C, and no other thread
/// touches it meanwhile.
#[inline(always)]
unsafe fn run_epilogue(
    epi: Epilogue<'_>,
    c: COut,
    i0: usize,
    j0: usize,
    mrows: usize,
    ncols: usize,
) {
    let mut segs: [&mut [f32]; MAX_MR] = std::array::from_fn(|_| <&mut [f32]>::default());
    for (r, seg) in segs.iter_mut().enumerate().take(mrows) {
        // SAFETY: with unit column stride, row i0 + r, columns
        // j0..j0+ncols are contiguous and owned by the caller's task; the
        // rows are distinct, so the slices do not overlap.
        *seg = unsafe { std::slice::from_raw_parts_mut(c.ptr.add((i0 + r) * c.rs + j0), ncols) };
    }
    epi(i0, j0, &mut segs[..mrows]);
}

/// Floats in a 64-byte cache line.
const FLOATS_PER_LINE: usize = 16;

/// `C[i0.., j0..] = alpha·t + beta·C` for the live part of a scratch tile,
/// with the microkernels' rounding sequence (see `avx512::kernel`).
///
/// # Safety
/// The mrows×ncols block at (i0, j0) of `c` is valid and owned by the caller.
#[allow(clippy::too_many_arguments)]
unsafe fn merge(
    t: &[f32],
    ld: usize,
    c: COut,
    i0: usize,
    j0: usize,
    mrows: usize,
    ncols: usize,
    alpha: f32,
    beta: f32,
) {
    for i in 0..mrows {
        for j in 0..ncols {
            // SAFETY: (i0+i, j0+j) is inside the caller's block.
            let cv = unsafe { &mut *c.ptr.add((i0 + i) * c.rs + (j0 + j) * c.cs) };
            let v = alpha * t[i * ld + j];
            *cv = if beta == 0.0 {
                v
            } else if beta == 1.0 {
                v + *cv
            } else {
                v + beta * *cv
            };
        }
    }
}
