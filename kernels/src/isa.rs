//! Which instruction set the kernels run on, chosen once at run time.
//!
//! The best path the CPU supports is detected once with
//! `is_x86_feature_detected!` and cached. `MINILM_KERNEL=avx512|avx2|portable`
//! (read once) forces a path; [`with_isa`] forces one for a closure on the
//! calling thread so tests can exercise every path in one process.
//!
//! Soundness rule: an [`Isa`] other than `Portable` reaches a
//! `#[target_feature]` function only through [`current`], which never returns
//! a path the CPU lacks.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// An instruction-set path of the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512F (+VL) with FMA: 16-lane vectors.
    Avx512,
    /// AVX2 with FMA: 8-lane vectors.
    Avx2,
    /// Plain Rust, no FMA (whatever the compiler's baseline target allows).
    Portable,
}

impl Isa {
    /// Every path, best first.
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Portable];

    /// The name used by `MINILM_KERNEL`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }

    /// Parse a `MINILM_KERNEL` value (case-insensitive).
    pub fn parse(s: &str) -> Option<Isa> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The path's position in [`Isa::ALL`].
    fn index(self) -> usize {
        match self {
            Isa::Avx512 => 0,
            Isa::Avx2 => 1,
            Isa::Portable => 2,
        }
    }

    /// True when this CPU can run the path.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// The best path this CPU supports (detected once).
pub fn detected() -> Isa {
    static DETECTED: OnceLock<Isa> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        Isa::ALL
            .into_iter()
            .find(|i| i.supported())
            .unwrap_or(Isa::Portable)
    })
}

/// The process-wide path: `MINILM_KERNEL` if set and supported, else
/// [`detected`]. Read once; a bad value is reported once on stderr.
pub fn selected() -> Isa {
    static SELECTED: OnceLock<Isa> = OnceLock::new();
    *SELECTED.get_or_init(|| {
        let Ok(v) = std::env::var("MINILM_KERNEL") else {
            return detected();
        };
        match Isa::parse(&v) {
            Some(isa) if isa.supported() => isa,
            Some(isa) => {
                let fallback = detected();
                eprintln!(
                    "minilm-kernels: MINILM_KERNEL={} is not supported by this CPU; using {}",
                    isa.name(),
                    fallback.name()
                );
                fallback
            }
            None => {
                let fallback = detected();
                eprintln!(
                    "minilm-kernels: MINILM_KERNEL={v:?} is not one of avx512, avx2, portable; using {}",
                    fallback.name()
                );
                fallback
            }
        }
    })
}

thread_local! {
    /// Per-thread override set by [`with_isa`]; thread-local so concurrent
    /// tests forcing different paths do not race.
    static FORCED: Cell<Option<Isa>> = const { Cell::new(None) };
}

/// The path kernels called from this thread use. Entry points resolve it once
/// and carry it into any worker tasks they spawn.
pub fn current() -> Isa {
    FORCED.with(|f| f.get()).unwrap_or_else(selected)
}

/// Which paths' matrix-product microkernels this process has chosen, in
/// [`Isa::ALL`] order (set by the gemm dispatch, never cleared).
static EXERCISED: [AtomicBool; 3] = [const { AtomicBool::new(false) }; 3];

/// Record that a product is about to run on `isa`'s microkernel. After the
/// first call per path this is one relaxed load of a read-only cache line.
#[inline]
pub(crate) fn note_exercised(isa: Isa) {
    let flag = &EXERCISED[isa.index()];
    if !flag.load(Ordering::Relaxed) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// The paths whose matrix-product microkernel this process has run, best
/// first: what the instruction-set tests check against [`Isa::supported`].
#[doc(hidden)]
pub fn exercised() -> Vec<Isa> {
    Isa::ALL
        .into_iter()
        .filter(|i| EXERCISED[i.index()].load(Ordering::Relaxed))
        .collect()
}

/// Run `f` with kernels called from this thread forced onto `isa`. Returns
/// `None` (without running `f`) when the CPU does not support `isa`.
///
/// Kernels started by `f`, and tasks it splits through
/// [`crate::parallel`], carry the path onto other threads, but code that `f`
/// runs on other threads by itself (its own rayon jobs) sees the
/// process-wide path. Meant for tests and benchmarks.
#[doc(hidden)]
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> Option<R> {
    if !isa.supported() {
        return None;
    }
    Some(scoped(isa, f))
}

/// Run `f` with this thread's path set to `isa` (a path [`current`]
/// returned, so a supported one).
pub(crate) fn scoped<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Isa>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(FORCED.with(|c| c.replace(Some(isa))));
    f()
}

/// Defines `$name(isa, args…)` that runs the generic `$generic::<FMA>(args…)`
/// compiled for `isa`: the generic body is `#[inline(always)]`, so inside a
/// `#[target_feature]` wrapper the compiler vectorises it with that ISA.
/// `FMA = false` on the portable path, where `mul_add` would be a libm call.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $generic:ident) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(isa: $crate::isa::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
            fn on_avx512($($arg: $ty),*) $(-> $ret)? {
                $generic::<true>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn on_avx2($($arg: $ty),*) $(-> $ret)? {
                $generic::<true>($($arg),*)
            }
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `isa` came from `isa::current()` (or a caller that got
                // it there), which only yields Avx512 after detecting avx512f,
                // avx512vl, avx2 and fma on this CPU.
                $crate::isa::Isa::Avx512 => unsafe { on_avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above, Avx2 is only yielded after detecting avx2 and fma.
                $crate::isa::Isa::Avx2 => unsafe { on_avx2($($arg),*) },
                _ => $generic::<false>($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;

/// `a·b + c`, fused when `FMA` (one rounding) and plain otherwise. Both are
/// deterministic; they just differ between paths.
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}
