//! Shared by the examples that write a generated block into a doc
//! (`trace`, `worked`, `grad_trace`): replace the text between two marker
//! lines of FILE, atomically.

use minilm::{Error, Result};
use std::path::Path;

/// Put `block` between the `begin` and `end` markers of `file`; the
/// markers stay. An absent or misordered marker names the file.
pub fn write_block(file: &str, begin: &str, end: &str, block: &str) -> Result<()> {
    let path = Path::new(file);
    let doc = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let (Some(b), Some(e)) = (doc.find(begin), doc.find(end)) else {
        return Err(Error::file(path, format!("no {begin} … {end} block")));
    };
    if e < b {
        return Err(Error::file(path, format!("{end} comes before {begin}")));
    }
    let out = format!("{}{begin}\n{block}{}", &doc[..b], &doc[e..]);
    minilm::atomic::write_file(path, out.as_bytes())?;
    eprintln!("updated {file}");
    Ok(())
}
