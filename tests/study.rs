//! `minilm study` on tiny files with the real model: it writes the runs, the
//! report and the plots; run again it resumes (skips every finished run);
//! with other settings it refuses to touch the finished runs.

#![cfg(all(feature = "cli", feature = "train"))]

mod common;

use common::*;
use std::path::Path;

fn study(dir: &Path, extra: &[&str]) -> std::process::Output {
    let (a, b) = write_tiny_task_files(dir);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let (results, report, plots) = (p("runs.json"), p("results.md"), p("plots"));
    let mut args = vec![
        "study",
        "--task-a-train",
        a,
        "--task-a-test",
        a,
        "--task-b-train",
        b,
        "--task-b-val",
        b,
        "--task-b-test",
        b,
        "--ood",
        b,
        "--plans",
        "heads,last1",
        "--contrastive-plans",
        "last1",
        "--shots",
        "2",
        "--seeds",
        "0,1",
        "--val-per-class",
        "1",
        "--batch-size",
        "2",
        "--threads",
        "1",
        "--quiet",
        "--results",
        &results,
        "--report",
        &report,
        "--plots",
        &plots,
    ];
    args.extend_from_slice(extra);
    minilm(&args, b"")
}

fn runs(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("runs.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["runs"].as_array().unwrap().clone()
}

#[test]
fn study_writes_resumes_and_keeps_runs_made_with_other_settings() {
    let dir = temp_dir("study");
    let out = study(&dir, &["--epochs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 2 plans + the baseline + 2 contrastive rows (heads trained, logreg), 2 seeds.
    let first = runs(&dir);
    assert_eq!(first.len(), 10);
    for r in &first {
        for k in ["test_accuracy", "test_macro_f1"] {
            for x in r[k].as_array().unwrap() {
                let x = x.as_f64().unwrap();
                assert!((0.0..=1.0).contains(&x), "{k} {x}");
            }
        }
        assert_eq!(r["ood_accuracy"].as_object().unwrap().len(), 1);
    }
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    for needle in [
        "| heads | 2 | 2 |",
        "| last1 | 2 | 2 |",
        "| logreg | 2 | 2 |",
        "| contrastive-last1/heads | 2 | 2 |",
        "| contrastive-last1/logreg | 2 | 2 |",
        "Over the whole grid",
    ] {
        assert!(md.contains(needle), "report lacks {needle:?}:\n{md}");
    }
    assert!(std::fs::read_dir(dir.join("plots")).unwrap().any(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|x| x == "svg")));

    // Resumed with the same settings: nothing runs again (the times, which
    // a second run could not reproduce, are unchanged).
    let before = std::fs::read(dir.join("runs.json")).unwrap();
    let out = study(&dir, &["--epochs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(dir.join("runs.json")).unwrap(), before);

    // Other settings: refused, naming the file, and nothing is lost.
    let out = study(&dir, &["--epochs", "3"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("runs.json") && err.contains("other settings"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("runs.json")).unwrap(), before);

    // A resume that adds a run rewrites the file: every number already in it
    // must come back to the last bit. (serde_json's default float parser
    // can be 1 ulp off: it read 10.748981202000001 as 10.748981202.)
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("runs.json")).unwrap()).unwrap();
    v["runs"][0]["train_seconds"] = serde_json::json!(10.748981202000001);
    v["runs"].as_array_mut().unwrap().pop();
    std::fs::write(
        dir.join("runs.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    let out = study(&dir, &["--epochs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(runs(&dir).len(), 10);
    let text = std::fs::read_to_string(dir.join("runs.json")).unwrap();
    assert!(
        text.contains("10.748981202000001"),
        "a finished run's number changed on rewrite"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
