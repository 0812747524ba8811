//! The split of work across threads (`parallel`): inside `enter` (a team of
//! spinning threads) and outside it (rayon), every task runs exactly once,
//! results come back in order and with the serial bits, a panicking task
//! reaches the caller instead of hanging the team, and nested kernels run
//! serially.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{bits, for_each_isa, Rng};
use minilm_kernels::parallel::{self, enter, for_each, map, threads_here, with_threads};
use minilm_kernels::{linear, linear_serial, Epilogue, PackedWeight};

/// Each of `tasks` indices is run exactly once.
fn check_once(tasks: usize) {
    let counts: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
    for_each(tasks, |i| {
        counts[i].fetch_add(1, Ordering::Relaxed);
    });
    for (i, c) in counts.iter().enumerate() {
        assert_eq!(c.load(Ordering::Relaxed), 1, "task {i} of {tasks}");
    }
}

#[test]
fn every_task_runs_once_in_and_out_of_a_team() {
    for threads in [1, 2, 3] {
        with_threads(threads, || {
            // Outside a team: rayon (or in order with one thread).
            for tasks in [0, 1, 2, 7, 1000] {
                check_once(tasks);
            }
            // Inside a team, many jobs in a row (each must see every task
            // done before the next is published).
            enter(|| {
                assert_eq!(threads_here(), threads);
                for round in 0..2000 {
                    check_once(round % 13);
                }
            });
        });
    }
}

#[test]
fn the_helpers_of_a_team_take_tasks() {
    with_threads(2, || {
        enter(|| {
            let leader = std::thread::current().id();
            // A helper may take a moment to be scheduled (a loaded CI host):
            // keep publishing jobs until one of its tasks runs elsewhere.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let ran_on = map(64, |_| {
                    let t = std::time::Instant::now();
                    while t.elapsed() < std::time::Duration::from_micros(20) {
                        std::hint::spin_loop();
                    }
                    std::thread::current().id()
                });
                if ran_on.iter().any(|&id| id != leader) {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "no helper took a task in 60 s"
                );
            }
        });
    });
}

#[test]
fn map_keeps_the_order() {
    with_threads(2, || {
        let expect: Vec<usize> = (0..500).map(|i| i * i).collect();
        assert_eq!(map(500, |i| i * i), expect);
        enter(|| assert_eq!(map(500, |i| i * i), expect));
    });
}

#[test]
fn tasks_run_serially_inside() {
    with_threads(2, || {
        enter(|| {
            let inner = map(8, |_| threads_here());
            assert!(inner.iter().all(|&t| t == 1), "{inner:?}");
            // A nested enter inside a task runs in place.
            let nested = map(4, |i| enter(|| i + threads_here()));
            assert_eq!(nested, vec![1, 2, 3, 4]);
        });
    });
}

#[test]
fn a_panicking_task_reaches_the_caller_and_the_team_recovers() {
    with_threads(2, || {
        for in_team in [false, true] {
            let run = || {
                for_each(64, |i| {
                    if i == 37 {
                        panic!("task 37 fails");
                    }
                })
            };
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if in_team {
                    enter(run)
                } else {
                    run()
                }
            }));
            let payload = caught.expect_err("the panic must reach the caller");
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            assert_eq!(msg, Some("task 37 fails"), "in_team={in_team}");
            // The pool and a new team still work.
            enter(|| check_once(100));
        }
    });
}

#[test]
fn products_in_a_team_have_the_serial_bits() {
    let mut rng = Rng::new(21);
    for &(m, k, n) in &[
        (16, 384, 1152),
        (33, 1537, 384),
        (300, 384, 1536),
        (7, 384, 33),
    ] {
        let w = rng.vec(n * k, -0.05, 0.05);
        let bias = rng.vec(n, -1.0, 1.0);
        let x = rng.vec(m * k, -1.0, 1.0);
        let pw = PackedWeight::new(&w, n, k);
        for_each_isa(|isa| {
            let serial = minilm_kernels::isa::with_isa(isa, || {
                let mut out = vec![0.0; m * n];
                linear_serial(&x, m, &pw, Some(&bias), Epilogue::Gelu, &mut out);
                out
            })
            .unwrap();
            for threads in [2, 3] {
                let teamed = with_threads(threads, || {
                    minilm_kernels::isa::with_isa(isa, || {
                        enter(|| {
                            // Several products in one team, as in a forward pass.
                            let mut out = vec![0.0; m * n];
                            for _ in 0..3 {
                                linear(&x, m, &pw, Some(&bias), Epilogue::Gelu, &mut out);
                            }
                            out
                        })
                    })
                    .unwrap()
                });
                assert_eq!(
                    bits(&teamed),
                    bits(&serial),
                    "{isa:?} m={m} k={k} n={n} threads={threads}"
                );
            }
        });
    }
}

#[test]
fn tasks_carry_the_callers_instruction_set() {
    with_threads(2, || {
        for_each_isa(|isa| {
            minilm_kernels::isa::with_isa(isa, || {
                let seen = map(16, |_| minilm_kernels::isa::current());
                assert!(seen.iter().all(|&s| s == isa), "{isa:?}: {seen:?}");
                let seen = enter(|| map(16, |_| minilm_kernels::isa::current()));
                assert!(
                    seen.iter().all(|&s| s == isa),
                    "{isa:?} in a team: {seen:?}"
                );
            });
        });
    });
}

#[test]
fn one_thread_never_splits() {
    with_threads(1, || {
        assert_eq!(threads_here(), 1);
        assert!(!parallel::worth_parallel(usize::MAX));
        enter(|| assert_eq!(threads_here(), 1));
    });
}
