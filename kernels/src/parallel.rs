//! The one place where the kernels decide whether to use threads.
//!
//! All parallel work runs on rayon (the global pool, sized by
//! `RAYON_NUM_THREADS` or [`set_threads`], or a local pool entered through
//! [`install`]). Work is only split along independent outputs (rows or column
//! blocks), never along a reduction, so results are bit-identical whatever the
//! number of threads.
//!
//! Inside [`enter`] (a forward pass) the parallel jobs go to a [`Team`] of
//! spinning threads instead of rayon's sleeping workers; see `team.rs`.
//! Kernels split their work through [`for_each`], [`for_each_item`] and
//! [`map`], which pick the team or rayon.

use std::cell::Cell;
use std::sync::Mutex;
use std::thread::LocalKey;

use crate::team::Team;

/// Below this many multiply-adds a product runs on the calling thread: the
/// cost of waking a second core (a few microseconds) outweighs the gain.
pub const MIN_PARALLEL_FLOPS: usize = 1 << 18;

/// The same threshold inside a team ([`enter`]), where the other threads
/// are awake and a split costs about a microsecond: the attention of one
/// short sentence (12 heads of 16 × 16 scores, 2^17.6 multiply-adds) is
/// then worth spreading.
pub const MIN_TEAM_FLOPS: usize = 1 << 16;

/// Below this many elements an elementwise or row-wise kernel (GELU,
/// LayerNorm, softmax) stays on the calling thread: they are memory-bound and
/// cost ~1 ns per element.
pub const MIN_PARALLEL_ELEMENTS: usize = 1 << 15;

thread_local! {
    /// Set on the thread that runs the closure given to [`install`]: it is a
    /// rayon worker, but of a pool entered on purpose, so it may fan out.
    static TOP_LEVEL: Cell<bool> = const { Cell::new(false) };
    /// Set while this thread runs one task of a split job: kernels it calls
    /// then run serially (the job already occupies every thread).
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// The team this thread leads, inside [`enter`]; null elsewhere.
    static TEAM: Cell<*const Team> = const { Cell::new(std::ptr::null()) };
}

/// True when a job of `flops` multiply-adds should be split across threads.
pub fn worth_parallel(flops: usize) -> bool {
    let min = if with_team(|t| t.is_some()) {
        MIN_TEAM_FLOPS
    } else {
        MIN_PARALLEL_FLOPS
    };
    flops >= min && threads_here() > 1
}

/// True when an elementwise job over `elements` values should be split.
pub fn worth_parallel_elementwise(elements: usize) -> bool {
    elements >= MIN_PARALLEL_ELEMENTS && threads_here() > 1
}

/// How many threads a kernel called here may use: 1 inside a task of a
/// split job or a rayon worker (the caller already parallelises, e.g.
/// attention over heads), the team's size inside [`enter`], else the size
/// of the current pool.
pub fn threads_here() -> usize {
    if IN_TASK.with(|t| t.get()) {
        1
    } else if let Some(n) = with_team(|t| t.map(Team::threads)) {
        n
    } else if in_worker() {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// Run `g` with the team this thread leads, if any.
fn with_team<R>(g: impl FnOnce(Option<&Team>) -> R) -> R {
    let p = TEAM.with(|t| t.get());
    // SAFETY: TEAM is non-null only inside `lead`, which sets it to a team
    // that outlives that call and resets it before returning (also when
    // unwinding); the reference handed to `g` cannot outlive this call.
    g(unsafe { p.as_ref() })
}

/// Run `f(0..tasks)`, split across the threads available here (the team
/// inside [`enter`], else rayon), or in order on this thread when there is
/// one. Each call runs as a task: kernels it calls are serial, on the
/// caller's instruction-set path. Results do not depend on which thread runs
/// which task as long as tasks write disjoint outputs.
pub fn for_each(tasks: usize, f: impl Fn(usize) + Sync) {
    if tasks <= 1 || threads_here() <= 1 {
        (0..tasks).for_each(f);
        return;
    }
    let isa = crate::isa::current();
    let task = |i: usize| crate::isa::scoped(isa, || as_task(|| f(i)));
    let on_team = with_team(|team| team.map(|t| t.run(tasks, &task)).is_some());
    if !on_team {
        use rayon::prelude::*;
        (0..tasks).into_par_iter().for_each(task);
    }
}

/// [`for_each`] over owned items (typically tuples of disjoint `&mut`
/// chunks): task `i` receives `items[i]`.
pub fn for_each_item<T: Send>(items: Vec<T>, f: impl Fn(T) + Sync) {
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    for_each(slots.len(), |i| {
        let item = slots[i].lock().unwrap_or_else(|e| e.into_inner()).take();
        f(item.expect("each task takes its own item once"));
    });
}

/// `f(0..tasks)` collected in order, split as [`for_each`] splits.
pub fn map<T: Send>(tasks: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let slots: Vec<Mutex<Option<T>>> = (0..tasks).map(|_| Mutex::new(None)).collect();
    for_each(tasks, |i| {
        let v = f(i);
        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
    });
    slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every task ran")
        })
        .collect()
}

/// Run `f` as one task of a split job (see [`IN_TASK`]).
fn as_task<R>(f: impl FnOnce() -> R) -> R {
    with_flag(&IN_TASK, f)
}

/// Run `f` with the thread-local `flag` set, restoring it afterwards (also
/// when `f` unwinds).
fn with_flag<R>(flag: &'static LocalKey<Cell<bool>>, f: impl FnOnce() -> R) -> R {
    struct Restore(&'static LocalKey<Cell<bool>>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            self.0.with(|t| t.set(self.1));
        }
    }
    let _restore = Restore(flag, flag.with(|t| t.replace(true)));
    f()
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

/// Run `f` (a forward pass) with a [`Team`] of the threads available
/// here: `f` runs on one of them as the leader, the others spin, waiting
/// for the jobs the kernels called by `f` split (see `team.rs`). Results
/// are unchanged (a split never changes an element's summation order).
///
/// Why: a parallel kernel called from a thread outside the pool would hand
/// its job to rayon and sleep on a lock until it is done, so every product
/// would pay two thread wake-ups and the calling core would do none of the
/// work; and rayon's workers fall asleep again during the serial parts
/// between products. Entered once here, the pass pays one hand-off, and each
/// product reaches threads that are already awake.
///
/// Runs `f` where it is when only one thread is available (one-thread
/// pool, inside a task or a worker) or when this thread already leads a
/// team.
pub fn enter<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let threads = threads_here();
    if threads <= 1 || with_team(|t| t.is_some()) {
        return f();
    }
    let team = Team::new(threads);
    let mut out = None;
    rayon::scope(|s| {
        for _ in 1..threads {
            s.spawn(|_| team.help());
        }
        out = Some(lead(&team, f));
    });
    out.expect("rayon::scope ran the closure")
}

/// Run `f` on this thread as the leader of `team` (and a top-level caller);
/// the helpers are told to stop when `f` returns or unwinds.
fn lead<R>(team: &Team, f: impl FnOnce() -> R) -> R {
    struct Restore<'a>(*const Team, &'a Team);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            TEAM.with(|t| t.set(self.0));
            self.1.stop();
        }
    }
    let _restore = Restore(TEAM.with(|t| t.replace(team)), team);
    as_top_level(f)
}

/// Run `f` with this thread marked as a top-level caller (see [`in_worker`]).
fn as_top_level<R>(f: impl FnOnce() -> R) -> R {
    with_flag(&TOP_LEVEL, f)
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
