//! The int8 microkernel table, and what a microkernel does after its sums.

use crate::isa::Isa;

/// Which int8 microkernel (a packed weight remembers it: the panel width
/// differs between them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QPath {
    /// AVX-512 VNNI (`vpdpbusd`).
    Vnni,
    /// AVX2: widen to i16, `vpmaddwd`.
    Avx2,
    /// Plain Rust.
    Portable,
}

/// The per-tile data a microkernel needs after its integer sums, for
/// `y = (d as f32) · (sx[i] · sw[j]) + bias[j]` with
/// `d = acc − zx[i] · colsum[j]` (wrapping i32 arithmetic; the true `d`
/// fits, see `mod.rs`), each operation rounded separately (no FMA), the
/// same on every path.
pub(crate) struct Post {
    /// MR row zero points.
    pub zx: *const i32,
    /// MR row scales.
    pub sx: *const f32,
    /// NR column sums Σ_p qw[j, p].
    pub colsum: *const i32,
    /// NR column scales.
    pub sw: *const f32,
    /// NR bias values, or null for no bias.
    pub bias: *const f32,
    /// Store the raw sums `acc` (as i32 bits in the f32 slots) instead.
    pub raw: bool,
}

/// The shared output formula, one element (the portable path and the
/// reference of the SIMD ones).
#[inline(always)]
pub(crate) fn post_one(acc: i32, zx: i32, colsum: i32, sx: f32, sw: f32, bias: Option<f32>) -> f32 {
    let d = acc.wrapping_sub(zx.wrapping_mul(colsum));
    let y = d as f32 * (sx * sw);
    match bias {
        Some(b) => y + b,
        None => y,
    }
}

/// A microkernel: the MR×NR tile `C = post(Σ_q A_quad(i, q) · B_quad(q, j))`.
///
/// `kq` k-quads; A row i at `a + i·lda` bytes (u8, quad q at byte 4q); B the
/// packed panel (quad q, column j, byte r at `q·4·NR + 4j + r`); C row i at
/// `c + i·ldc`.
///
/// # Safety
/// The CPU supports the kernel's path; A holds MR rows of `4·kq` bytes, B
/// `4·kq·NR` bytes, C an MR×NR writable tile not aliasing A or B; the
/// `Post` pointers hold MR / NR readable values (bias may be null).
pub(crate) type QKernelFn = unsafe fn(
    kq: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    c: *mut f32,
    ldc: usize,
    post: &Post,
);

/// A microkernel with its register-tile shape.
pub(crate) struct QKernel {
    pub path: QPath,
    pub mr: usize,
    pub nr: usize,
    pub run: QKernelFn,
}

#[cfg(target_arch = "x86_64")]
static VNNI: QKernel = QKernel {
    path: QPath::Vnni,
    mr: super::avx512::MR,
    nr: super::avx512::NR,
    run: super::avx512::kernel,
};

#[cfg(target_arch = "x86_64")]
static AVX2: QKernel = QKernel {
    path: QPath::Avx2,
    mr: super::avx2::MR,
    nr: super::avx2::NR,
    run: super::avx2::kernel,
};

static PORTABLE: QKernel = QKernel {
    path: QPath::Portable,
    mr: super::portable::MR,
    nr: super::portable::NR,
    run: super::portable::kernel,
};

/// True when this CPU has the AVX-512 VNNI kernel's features.
#[cfg(target_arch = "x86_64")]
fn has_vnni() -> bool {
    std::arch::is_x86_feature_detected!("avx512vnni")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

/// The int8 microkernel for `isa` (which came from `isa::current()`):
/// `Avx512` uses VNNI when the CPU has it, else the AVX2 kernel.
pub(crate) fn kernel(isa: Isa) -> &'static QKernel {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if has_vnni() => &VNNI,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 | Isa::Avx2 => &AVX2,
        _ => &PORTABLE,
    }
}

/// The kernel for a stored path (to unpack a weight packed for it).
pub(crate) fn by_path(path: QPath) -> &'static QKernel {
    match path {
        #[cfg(target_arch = "x86_64")]
        QPath::Vnni => &VNNI,
        #[cfg(target_arch = "x86_64")]
        QPath::Avx2 => &AVX2,
        _ => &PORTABLE,
    }
}
