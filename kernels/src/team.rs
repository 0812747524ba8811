//! A team of spinning threads that share the parallel jobs of one forward
//! pass.
//!
//! Why: a forward pass of one sentence is ~30 products of a few hundred
//! microseconds each, with serial work (LayerNorm, attention of a short
//! sequence) in between. Handed to rayon one by one, each product wakes a
//! sleeping worker (a futex wake, tens of microseconds on a virtual machine)
//! and the worker goes back to sleep during the serial parts. A team's
//! helpers instead spin on a counter for the whole pass, so a job reaches
//! them in the time of a cache-line transfer.
//!
//! Protocol. The leader publishes a job (a task count and a `Fn(task)`)
//! through [`Team::run`], then claims tasks from the job's counter like any
//! helper; a task is claimed by exactly one thread. The leader returns once
//! every task is done and no helper still holds the job, so the job (which
//! lives on the leader's stack) outlives every use of it. A task that panics
//! is caught, the other tasks still run, and the panic resumes on the leader.
//!
//! Which thread runs which task never changes a result: tasks write disjoint
//! outputs, each computed the same way whoever computes it.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Spins on an empty counter before yielding the core at each check (for a
/// host with more runnable threads than cores).
const SPINS_BEFORE_YIELD: u32 = 1 << 16;

/// One published job: `tasks` calls of `f`, claimed through `next`.
struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    tasks: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Job<'_> {
    /// Claim and run tasks until none are left.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.tasks {
                return;
            }
            let f = self.f;
            if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| f(i))) {
                let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(p);
            }
            // Release: the task's writes are visible to whoever sees the
            // count (the leader, which reads it with Acquire).
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// The shared state of a team: the current job, and who is inside it.
pub(crate) struct Team {
    threads: usize,
    /// The current job, or null. Lifetime-erased: see [`Team::run`].
    job: AtomicPtr<Job<'static>>,
    /// Bumped each time a job is published, so idle helpers notice.
    epoch: AtomicUsize,
    /// Helpers that may hold a reference to the current job.
    busy: AtomicUsize,
    stop: AtomicBool,
}

impl Team {
    /// A team of `threads` threads in all (the leader and `threads - 1`
    /// helpers running [`Team::help`]).
    pub(crate) fn new(threads: usize) -> Team {
        Team {
            threads,
            job: AtomicPtr::new(ptr::null_mut()),
            epoch: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        }
    }

    /// Threads in the team, the leader included.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Run `f(0..tasks)` on the team; returns when every call has returned.
    /// Called by the leader only, never from inside a task.
    pub(crate) fn run(&self, tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        let job = Job {
            f,
            tasks,
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            panic: Mutex::new(None),
        };
        // Erasing the lifetime is a plain pointer cast; every dereference
        // (in `help`) happens while `busy` counts the helper, and this
        // function does not return (so `job` is not dropped) before `busy`
        // is back to zero with the pointer withdrawn.
        let p = &job as *const Job<'_> as *mut Job<'static>;
        self.job.store(p, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::Release);
        job.work();
        let mut spins = 0u32;
        while job.done.load(Ordering::Acquire) < tasks {
            pause(&mut spins);
        }
        // Withdraw the job, then wait for the helpers that may still hold
        // it (they can only find every task claimed). SeqCst pairs with the
        // helpers' increment-then-load: a helper that loaded `p` counted
        // itself in `busy` before, so it is seen here.
        self.job.store(ptr::null_mut(), Ordering::SeqCst);
        while self.busy.load(Ordering::SeqCst) != 0 {
            pause(&mut spins);
        }
        let caught = job.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = caught {
            panic::resume_unwind(p);
        }
    }

    /// A helper's loop: run the tasks of each published job until
    /// [`Team::stop`].
    pub(crate) fn help(&self) {
        let mut seen = self.epoch.load(Ordering::Acquire);
        // A job may have been published before this helper started.
        self.join_current();
        let mut spins = 0u32;
        while !self.stop.load(Ordering::Acquire) {
            let e = self.epoch.load(Ordering::Acquire);
            if e == seen {
                pause(&mut spins);
                continue;
            }
            seen = e;
            spins = 0;
            self.join_current();
        }
    }

    /// Help with the current job, if there is one.
    fn join_current(&self) {
        self.busy.fetch_add(1, Ordering::SeqCst);
        let p = self.job.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: `p` was published by `run`, which keeps the job alive
            // until it has withdrawn the pointer and seen `busy` at zero;
            // this helper counted itself in `busy` before loading `p`, and
            // uncounts itself only after its last use of the job below.
            let job = unsafe { &*p };
            job.work();
        }
        self.busy.fetch_sub(1, Ordering::Release);
    }

    /// Tell the helpers to return from [`Team::help`].
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// One step of a wait: spin, and after a while give the core away at each
/// step (another thread may need it to make the progress we wait for).
fn pause(spins: &mut u32) {
    if *spins < SPINS_BEFORE_YIELD {
        *spins += 1;
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}
