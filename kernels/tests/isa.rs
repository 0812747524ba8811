//! Which instruction-set paths run. Its own `main` (no test harness, see
//! Cargo.toml): `MINILM_KERNEL` is read once per process, so the
//! environment-variable check runs this binary again as a child, and the
//! child's side is the branch at the top of `main`, not a test of its own.
//!
//! Prints `instruction-set paths: detected X; exercised A B C`, where
//! exercised are the paths whose matrix-product microkernel really ran;
//! `.ci/run` checks that line against the CPU's flags in /proc/cpuinfo.

mod common;

use common::{assert_close, gemm_ref, Rng};
use minilm_kernels::isa::{self, Isa};
use std::process::Command;

const CHILD: &str = "MINILM_KERNEL_TEST_CHILD";

fn main() {
    if std::env::var_os(CHILD).is_some() {
        println!("SELECTED={}", isa::selected().name());
        return;
    }
    env_var_forces_each_path();
    with_isa_forces_and_restores();
    let ran = every_supported_path_runs();
    let names: Vec<&str> = ran.iter().map(|i| i.name()).collect();
    println!(
        "instruction-set paths: detected {}; exercised {}",
        isa::detected().name(),
        names.join(" ")
    );
}

/// `MINILM_KERNEL` picks each path the CPU has; a path it lacks, or a bad
/// value (with a warning), falls back to the detected one.
fn env_var_forces_each_path() {
    let exe = std::env::current_exe().unwrap();
    for (value, want) in [
        ("avx512", Isa::Avx512),
        ("AVX2", Isa::Avx2),
        ("portable", Isa::Portable),
        ("bogus", isa::detected()),
    ] {
        let want = if want.supported() {
            want
        } else {
            isa::detected()
        };
        let out = Command::new(&exe)
            .env("MINILM_KERNEL", value)
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("SELECTED={}", want.name())),
            "MINILM_KERNEL={value}: want {}, child printed {stdout}",
            want.name()
        );
        if value == "bogus" {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("not one of avx512, avx2, portable"),
                "no warning for a bad value: {stderr}"
            );
        }
    }
}

/// `with_isa` forces a supported path for its closure only, and refuses one
/// the CPU lacks.
fn with_isa_forces_and_restores() {
    let before = isa::current();
    for path in Isa::ALL {
        match isa::with_isa(path, isa::current) {
            Some(inside) => assert_eq!(inside, path),
            None => assert!(!path.supported(), "{} refused", path.name()),
        }
        assert_eq!(isa::current(), before);
    }
}

/// A product forced onto each path runs that path's microkernel (and only
/// then is the path recorded), and is right; a path the CPU lacks never
/// runs. Returns the paths that ran.
fn every_supported_path_runs() -> Vec<Isa> {
    let (m, k, n) = (37, 29, 41);
    let mut rng = Rng::new(7);
    let a = rng.vec(m * k, -1.0, 1.0);
    let b = rng.vec(k * n, -1.0, 1.0);
    let want = gemm_ref(m, k, n, 1.0, &a, k, 1, &b, n, 1, 0.0, &[], n, 1);
    // No product has run in this process yet (the children above are other
    // processes), so each path appears exactly when its product runs.
    assert_eq!(isa::exercised(), Vec::<Isa>::new());
    for path in Isa::ALL {
        let mut c = vec![0.0f32; m * n];
        let ran = isa::with_isa(path, || {
            minilm_kernels::sgemm_serial(m, k, n, 1.0, &a, k, 1, &b, n, 1, 0.0, &mut c, n, 1)
        });
        assert_eq!(ran.is_some(), path.supported());
        assert_eq!(
            isa::exercised().contains(&path),
            path.supported(),
            "the {} path: supported {}, but its microkernel {}",
            path.name(),
            path.supported(),
            if path.supported() {
                "did not run"
            } else {
                "ran"
            }
        );
        if ran.is_some() {
            assert_close(path.name(), c.iter().copied(), &want, 1e-5, 1e-5);
        }
    }
    isa::exercised()
}
