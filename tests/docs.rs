//! The docs check: the commands and links of README.md and docs/ cannot drift
//! from the code.
//!
//! # The marking convention
//!
//! In README.md and every `.md` file under docs/:
//!
//! * A fenced block whose info string is `sh` is **checked**. Each command
//!   line in it (`\` continuations joined, `# comments` dropped) that calls
//!   `minilm` (the word `minilm`, a path ending in `/minilm`, or
//!   `cargo run … -- ARGS` without `--example`) is taken apart: `minilm <command> --help` must succeed, and every `--flag` the
//!   line quotes after the command must appear in that help text. A line of
//!   `minilm` without a command checks its flags against `minilm --help`.
//! * A fenced block whose info string is `sh run` is checked as above and
//!   also **run in full** with `bash -euo pipefail` from the workspace root,
//!   with this build's `minilm` first on `PATH`; it must exit 0. Only short
//!   blocks get `run` (all of them together take seconds, not minutes).
//! * Any other block (`text`, `toml`, `rust`, no info string, indented) is
//!   prose and not checked: use `text` for output, for commands that take
//!   minutes, and for commands of other tools.
//! * A command that `minilm --help` does not list fails the check, except a
//!   command of an optional cargo feature (`FEATURE_COMMANDS` below) when the
//!   build under test lacks that feature: it is reported on standard error and
//!   not checked. `.ci/run` builds the default features; run
//!   `cargo test --release --features serve --test docs` to check those too.
//!
//! Every relative link `[text](path)` and image `![alt](path)` outside code
//! must name an existing file or folder, relative to the Markdown file; a
//! `#anchor` into a Markdown file (or into the same file) must match one of
//! its headings, slugged as GitHub does (lower case, punctuation dropped,
//! spaces to `-`, `-1`, `-2` … for repeats).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Commands that exist only with an optional cargo feature: (command, feature).
const FEATURE_COMMANDS: &[(&str, &str)] = &[("serve", "serve")];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_minilm"))
}

/// README.md and every Markdown file under docs/, sorted.
fn doc_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries {
            let p = e.expect("read_dir entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut files = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut files);
    files.sort();
    files
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// A fenced code block: its info string, first line number (1-based) and body.
struct Block {
    info: String,
    line: usize,
    body: String,
}

/// The fenced blocks of a Markdown text, and the text with them blanked out
/// (same line count) for the link scan.
fn split_blocks(text: &str) -> (Vec<Block>, String) {
    let mut blocks = Vec::new();
    let mut prose = String::new();
    // The open block: its fence (``` or ~~~, possibly longer), its indentation, the block.
    let mut open: Option<(String, String, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(fence) = ["```", "~~~"].iter().find(|f| trimmed.starts_with(**f)) {
                    let n = trimmed
                        .chars()
                        .take_while(|c| fence.starts_with(*c))
                        .count();
                    let info = trimmed[n..].trim().to_string();
                    let indent = line[..line.len() - trimmed.len()].to_string();
                    open = Some((
                        trimmed[..n].to_string(),
                        indent,
                        Block {
                            info,
                            line: i + 2,
                            body: String::new(),
                        },
                    ));
                } else {
                    prose.push_str(line);
                }
            }
            Some((fence, indent, block)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_end() == fence.as_str() {
                    blocks.push(open.take().expect("open block").2);
                } else {
                    let l = line.strip_prefix(indent.as_str()).unwrap_or(line);
                    block.body.push_str(l);
                    block.body.push('\n');
                }
            }
        }
        prose.push('\n');
    }
    (blocks, prose)
}

/// The command lines of a shell block: continuations joined, comments and
/// blank lines dropped. Each with its line number in the file.
fn command_lines(block: &Block) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = block.line;
    for (i, raw) in block.body.lines().enumerate() {
        let line = strip_comment(raw);
        if cur.is_empty() {
            start = block.line + i;
        }
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
            continue;
        }
        cur.push_str(&line);
        if !cur.trim().is_empty() {
            out.push((start, cur.trim().to_string()));
        }
        cur.clear();
    }
    out
}

