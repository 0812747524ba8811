//! The microkernel table: one entry per instruction-set path.

use super::blocking;
use crate::isa::Isa;

/// Signature shared by the microkernels (see `avx512::kernel` for the
/// contract).
pub(crate) type KernelFn =
    unsafe fn(usize, *const f32, usize, usize, *const f32, *mut f32, usize, f32, f32, Prefetch);

/// Cache lines a microkernel call asks for while it runs, spread over its
/// depth loop (a share of the next B micro-panel, see `driver`): lines
/// `start + 64·l` bytes for `l < lines`. A prefetch is a hint and never
/// faults, so any address is sound.
#[derive(Clone, Copy)]
pub(crate) struct Prefetch {
    pub start: *const f32,
    pub lines: usize,
}

impl Prefetch {
    /// Nothing to fetch.
    pub const NONE: Prefetch = Prefetch {
        start: std::ptr::null(),
        lines: 0,
    };

    /// How many of a tile's `kc` depth steps issue one line each: all the
    /// lines, one per step, when they fit in the steps (the usual case);
    /// otherwise (a tile of a few rows, more lines than steps) they are
    /// issued here at once and no step issues any.
    #[inline(always)]
    pub fn spread_over(self, kc: usize) -> usize {
        if self.lines <= kc {
            self.lines
        } else {
            (0..self.lines).for_each(|l| self.line(l));
            0
        }
    }

    /// Issue line `l`.
    #[inline(always)]
    pub fn line(self, l: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint; it never faults, whatever the
        // address (wrapping_add keeps the pointer arithmetic defined).
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                self.start.wrapping_add(l * 16) as *const i8,
            )
        };
    }
}

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
