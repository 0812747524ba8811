//! The one place where the kernels decide whether to use threads.
//!
//! All parallel work runs on rayon's global pool (sized by `RAYON_NUM_THREADS`
//! or by the caller through [`set_threads`]). Work is only split along
//! independent outputs (rows or column blocks), never along a reduction, so
//! results are bit-identical whatever the number of threads.

/// Below this many multiply-adds a product runs on the calling thread: the
/// cost of waking a second core (a few microseconds) outweighs the gain.
pub const MIN_PARALLEL_FLOPS: usize = 1 << 18;

/// True when a job of `flops` multiply-adds should be split across threads.
pub fn worth_parallel(flops: usize) -> bool {
    flops >= MIN_PARALLEL_FLOPS && rayon::current_num_threads() > 1 && !in_worker()
}

/// True when called from inside a rayon worker: nested kernels then run
/// serially, because the outer loop already occupies every core.
pub fn in_worker() -> bool {
    rayon::current_thread_index().is_some()
}

/// Size rayon's global pool. Must be called before any parallel work; returns
/// an error message when the pool was already built with another size.
pub fn set_threads(n: usize) -> Result<(), String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| format!("cannot set the thread count to {n}: {e}"))
}