/// `line` without a `# comment` (a `#` at the start or after a space, outside quotes).
fn strip_comment(line: &str) -> String {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return line[..i].to_string(),
            _ => {}
        }
        prev = c;
    }
    line.to_string()
}

/// Shell words of a command line, quotes removed (no expansion).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, ';' | '|' | '&' | '(' | ')') => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
                out.push(c.to_string());
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Each `minilm` invocation of a command line: (command or "" for none, flags quoted).
fn invocations(line: &str) -> Vec<(String, Vec<String>)> {
    let w = words(line);
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        // `cargo run [--release …] -- ARGS` runs the minilm binary (not with --example).
        let cargo_run = w[i] == "cargo" && w.get(i + 1).is_some_and(|r| r == "run");
        let start = if cargo_run {
            let end = w[i..]
                .iter()
                .position(|x| [";", "|", "&", ")", "("].contains(&x.as_str()))
                .map_or(w.len(), |p| i + p);
            let sep = w[i..end].iter().position(|x| x == "--").map(|p| i + p);
            match sep {
                Some(sep) if !w[i..sep].iter().any(|x| x == "--example") => Some(sep),
                _ => {
                    i = end.max(i + 1);
                    continue;
                }
            }
        } else if w[i] == "minilm" || w[i].ends_with("/minilm") {
            Some(i)
        } else {
            None
        };
        if let Some(i0) = start {
            let mut j = i0 + 1;
            let cmd = match w.get(j) {
                Some(c)
                    if !c.starts_with('-')
                        && c.chars().all(|c| c.is_ascii_lowercase() || c == '-') =>
                {
                    j += 1;
                    c.clone()
                }
                _ => String::new(),
            };
            let mut flags = Vec::new();
            while j < w.len() && ![";", "|", "&", ")", "("].contains(&w[j].as_str()) {
                if let Some(f) = w[j].strip_prefix("--") {
                    if !f.is_empty() {
                        let name = f.split('=').next().unwrap_or(f);
                        flags.push(format!("--{name}"));
                    }
                }
                j += 1;
            }
            out.push((cmd, flags));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn run_help(args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin())
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin().display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "`minilm {}` failed ({}): {text}",
            args.join(" "),
            out.status
        ))
    }
}

