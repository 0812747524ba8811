//! The CLI's JSON Lines input (`minilm embed`, `predict`, `similarity
//! --input`) from arbitrary bytes: every record is read until the end or the
//! first error, and the output line is built as the commands build it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minilm::cli::jsonl::JsonlReader;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let allow_empty = data.first().is_some_and(|b| b & 1 == 1);
    let mut r = JsonlReader::new(data, Path::new("<stdin>"), &["embedding"]).allow_empty(allow_empty);
    loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                let out = rec.with_field("embedding", "[0.5]");
                let v: serde_json::Value = serde_json::from_str(&out).expect("output line is JSON");
                assert!(v.get("embedding").is_some());
            }
            Ok(None) => break,
            Err(e) => {
                assert!(e.to_string().starts_with("<stdin>:"), "{e}");
                break;
            }
        }
    }
    let mut r = JsonlReader::new(data, Path::new("<stdin>"), &[]);
    while let Ok(Some(_)) = r.next_strings(&["a", "b"]) {}
});
