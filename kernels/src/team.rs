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
//! through [`Team::run`], then claims tasks like any helper: each member
//! first claims, in order, the tasks of its own contiguous share, then what
//! is left of the others' (see `Job`); a task is claimed by exactly one
//! thread. The leader returns once every task is done and no helper still
//! holds the job, so the job (which lives on the leader's stack) outlives
//! every use of it. A task that panics is caught, the other tasks still run,
//! and the panic resumes on the leader.
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

/// A counter alone on its cache line, so members claiming from their own
/// ranges do not contend for one line.
#[repr(align(64))]
struct Counter(AtomicUsize);

/// One published job: `tasks` calls of `f`. Member `m` of the team owns the
/// contiguous range `range(m)` and claims its tasks in order through
/// `next[m]`, then helps the others by claiming from their counters: a
/// member's tasks are neighbours (for a product, neighbouring column blocks
/// of one weight, one stream for the hardware prefetchers), and a member
/// that is slow or absent is still covered.
struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    tasks: usize,
    members: usize,
    next: Vec<Counter>,
    done: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl<'a> Job<'a> {
    fn new(f: &'a (dyn Fn(usize) + Sync), tasks: usize, members: usize) -> Self {
        let mut job = Job {
            f,
            tasks,
            members,
            next: Vec::new(),
            done: AtomicUsize::new(0),
            panic: Mutex::new(None),
        };
        job.next = (0..members)
            .map(|m| Counter(AtomicUsize::new(job.range(m).start)))
            .collect();
        job
    }

    /// The tasks member `m` owns.
    fn range(&self, m: usize) -> std::ops::Range<usize> {
        self.tasks * m / self.members..self.tasks * (m + 1) / self.members
    }

    /// Run member `me`'s tasks, then any other member's that are left.
    fn work(&self, me: usize) {
        let members = self.members;
        for q in (0..members).map(|d| (me + d) % members) {
            let end = self.range(q).end;
            loop {
                let i = self.next[q].0.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let f = self.f;
                if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| f(i))) {
                    let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                    slot.get_or_insert(p);
                }
                // Release: the task's writes are visible to whoever sees
                // the count (the leader, which reads it with Acquire).
                self.done.fetch_add(1, Ordering::Release);
            }
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
    /// Helpers that have started: each takes the next member number (the
    /// leader is member 0).
    joined: AtomicUsize,
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
            joined: AtomicUsize::new(0),
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
        let job = Job::new(f, tasks, self.threads);
        // Erasing the lifetime is a plain pointer cast; every dereference
        // (in `help`) happens while `busy` counts the helper, and this
        // function does not return (so `job` is not dropped) before `busy`
        // is back to zero with the pointer withdrawn.
        let p = &job as *const Job<'_> as *mut Job<'static>;
        self.job.store(p, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::Release);
        job.work(0);
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
        // Members 1..threads; a helper beyond them (none is spawned) would
        // share the last member's range.
        let me = (self.joined.fetch_add(1, Ordering::Relaxed) + 1).min(self.threads - 1);
        let mut seen = self.epoch.load(Ordering::Acquire);
        // A job may have been published before this helper started.
        self.join_current(me);
        let mut spins = 0u32;
        while !self.stop.load(Ordering::Acquire) {
            let e = self.epoch.load(Ordering::Acquire);
            if e == seen {
                pause(&mut spins);
                continue;
            }
            seen = e;
            spins = 0;
            self.join_current(me);
        }
    }

    /// Help with the current job, if there is one.
    fn join_current(&self, me: usize) {
        self.busy.fetch_add(1, Ordering::SeqCst);
        let p = self.job.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: `p` was published by `run`, which keeps the job alive
            // until it has withdrawn the pointer and seen `busy` at zero;
            // this helper counted itself in `busy` before loading `p`, and
            // uncounts itself only after its last use of the job below.
            let job = unsafe { &*p };
            job.work(me);
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
