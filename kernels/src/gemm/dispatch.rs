//! The microkernel table: one entry per instruction-set path.

use super::blocking;
use crate::isa::Isa;

/// Signature shared by the microkernels (see `avx512::kernel` for the
/// contract).
pub(crate) type KernelFn =
    unsafe fn(usize, *const f32, usize, usize, *const f32, *mut f32, usize, f32, f32);

/// A microkernel with its register-tile shape.
pub(crate) struct Kernel {
    /// The path it belongs to (a packed weight remembers it).
    pub isa: Isa,
    /// Rows of the register tile.
    pub mr: usize,
    /// Columns of the register tile.
    pub nr: usize,
    /// The tile update; callable only under `isa` (see `isa::current`).
    pub run: KernelFn,
}

#[cfg(target_arch = "x86_64")]
static AVX512: Kernel = Kernel {
    isa: Isa::Avx512,
    mr: blocking::avx512::MR,
    nr: blocking::avx512::NR,
    run: super::avx512::kernel,
};

#[cfg(target_arch = "x86_64")]
static AVX2: Kernel = Kernel {
    isa: Isa::Avx2,
    mr: blocking::avx2::MR,
    nr: blocking::avx2::NR,
    run: super::avx2::kernel,
};

static PORTABLE: Kernel = Kernel {
    isa: Isa::Portable,
    mr: blocking::portable::MR,
    nr: blocking::portable::NR,
    run: super::portable::kernel,
};

/// The microkernel for `isa`, which must come from `isa::current()` (so the
/// CPU supports it).
pub(crate) fn kernel(isa: Isa) -> &'static Kernel {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => &AVX512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => &AVX2,
        _ => &PORTABLE,
    }
}