/// True when `flag` appears in `help` as a whole option name.
fn help_has(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let after = help[i + flag.len()..].chars().next();
        !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

#[test]
fn quoted_commands_and_flags_exist() {
    let top = run_help(&["--help"]).expect("minilm --help");
    let mut helps: HashMap<String, Result<String, String>> = HashMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).expect("read doc");
        for block in split_blocks(&text).0 {
            let info: Vec<&str> = block.info.split_whitespace().collect();
            if info.first() != Some(&"sh") {
                continue;
            }
            for (line_no, line) in command_lines(&block) {
                for (cmd, flags) in invocations(&line) {
                    let at = format!("{}:{line_no}", rel(&file));
                    if !cmd.is_empty() && !help_has(&top, &cmd) {
                        if let Some((_, feature)) = FEATURE_COMMANDS.iter().find(|(c, _)| *c == cmd)
                        {
                            eprintln!("{at}: `minilm {cmd}` not in this build (feature `{feature}` off): not checked");
                            continue;
                        }
                        problems.push(format!(
                            "{at}: `minilm {cmd}` is not a command of `minilm --help`"
                        ));
                        continue;
                    }
                    let help = helps.entry(cmd.clone()).or_insert_with(|| {
                        if cmd.is_empty() {
                            run_help(&["--help"])
                        } else {
                            run_help(&[&cmd, "--help"])
                        }
                    });
                    match help {
                        Err(e) => problems.push(format!("{at}: {e}")),
                        Ok(h) => {
                            // `--help` itself worked (we are reading its output).
                            let missing =
                                flags.iter().filter(|f| *f != "--help" && !help_has(h, f));
                            for f in missing {
                                problems.push(format!(
                                    "{at}: `minilm {cmd}` has no option {f} in its --help"
                                ));
                            }
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} quoted minilm commands found: is the convention still used?"
    );
    assert!(
        problems.is_empty(),
        "docs quote commands the binary lacks:\n{}",
        problems.join("\n")
    );
}

#[test]
fn runnable_blocks_exit_zero() {
    let bin_dir = bin().parent().expect("binary folder").to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut problems = Vec::new();
    let mut ran = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).expect("read doc");
        for block in split_blocks(&text).0 {
            let info: Vec<&str> = block.info.split_whitespace().collect();
            if info != ["sh", "run"] {
                continue;
            }
            let out = Command::new("bash")
                .args(["-euo", "pipefail", "-c", &block.body])
                .current_dir(root())
                .env("PATH", &path)
                .output()
                .expect("run bash");
            ran += 1;
            if !out.status.success() {
                problems.push(format!(
                    "{}:{}: block failed ({}):\n{}\n--- stderr:\n{}",
                    rel(&file),
                    block.line,
                    out.status,
                    block.body,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(ran >= 1, "no ```sh run block found in README.md or docs/");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// GitHub's heading anchors of a Markdown text.
fn anchors(text: &str) -> Vec<String> {
    let (_, prose) = split_blocks(text);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for line in prose.lines() {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !t[hashes..].starts_with(' ') {
            continue;
        }
        let slug: String = t[hashes..]
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.push(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

/// The link targets of Markdown prose (code spans removed), with line numbers.
fn links(prose: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in prose.lines().enumerate() {
        // Drop inline code spans.
        let mut clean = String::new();
        for (k, part) in line.split('`').enumerate() {
            if k % 2 == 0 {
                clean.push_str(part);
            }
        }
        let mut rest = clean.as_str();
        while let Some(p) = rest.find("](") {
            let after = &rest[p + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            out.push((i + 1, target));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn relative_links_resolve() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).expect("read doc");
        let (_, prose) = split_blocks(&text);
        for (line_no, target) in links(&prose) {
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let at = format!("{}:{line_no}", rel(&file));
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("doc folder").join(path)
            };
            if !dest.exists() {
                problems.push(format!(
                    "{at}: link to {target}: {} does not exist",
                    rel(&dest)
                ));
                continue;
            }
            if let Some(a) = anchor {
                if dest.extension().is_some_and(|x| x == "md") {
                    let t = std::fs::read_to_string(&dest).expect("read link target");
                    if !anchors(&t).iter().any(|h| h == a) {
                        problems.push(format!(
                            "{at}: link to {target}: no heading #{a} in {}",
                            rel(&dest)
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 5, "only {checked} relative links found");
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_parsers_of_this_check() {
    let (blocks, prose) = split_blocks(
        "a\n```sh run\nminilm embed --input x \\\n  --quiet # c\n```\nb [l](x.md#y)\n",
    );
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].info, "sh run");
    assert_eq!(blocks[0].line, 3);
    let lines = command_lines(&blocks[0]);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        invocations(&lines[0].1),
        vec![(
            "embed".to_string(),
            vec!["--input".to_string(), "--quiet".to_string()]
        )]
    );
    assert_eq!(links(&prose), vec![(6, "x.md#y".to_string())]);
    assert_eq!(
        invocations(
            "echo '{\"a\": 1}' | ./target/release/minilm similarity --input - && minilm --version"
        ),
        vec![
            ("similarity".to_string(), vec!["--input".to_string()]),
            (String::new(), vec!["--version".to_string()])
        ]
    );
    assert_eq!(
        invocations("bash weights/fetch.sh && cargo run --release -- train --plan all"),
        vec![("train".to_string(), vec!["--plan".to_string()])]
    );
    assert_eq!(
        invocations("cargo run --release --example worked -- /tmp/x --write d.md"),
        vec![]
    );
    assert_eq!(
        anchors("# A b\n## Sizes, start-up: x\n# A b\n"),
        vec!["a-b", "sizes-start-up-x", "a-b-1"]
    );
    assert!(help_has("  --json  x\n --jsonl", "--json"));
    assert!(!help_has("--jsonl", "--json"));
}
