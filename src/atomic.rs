//! The one way the product writes files and folders: build the new content
//! beside the destination under a hidden temporary name, make it durable,
//! then rename it into place. A reader (or a crash) sees either the old
//! content or the new, whole; a failed write removes what it made and
//! leaves the destination as it was.
//!
//! The protocol, and why each step is there:
//!
//! 1. Write into a hidden sibling (`.NAME.PID-N.tmp`, or the folder
//!    `.NAME.PID-N.new`) in the destination's own folder, so the final
//!    rename stays on one file system and is atomic. The process id and a
//!    per-process counter keep two writers (two processes, or two threads of
//!    one) from sharing a temporary name.
//! 2. `fsync` every file written (and, for a folder, every folder created),
//!    so its bytes and its name are on disk *before* it becomes visible
//!    under the real name; without it a crash after the rename can leave an
//!    empty or truncated file under the real name.
//! 3. Rename over the destination. For a folder, an existing destination is
//!    first renamed aside, and put back if the second rename fails (between
//!    the two renames the folder is briefly absent, never half-written:
//!    swapping two folders in one step needs `renameat2`, i.e. `unsafe`).
//! 4. `fsync` the parent folder, so the rename itself survives a crash.
//!    Not every platform lets a folder be opened for this; that failure is
//!    ignored, since the data is already safe and only the rename's
//!    durability is at stake.
//!
//! Errors name the destination (`path`, or `dir/relative` for the file of
//! a folder being written), never the temporary name.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Write `bytes` to `path` atomically (see the module documentation). On
/// failure the temporary file is removed, `path` is as it was, and the
/// error is [`Error::io`] naming `path`.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = sibling(path, "tmp")?;
    let result = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_folder(&parent_of(path));
    Ok(())
}

/// Write `files` (paths relative to `dir`, subfolders allowed, e.g.
/// `1_Pooling/config.json`) as the whole new content of the folder `dir`,
/// atomically: they are written and synced into a new sibling folder, which
/// then replaces `dir` (whatever `dir` held before is gone). Missing parent
/// folders of `dir` are created.
///
/// On failure no temporary folder remains and `dir` is untouched; the error
/// names the destination file (`dir/relative`), or `dir` itself when the
/// swap fails.
pub fn write_dir<P: AsRef<Path>, B: AsRef<[u8]>>(dir: &Path, files: &[(P, B)]) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::file(dir, "exists and is not a folder"));
    }
    let parent = parent_of(dir);
    fs::create_dir_all(&parent).map_err(|e| {
        Error::file(
            dir,
            format!("cannot create its folder {}: {e}", parent.display()),
        )
    })?;
    let tmp = sibling(dir, "new")?;
    let _ = fs::remove_dir_all(&tmp);
    if let Err(e) = fill_dir(dir, &tmp, files) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    swap_in(&tmp, dir)?;
    sync_folder(&parent);
    Ok(())
}

/// Create `tmp` and write `files` into it, each synced, then sync every
/// folder made; errors name the file's destination under `dir`.
fn fill_dir<P: AsRef<Path>, B: AsRef<[u8]>>(
    dir: &Path,
    tmp: &Path,
    files: &[(P, B)],
) -> Result<()> {
    fs::create_dir(tmp).map_err(|e| Error::io(dir, e))?;
    let mut folders = vec![tmp.to_path_buf()];
    for (rel, bytes) in files {
        let rel = rel.as_ref();
        let dest = dir.join(rel);
        if !is_inside(rel) {
            return Err(Error::file(&dest, "not a relative name inside the folder"));
        }
        let target = tmp.join(rel);
        let folder = parent_of(&target);
        if !folders.contains(&folder) {
            fs::create_dir_all(&folder).map_err(|e| Error::io(&dest, e))?;
            for a in folder.ancestors().take_while(|a| *a != tmp) {
                if !folders.iter().any(|f| f == a) {
                    folders.push(a.to_path_buf());
                }
            }
        }
        write_synced(&target, bytes.as_ref()).map_err(|e| Error::io(&dest, e))?;
    }
    // A file's name lives in its folder: sync the folders too, or a crash
    // after the swap could show the folder without some of its files.
    for f in folders.iter().rev() {
        sync_folder(f);
    }
    Ok(())
}

/// Put the complete folder `tmp` in place of `dir`: move an existing `dir`
/// aside, rename `tmp` to `dir`, remove the old one. If the second rename
/// fails the old folder is moved back and `tmp` removed.
fn swap_in(tmp: &Path, dir: &Path) -> Result<()> {
    let old = if dir.exists() {
        let old = sibling(dir, "old")?;
        if let Err(e) = fs::rename(dir, &old) {
            let _ = fs::remove_dir_all(tmp);
            return Err(Error::io(dir, e));
        }
        Some(old)
    } else {
        None
    };
    if let Err(e) = fs::rename(tmp, dir) {
        if let Some(old) = &old {
            let _ = fs::rename(old, dir);
        }
        let _ = fs::remove_dir_all(tmp);
        return Err(Error::io(dir, e));
    }
    if let Some(old) = old {
        let _ = fs::remove_dir_all(old);
    }
    Ok(())
}

/// Whether `rel` is a non-empty relative path that stays inside its folder
/// (no root, no `.` or `..`).
fn is_inside(rel: &Path) -> bool {
    !rel.as_os_str().is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Create (or truncate) `path`, write `bytes` and `fsync` it.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A hidden sibling of `path` unique to this process and call:
/// `.NAME.PID-N.SUFFIX`.
fn sibling(path: &Path, suffix: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| Error::file(path, "not a file or folder name"))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}-{n}.{suffix}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// The folder holding `path` (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `fsync` a folder so the names in it (a rename, a new file) are durable.
/// Some platforms cannot open a folder for this; that is not an error.
fn sync_folder(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
