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
                            .ok_or_else(|| Error::msg(format!("--{name} needs a value")))?,
                    };
                    out.values.insert(name.to_string(), v);
                } else if switches.contains(&name) && inline.is_none() {
                    out.switches.push(name.to_string());
                } else {
                    return Err(Error::msg(format!("unknown option --{name}")));
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
                .map_err(|_| Error::msg(format!("--{name}: cannot parse {v:?}"))),
        }
    }

    /// True when the boolean `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
