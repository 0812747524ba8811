//! A small command-line parser: `--flag value`, `--flag=value`, boolean
//! `--switch`, and positional arguments. Unknown flags are errors.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Parsed arguments of one subcommand.
#[derive(Debug, Default)]
pub struct Args {
    values: BTreeMap<String, String>,
    switches: Vec<String>,
    /// Positional arguments, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Parse `argv` (without the program and subcommand names). `valued` lists
    /// the flags that take a value, `switches` the boolean ones (names without
    /// the leading `--`).
    pub fn parse(argv: &[String], valued: &[&str], switches: &[&str]) -> Result<Args> {
        let mut out = Args::default();
        let mut it = argv.iter();
        while let Some(arg) = it.next() {
            if arg == "--" {
                out.positional.extend(it.by_ref().cloned());
                break;
            }
            if let Some(flag) = arg.strip_prefix("--") {
                let (name, inline) = match flag.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (flag, None),
                };
                if valued.contains(&name) {
                    let v = match inline {
                        Some(v) => v,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| Error::usage(format!("--{name} needs a value")))?,
                    };
                    out.values.insert(name.to_string(), v);
                } else if switches.contains(&name) && inline.is_none() {
                    out.switches.push(name.to_string());
                } else {
                    let hint = closest(name, valued.iter().chain(switches))
                        .map(|c| format!(" (did you mean --{c}?)"))
                        .unwrap_or_default();
                    return Err(Error::usage(format!("unknown option --{name}{hint}")));
                }
            } else {
                out.positional.push(arg.clone());
            }
        }
        Ok(out)
    }

    /// The raw value of `--name`, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `--name` parsed as `T`, if given.
    pub fn parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::usage(format!("--{name}: cannot parse {v:?}"))),
        }
    }

    /// The names of the options given: those with values (by name), then
    /// the switches (in order).
    pub fn given(&self) -> impl Iterator<Item = &str> {
        self.values
            .keys()
            .map(String::as_str)
            .chain(self.switches.iter().map(String::as_str))
    }

    /// True when the boolean `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

/// The known name nearest to `name` by edit distance, if it is near
/// enough to be a slip (at most a third of its length, at least 1).
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance (insertions, deletions, substitutions) by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_options_suggest_the_nearest() {
        let argv = vec!["--epoch".to_string(), "3".to_string()];
        let e = Args::parse(&argv, &["epochs", "seed"], &["quiet"]).unwrap_err();
        assert!(e.to_string().contains("did you mean --epochs?"), "{e}");
        let argv = vec!["--zzzzzz".to_string()];
        let e = Args::parse(&argv, &["epochs"], &["quiet"]).unwrap_err();
        assert_eq!(e.to_string(), "unknown option --zzzzzz");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_values_switches_and_positionals() {
        let a = Args::parse(
            &s(&["x", "--batch-size", "8", "--quiet", "--model=m", "y"]),
            &["batch-size", "model"],
            &["quiet"],
        )
        .unwrap();
        assert_eq!(a.parsed::<usize>("batch-size").unwrap(), Some(8));
        assert_eq!(a.value("model"), Some("m"));
        assert!(a.switch("quiet"));
        assert_eq!(a.positional, s(&["x", "y"]));
    }

    #[test]
    fn rejects_unknown_and_missing() {
        assert!(Args::parse(&s(&["--nope"]), &[], &[]).is_err());
        assert!(Args::parse(&s(&["--model"]), &["model"], &[]).is_err());
        let a = Args::parse(&s(&["--n", "x"]), &["n"], &[]).unwrap();
        assert!(a.parsed::<usize>("n").is_err());
    }
}
