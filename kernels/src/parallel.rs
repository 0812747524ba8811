//! The one place where the kernels decide whether to use threads.
//!
//! All parallel work runs on rayon (the global pool, sized by
//! `RAYON_NUM_THREADS` or [`set_threads`], or a local pool entered through
//! [`install`]). Work is only split along independent outputs (rows or column
//! blocks), never along a reduction, so results are bit-identical whatever the
//! number of threads.

use std::cell::Cell;

/// Below this many multiply-adds a product runs on the calling thread: the
/// cost of waking a second core (a few microseconds) outweighs the gain.
pub const MIN_PARALLEL_FLOPS: usize = 1 << 18;

/// Below this many elements an elementwise or row-wise kernel (GELU,
/// LayerNorm, softmax) stays on the calling thread: they are memory-bound and
/// cost ~1 ns per element.
pub const MIN_PARALLEL_ELEMENTS: usize = 1 << 15;

thread_local! {
    /// Set on the thread that runs the closure given to [`install`]: it is a
    /// rayon worker, but of a pool entered on purpose, so it may fan out.
    static TOP_LEVEL: Cell<bool> = const { Cell::new(false) };
}

/// True when a job of `flops` multiply-adds should be split across threads.
pub fn worth_parallel(flops: usize) -> bool {
    flops >= MIN_PARALLEL_FLOPS && threads_here() > 1
}

/// True when an elementwise job over `elements` values should be split.
pub fn worth_parallel_elementwise(elements: usize) -> bool {
    elements >= MIN_PARALLEL_ELEMENTS && threads_here() > 1
}

/// How many threads a kernel called here may use: 1 inside a rayon worker
/// (the caller already parallelises, e.g. attention over heads), else the
/// size of the current pool.
pub fn threads_here() -> usize {
    if in_worker() {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// True when called from inside a rayon worker: nested kernels then run
/// serially, because the outer loop already occupies every core. The thread
/// running an [`install`] closure does not count.
pub fn in_worker() -> bool {
    rayon::current_thread_index().is_some() && !TOP_LEVEL.with(|t| t.get())
}

/// Run `f` inside `pool` as a top-level caller: kernels it calls directly
/// split across that pool's threads (plain `pool.install` would make them
/// serial, since `f` runs on a worker). For benchmarks, tests, and callers
/// that keep their own pool.
pub fn install<R: Send>(pool: &rayon::ThreadPool, f: impl FnOnce() -> R + Send) -> R {
    pool.install(|| as_top_level(f))
}

/// Run `f` on a thread of the current pool (the global one unless inside
/// [`install`]) as a top-level caller, so the kernels it calls split their
/// work as they would from the caller's thread.
///
/// Why: a parallel kernel called from a thread outside the pool hands its
/// job to the pool and then sleeps on a lock until the job is done, so every
/// product pays two thread wake-ups and the calling core does none of the
/// work. A forward pass has dozens of products; entered once here, it pays
/// that hand-off once, and each product's split is a cheap fork between
/// pool threads that are already awake. Results are unchanged (the split
/// never changes an element's summation order).
///
/// Runs `f` where it is when already on a pool thread, or when the pool has
/// one thread (nothing to split).
pub fn enter<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() || rayon::current_num_threads() <= 1 {
        return f();
    }
    let mut out = None;
    rayon::scope(|_| out = Some(as_top_level(f)));
    out.expect("rayon::scope ran the closure")
}

/// Run `f` with this thread marked as a top-level caller (see [`in_worker`]).
fn as_top_level<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            TOP_LEVEL.with(|t| t.set(self.0));
        }
    }
    let _restore = Restore(TOP_LEVEL.with(|t| t.replace(true)));
    f()
}

/// Build a local pool of `threads` threads and [`install`] `f` in it.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("minilm-kernels: cannot build a thread pool");
    install(&pool, f)
}

/// Size rayon's global pool. Must be called before any parallel work; returns
/// an error message when the pool was already built with another size.
pub fn set_threads(n: usize) -> Result<(), String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| format!("cannot set the thread count to {n}: {e}"))
}
