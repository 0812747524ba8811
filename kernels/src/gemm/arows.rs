//! How a microkernel finds element (i, p) of its A micro-panel, for the
//! three layouts the driver hands it. Each is inlined into the depth loop,
//! so the layout costs no branch per step.

/// `$body` with `$rows` bound to the `ARows` for A's layout: in place
/// (`a_ps = 1`, rows `a_rs` apart), a packed micro-panel (`a_rs = 1`), or
/// any other strides. Each arm monomorphises `$body`, so the layout costs
/// no branch per depth step. Shared by the SIMD microkernels.
macro_rules! with_a_rows {
    ($mr:expr, $a:expr, $a_rs:expr, $a_ps:expr, |$rows:ident| $body:expr) => {
        if $a_ps == 1 {
            let $rows = $crate::gemm::arows::InPlace::<{ $mr / 2 }>::new($a, $a_rs);
            $body
        } else if $a_rs == 1 {
            let $rows = $crate::gemm::arows::Packed { a: $a, ps: $a_ps };
            $body
        } else {
            let $rows = $crate::gemm::arows::Strided {
                a: $a,
                rs: $a_rs,
                ps: $a_ps,
            };
            $body
        }
    };
}
#[cfg(target_arch = "x86_64")]
pub(super) use with_a_rows;

/// Where element (i, p) of the A micro-panel is.
pub(super) trait ARows {
    /// `a[i·a_rs + p·a_ps]`.
    ///
    /// # Safety
    /// i < MR and p < kc of the microkernel call that built `self`.
    unsafe fn at(&self, i: usize, p: usize) -> f32;
}

/// Row-major A in place (`a_ps = 1`) for a tile of `2·H` rows (H ≤ 4):
/// rows below H from `lo`, the others from `hi = lo + H·rs`, each at offset
/// 0, rs, 2·rs or 3·rs, which x86 addresses as base + index·scale, so no
/// row pointer has to live on the stack.
pub(super) struct InPlace<const H: usize> {
    lo: *const f32,
    hi: *const f32,
    rs: usize,
    rs3: usize,
}

impl<const H: usize> InPlace<H> {
    /// Rows `a + i·rs` for i < 2·H.
    #[inline(always)]
    pub(super) fn new(a: *const f32, rs: usize) -> Self {
        const { assert!(H >= 1 && H <= 4) };
        InPlace {
            lo: a,
            hi: a.wrapping_add(H * rs),
            rs,
            rs3: 3 * rs,
        }
    }
}

impl<const H: usize> ARows for InPlace<H> {
    #[inline(always)]
    unsafe fn at(&self, i: usize, p: usize) -> f32 {
        let (base, j) = if i < H {
            (self.lo, i)
        } else {
            (self.hi, i - H)
        };
        let off = match j {
            0 => 0,
            1 => self.rs,
            2 => 2 * self.rs,
            _ => self.rs3,
        };
        // SAFETY: row i < MR, depth p < kc: inside A by the kernel's contract.
        unsafe { *base.add(p).add(off) }
    }
}

/// A packed micro-panel (`a_rs = 1`): step p is MR consecutive floats.
pub(super) struct Packed {
    pub a: *const f32,
    pub ps: usize,
}

impl ARows for Packed {
    #[inline(always)]
    unsafe fn at(&self, i: usize, p: usize) -> f32 {
        // SAFETY: as the trait says.
        unsafe { *self.a.add(p * self.ps + i) }
    }
}

/// Any other layout.
pub(super) struct Strided {
    pub a: *const f32,
    pub rs: usize,
    pub ps: usize,
}

impl ARows for Strided {
    #[inline(always)]
    unsafe fn at(&self, i: usize, p: usize) -> f32 {
        // SAFETY: as the trait says.
        unsafe { *self.a.add(i * self.rs + p * self.ps) }
    }
}
