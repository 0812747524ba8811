//! Packing operands into the panel layouts the microkernels stream through.
//!
//! * A (rows of the output) → MR-row panels: panel `ip` starts at
//!   `ip·MR·k`, element (i, p) of the panel at `p·MR + i`.
//! * B (columns of the output) → NR-column panels: panel `jp` starts at
//!   `jp·NR·k`, element (p, j) at `p·NR + j`.
//!
//! Panels hold the whole depth k, so the kc-block starting at `pc` of a panel
//! is the contiguous run from `pc·MR` (or `pc·NR`). Short edge panels are
//! padded with zeros: the microkernel always computes a full tile and the
//! padding never reaches a stored element.

use std::cell::Cell;

/// Alignment of packed buffers in floats (64 bytes: one cache line, one
/// AVX-512 vector), so vector loads of panels never split a line.
const ALIGN_FLOATS: usize = 16;

/// A float buffer whose visible part starts on a 64-byte boundary.
#[derive(Default)]
pub(crate) struct AlignedBuf {
    raw: Vec<f32>,
    off: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` floats.
    pub(crate) fn zeroed(len: usize) -> Self {
        let mut b = AlignedBuf::default();
        b.resize(len);
        b
    }

    /// Make the visible part `len` floats long (contents unspecified).
    pub(crate) fn resize(&mut self, len: usize) {
        if self.raw.len() < len + ALIGN_FLOATS {
            self.raw = vec![0.0; len + ALIGN_FLOATS];
        }
        self.off = self
            .raw
            .as_ptr()
            .align_offset(ALIGN_FLOATS * 4)
            .min(ALIGN_FLOATS);
        self.len = len;
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.raw[self.off..self.off + self.len]
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.raw[self.off..self.off + self.len]
    }
}

impl Clone for AlignedBuf {
    fn clone(&self) -> Self {
        let mut b = AlignedBuf::zeroed(self.len);
        b.as_mut_slice().copy_from_slice(self.as_slice());
        b
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} floats)", self.len)
    }
}

thread_local! {
    static BUF_A: Cell<AlignedBuf> = Cell::new(AlignedBuf::default());
    static BUF_B: Cell<AlignedBuf> = Cell::new(AlignedBuf::default());
}

/// Which per-thread packing buffer to borrow.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    A,
    B,
}

/// Run `f` with this thread's packing buffer for `slot`, resized to `len`.
/// The buffer is taken out of its cell for the duration, so a nested call
/// (a kernel called from inside `f` on this thread) just gets a fresh one.
pub(crate) fn with_buf<R>(slot: Slot, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let key = match slot {
        Slot::A => &BUF_A,
        Slot::B => &BUF_B,
    };
    let mut buf = key.with(|c| c.take());
    buf.resize(len);
    let r = f(buf.as_mut_slice());
    key.with(|c| c.set(buf));
    r
}

/// Floats needed to pack `rows` rows (or columns) of depth `k` in panels of
/// `width`.
pub(crate) fn packed_len(rows: usize, k: usize, width: usize) -> usize {
    rows.div_ceil(width) * width * k
}

/// Pack rows `r0..r0+rows` of A (`a[i·rsa + p·csa]`, depth k) into MR-row
/// panels in `dst`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_a(
    mr: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    r0: usize,
    rows: usize,
    k: usize,
    dst: &mut [f32],
) {
    for (ip, panel) in dst
        .chunks_exact_mut(mr * k)
        .take(rows.div_ceil(mr))
        .enumerate()
    {
        let live = mr.min(rows - ip * mr);
        if live < mr {
            for d in panel.chunks_exact_mut(mr) {
                d[live..].fill(0.0);
            }
        }
        let i0 = r0 + ip * mr;
        if csa == 1 {
            // Row-major A: each row is contiguous; scatter it by MR.
            for i in 0..live {
                let base = (i0 + i) * rsa;
                for (d, &v) in panel.chunks_exact_mut(mr).zip(&a[base..base + k]) {
                    d[i] = v;
                }
            }
        } else if rsa == 1 {
            // Transposed A (the backward's dYᵀ): each depth step is a
            // contiguous run of rows.
            for (p, d) in panel.chunks_exact_mut(mr).enumerate() {
                let base = p * csa + i0;
                d[..live].copy_from_slice(&a[base..base + live]);
            }
        } else {
            for (p, d) in panel.chunks_exact_mut(mr).enumerate() {
                for (i, v) in d[..live].iter_mut().enumerate() {
                    *v = a[(i0 + i) * rsa + p * csa];
                }
            }
        }
    }
}

/// Pack columns `c0..c0+cols` of B (`b[p·rsb + j·csb]`, depth k) into
/// NR-column panels in `dst`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_b(
    nr: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    c0: usize,
    cols: usize,
    k: usize,
    dst: &mut [f32],
) {
    for (jp, panel) in dst
        .chunks_exact_mut(nr * k)
        .take(cols.div_ceil(nr))
        .enumerate()
    {
        pack_b_panel(
            nr,
            b,
            rsb,
            csb,
            c0 + jp * nr,
            nr.min(cols - jp * nr),
            k,
            panel,
        );
    }
}

/// Pack the `live` columns from `j0` of B into one NR-column panel, zero
/// padding the rest.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_b_panel(
    nr: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    j0: usize,
    live: usize,
    k: usize,
    panel: &mut [f32],
) {
    let panel = &mut panel[..nr * k];
    if csb == 1 && live == nr {
        // Row-major B: each depth step is one contiguous run of NR.
        for (p, dst) in panel.chunks_exact_mut(nr).enumerate() {
            let src = p * rsb + j0;
            dst.copy_from_slice(&b[src..src + nr]);
        }
        return;
    }
    if live < nr {
        for dst in panel.chunks_exact_mut(nr) {
            dst[live..].fill(0.0);
        }
    }
    if rsb == 1 {
        // Transposed B (e.g. a [n, k] weight): each column is contiguous.
        // Move T×T blocks through a local array: T contiguous reads per
        // column, then T contiguous runs written per depth step (a strided
        // scalar scatter would cost a cache line per element).
        const T: usize = 8;
        let mut j = 0;
        while j < live {
            let jw = T.min(live - j);
            let mut p = 0;
            while p < k {
                let pw = T.min(k - p);
                let mut t = [[0.0f32; T]; T];
                for (jj, row) in t.iter_mut().enumerate().take(jw) {
                    let base = (j0 + j + jj) * csb + p;
                    if pw == T {
                        // Fixed length, so this is a register move, not memmove.
                        *row = b[base..base + T].try_into().expect("T floats");
                    } else {
                        row[..pw].copy_from_slice(&b[base..base + pw]);
                    }
                }
                for pp in 0..pw {
                    let dst = &mut panel[(p + pp) * nr + j..(p + pp) * nr + j + jw];
                    for (jj, d) in dst.iter_mut().enumerate() {
                        *d = t[jj][pp];
                    }
                }
                p += pw;
            }
            j += jw;
        }
    } else {
        for (p, dst) in panel.chunks_exact_mut(nr).enumerate() {
            for (j, d) in dst[..live].iter_mut().enumerate() {
                *d = b[p * rsb + (j0 + j) * csb];
            }
        }
    }
}
