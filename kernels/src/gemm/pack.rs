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
    let panels = rows.div_ceil(mr);
    for ip in 0..panels {
        let panel = &mut dst[ip * mr * k..(ip + 1) * mr * k];
        let live = mr.min(rows - ip * mr);
        for i in 0..mr {
            if i >= live {
                for p in 0..k {
                    panel[p * mr + i] = 0.0;
                }
                continue;
            }
            let base = (r0 + ip * mr + i) * rsa;
            if csa == 1 {
                // Row-major A: read the row contiguously, scatter by MR.
                for (p, &v) in a[base..base + k].iter().enumerate() {
                    panel[p * mr + i] = v;
                }
            } else {
                for p in 0..k {
                    panel[p * mr + i] = a[base + p * csa];
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
    let panels = cols.div_ceil(nr);
    for jp in 0..panels {
        let panel = &mut dst[jp * nr * k..(jp + 1) * nr * k];
        let j0 = c0 + jp * nr;
        let live = nr.min(cols - jp * nr);
        if csb == 1 && live == nr {
            // Row-major B: each depth step is one contiguous run of NR.
            for p in 0..k {
                let src = p * rsb + j0;
                panel[p * nr..(p + 1) * nr].copy_from_slice(&b[src..src + nr]);
            }
            continue;
        }
        for j in 0..nr {
            if j >= live {
                for p in 0..k {
                    panel[p * nr + j] = 0.0;
                }
                continue;
            }
            let base = (j0 + j) * csb;
            if rsb == 1 {
                // Transposed B (e.g. a [n, k] weight): column j is contiguous.
                for (p, &v) in b[base..base + k].iter().enumerate() {
                    panel[p * nr + j] = v;
                }
            } else {
                for p in 0..k {
                    panel[p * nr + j] = b[base + p * rsb];
                }
            }
        }
    }
}
