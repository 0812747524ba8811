//! The labelled-data readers (`minilm train --task-a-train FILE` etc.) from
//! arbitrary bytes: the first byte picks the format (JSON Lines, CSV, TSV,
//! Orange .tab, JSON array), the rest is the file. Errors must name the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minilm::train::data::{parse, Format, ReadOptions};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let format = match sel % 5 {
        0 => Format::JsonLines,
        1 => Format::Csv,
        2 => Format::Tsv,
        3 => Format::OrangeTab,
        _ => Format::JsonArray,
    };
    let path = Path::new("fuzz.data");
    let opts = ReadOptions::default().skip_trailing_empty(sel & 0x80 != 0);
    match parse(path, bytes, format, &opts) {
        Ok(ds) => {
            let _ = ds.summary();
            let _ = ds.label_counts();
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.data"), "{e}"),
    }
});
