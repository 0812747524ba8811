//! Block sizes of the BLIS-style loop nest, all in one place.
//!
//! `KC` also fixes the summation order: every output element is the sum of
//! its k products in blocks of `KC` (each block an FMA chain from zero, then
//! added to C in block order). Nothing here depends on m, on a row's place
//! or on the thread count, which is what makes results bit-reproducible.

/// Depth of one rank-KC update. A B micro-panel (KC×NR = 192×32 floats,
/// 24 KiB) stays in L1 while A micro-panels (KC×MR) stream from L2 past it;
/// 192 divides the model's depths (384, 1536) evenly.
pub const KC: usize = 192;

/// Rows of packed A kept hot in L2 (MC×KC×4 B = 180 KiB) while the jp loop
/// sweeps B micro-panels across them. A multiple of every MR.
pub const MC: usize = 240;

/// Columns of B kept hot in L2 across all row panels: KC×NC×4 B = 576 KiB.
/// A multiple of every NR; 384 divides the model's widths (384, 1152, 1536).
pub const NC: usize = 384;

/// Register tile of the AVX-512 microkernel: MR rows × NR columns
/// (NR = two 16-lane vectors, MR·2 = 16 accumulators ≥ 2 FMA ports × 4
/// cycles latency, leaving registers for B and the broadcast).
pub mod avx512 {
    /// Rows of the register tile.
    pub const MR: usize = 8;
    /// Columns of the register tile.
    pub const NR: usize = 32;
}

/// Register tile of the AVX2 microkernel: 6 × 16 = 12 ymm accumulators,
/// plus 2 for B and 1 broadcast, of 16 registers.
pub mod avx2 {
    /// Rows of the register tile.
    pub const MR: usize = 6;
    /// Columns of the register tile.
    pub const NR: usize = 16;
}

/// Register tile of the portable microkernel: 4 × 8 floats = 8 SSE
/// registers of accumulators on the x86-64 baseline.
pub mod portable {
    /// Rows of the register tile.
    pub const MR: usize = 4;
    /// Columns of the register tile.
    pub const NR: usize = 8;
}

const _: () = assert!(
    NC.is_multiple_of(avx512::NR) && NC.is_multiple_of(avx2::NR) && NC.is_multiple_of(portable::NR)
);
const _: () = assert!(
    MC.is_multiple_of(avx512::MR) && MC.is_multiple_of(avx2::MR) && MC.is_multiple_of(portable::MR)
);
