//! `MINILM_KERNEL` selects the instruction-set path (read once per process,
//! so each case runs this test binary again as a child process).

use minilm_kernels::isa::{self, Isa};
use std::process::Command;

/// The child side: prints the path the process selected.
#[test]
fn child_reports_selected_path() {
    if std::env::var_os("MINILM_KERNEL_TEST_CHILD").is_some() {
        println!("SELECTED={}", isa::selected().name());
    }
}

#[test]
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
            .args([
                "--exact",
                "child_reports_selected_path",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MINILM_KERNEL", value)
            .env("MINILM_KERNEL_TEST_CHILD", "1")
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

#[test]
fn with_isa_forces_and_restores() {
    let before = isa::current();
    for path in Isa::ALL {
        match isa::with_isa(path, isa::current) {
            Some(inside) => assert_eq!(inside, path),
            None => eprintln!(
                "skipping the {} path: not supported by this CPU",
                path.name()
            ),
        }
        assert_eq!(isa::current(), before);
    }
}
