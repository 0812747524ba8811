//! The bf16 microkernel table.

use crate::isa::Isa;

/// Which bf16 microkernel (a packed weight remembers it: the panel width
/// differs between them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BPath {
    /// AVX-512 BF16 (`vdpbf16ps`).
    Avx512Bf16,
    /// AVX2 + FMA, bf16 widened to f32 by a shift.
    Widen,
    /// Plain Rust.
    Portable,
}

/// A microkernel: the MR×NR tile `C = Σ_q pairs + bias`, each element an
/// f32 chain from zero over the k-pairs in order, the odd element of a pair
/// first (`acc += a[2q+1]·b[2q+1]; acc += a[2q]·b[2q]`, as `vdpbf16ps`
/// does). A product of two bf16 values is exact in f32, so a fused and an
/// unfused multiply-add round the same: every path gives the same bits,
/// except for subnormals, which `vdpbf16ps` flushes to zero (inputs and
/// result) and the other paths keep.
///
/// `kp` k-pairs; A row i at `a + i·lda` u16 (pair q at 2q); B the packed
/// panel (pair q, column j, element r at `q·2·NR + 2j + r`); C row i at
/// `c + i·ldc`; `bias` NR floats or null.
///
/// # Safety
/// The CPU supports the kernel's path; A holds MR rows of `2·kp` u16, B
/// `2·kp·NR` u16, C an MR×NR writable tile not aliasing A or B.
pub(crate) type BKernelFn = unsafe fn(
    kp: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
);

/// A microkernel with its register-tile shape.
pub(crate) struct BKernel {
    pub path: BPath,
    pub mr: usize,
    pub nr: usize,
    pub run: BKernelFn,
}

#[cfg(target_arch = "x86_64")]
static AVX512_BF16: BKernel = BKernel {
    path: BPath::Avx512Bf16,
    mr: super::avx512::MR,
    nr: super::avx512::NR,
    run: super::avx512::kernel,
};

#[cfg(target_arch = "x86_64")]
static WIDEN: BKernel = BKernel {
    path: BPath::Widen,
    mr: super::avx2::MR,
    nr: super::avx2::NR,
    run: super::avx2::kernel,
};

static PORTABLE: BKernel = BKernel {
    path: BPath::Portable,
    mr: super::portable::MR,
    nr: super::portable::NR,
    run: super::portable::kernel,
};

/// True when this CPU has the AVX-512 BF16 kernel's features.
#[cfg(target_arch = "x86_64")]
fn has_bf16() -> bool {
    std::arch::is_x86_feature_detected!("avx512bf16")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

/// The bf16 microkernel for `isa` (which came from `isa::current()`):
/// `Avx512` uses `vdpbf16ps` when the CPU has it, else the AVX2 widening
/// kernel.
pub(crate) fn kernel(isa: Isa) -> &'static BKernel {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if has_bf16() => &AVX512_BF16,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 | Isa::Avx2 => &WIDEN,
        _ => &PORTABLE,
    }
}

/// The kernel for a stored path (to unpack a weight packed for it).
pub(crate) fn by_path(path: BPath) -> &'static BKernel {
    match path {
        #[cfg(target_arch = "x86_64")]
        BPath::Avx512Bf16 => &AVX512_BF16,
        #[cfg(target_arch = "x86_64")]
        BPath::Widen => &WIDEN,
        _ => &PORTABLE,
    }
}
