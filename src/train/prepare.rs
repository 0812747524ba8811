//! The conversion behind `minilm prepare-data`: the raw files that
//! `data/fetch.sh` unpacks into `data/raw/` become JSON Lines files
//! (`{"text": ..., "label": ...}` per line) in `data/`.
//!
//! - Task A, Reuters R8 (Orange `.tab`): the published train/test split,
//!   labels as they are.
//! - Task B, Rotten Tomatoes (CSV): `plot` rows (film synopses) dropped,
//!   `fresh` -> `positive`, `rotten` -> `negative`, split by film with a
//!   fixed seed (80/10/10 of the films) so that no film is in two splits.
//! - Out-of-domain sentiment, UCI Amazon/IMDB/Yelp (JSON arrays): class 0 ->
//!   `negative`, 1 -> `positive`, the trailing empty record skipped.
//!
//! With checking on, the counts are compared with the published facts and a
//! mismatch is an error.

use crate::error::{Error, Result};
use crate::train::data::{self, parse_csv, Dataset, Example, Format, ReadOptions};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Raw file names inside the raw folder.
pub const R8_TRAIN_RAW: &str = "reuters-r8-train.tab";
pub const R8_TEST_RAW: &str = "reuters-r8-test.tab";
pub const RT_RAW: &str = "rotten_tomatoes_corpus_full.csv";
pub const UCI_RAW: [&str; 3] = ["amazon.json", "imdb.json", "yelp.json"];

/// The eight R8 topics.
pub const R8_LABELS: [&str; 8] = [
    "acq", "crude", "earn", "grain", "interest", "money-fx", "ship", "trade",
];
/// Published R8 (ModApte) counts per label: (label, train, test).
pub const R8_COUNTS: [(&str, usize, usize); 8] = [
    ("earn", 2840, 1083),
    ("acq", 1596, 696),
    ("crude", 253, 121),
    ("trade", 251, 75),
    ("money-fx", 206, 87),
    ("interest", 190, 81),
    ("ship", 108, 36),
    ("grain", 41, 10),
];
/// Rotten Tomatoes facts: fresh and rotten snippets, plot rows, films.
pub const RT_FRESH: usize = 7403;
pub const RT_ROTTEN: usize = 5405;
pub const RT_PLOT: usize = 1097;
pub const RT_FILMS: usize = 508;
/// UCI files: 500 negative and 500 positive each.
pub const UCI_PER_CLASS: usize = 500;

/// The seed of the Rotten Tomatoes film split. With it the positive share of
/// each split (57.6% train, 57.6% validation, 59.3% test) stays within two
/// points of the whole corpus (57.8%).
pub const RT_SPLIT_SEED: u64 = 42;
/// Fractions of the films in train and validation; test gets the rest.
pub const RT_TRAIN_FRACTION: f64 = 0.8;
pub const RT_VALIDATION_FRACTION: f64 = 0.1;

pub const SENTIMENT_LABELS: [&str; 2] = ["negative", "positive"];

/// One Rotten Tomatoes review snippet and its film.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilmExample {
    pub film: String,
    pub example: Example,
}

/// The reviews of the Rotten Tomatoes CSV, `plot` rows removed.
#[derive(Debug, Clone, Default)]
pub struct RtCorpus {
    pub rows: Vec<FilmExample>,
    pub plot_dropped: usize,
}

/// Train, validation and test of a split by film, with the films of each.
#[derive(Debug, Clone, Default)]
pub struct FilmSplit {
    pub train: Dataset,
    pub validation: Dataset,
    pub test: Dataset,
    pub films: [Vec<String>; 3],
}

fn labels_of(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Read one R8 `.tab` file (labels restricted to the eight topics).
pub fn read_r8(path: &Path) -> Result<Dataset> {
    let opts = ReadOptions::default()
        .format(Format::OrangeTab)
        .labels(&R8_LABELS);
    data::read(path, &opts)
}

/// Read the Rotten Tomatoes CSV (header
/// `category,text,movie_name,has_plot_and_reviews`): `plot` rows dropped,
/// `fresh` -> `positive`, `rotten` -> `negative`; any other category, an
/// empty text or an empty film name is an error naming the line.
pub fn read_rt(path: &Path) -> Result<RtCorpus> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_rt(path, &bytes)
}

/// [`read_rt`] on bytes already in memory; `path` names them in messages.
pub fn parse_rt(path: &Path, bytes: &[u8]) -> Result<RtCorpus> {
    let text = data::decode(path, bytes)?;
    let mut records = parse_csv(path, text)?.into_iter();
    let header = records
        .next()
        .ok_or_else(|| Error::file(path, "empty file (expected a header row)"))?;
    let col = |name: &str| {
        header
            .fields
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                Error::line(
                    path,
                    header.line,
                    format!(
                        "missing column {name:?} in the header (columns: {})",
                        header.fields.join(", ")
                    ),
                )
            })
    };
    let (ci, ti, fi) = (col("category")?, col("text")?, col("movie_name")?);
    let width = header.fields.len();
    let mut corpus = RtCorpus::default();
    for rec in records {
        rec.check_width(path, width)?;
        let label = match rec.fields[ci].trim() {
            "plot" => {
                corpus.plot_dropped += 1;
                continue;
            }
            "fresh" => "positive",
            "rotten" => "negative",
            other => {
                return Err(Error::line(
                    path,
                    rec.line,
                    format!("unknown category {other:?} (expected fresh, rotten or plot)"),
                ))
            }
        };
        let text = rec.fields[ti].clone();
        if text.trim().is_empty() {
            return Err(Error::line(path, rec.line, "empty text"));
        }
        let film = rec.fields[fi].trim().to_string();
        if film.is_empty() {
            return Err(Error::line(path, rec.line, "empty movie_name"));
        }
        corpus.rows.push(FilmExample {
            film,
            example: Example::new(text, label),
        });
    }
    Ok(corpus)
}

/// Split by film: the distinct films, sorted, are shuffled with `seed`; the
/// first `train_fraction` of them (rounded) go to train, the next
/// `validation_fraction` to validation, the rest to test. Every review
/// follows its film, so no film is in two splits. Rows keep their order.
pub fn split_by_film(
    rows: &[FilmExample],
    train_fraction: f64,
    validation_fraction: f64,
    seed: u64,
) -> Result<FilmSplit> {
    let ok = |f: f64| (0.0..=1.0).contains(&f);
    if !ok(train_fraction) || !ok(validation_fraction) || train_fraction + validation_fraction > 1.0
    {
        return Err(Error::msg(format!(
            "bad split fractions: train {train_fraction}, validation {validation_fraction} (each in [0, 1], sum at most 1)"
        )));
    }
    let films: BTreeSet<&str> = rows.iter().map(|r| r.film.as_str()).collect();
    let mut films: Vec<&str> = films.into_iter().collect();
    films.shuffle(&mut StdRng::seed_from_u64(seed));
    let n = films.len();
    let n_train = ((train_fraction * n as f64).round() as usize).min(n);
    let n_val = ((validation_fraction * n as f64).round() as usize).min(n - n_train);
    let mut part: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, f) in films.iter().enumerate() {
        part.insert(
            f,
            if i < n_train {
                0
            } else if i < n_train + n_val {
                1
            } else {
                2
            },
        );
    }
    let mut out: [Vec<Example>; 3] = Default::default();
    for r in rows {
        out[part[r.film.as_str()]].push(r.example.clone());
    }
    let mut film_lists: [Vec<String>; 3] = Default::default();
    for (f, p) in &part {
        film_lists[*p].push(f.to_string());
    }
    let labels = labels_of(&SENTIMENT_LABELS);
    let [a, b, c] = out;
    Ok(FilmSplit {
        train: Dataset::with_labels(a, &labels)?,
        validation: Dataset::with_labels(b, &labels)?,
        test: Dataset::with_labels(c, &labels)?,
        films: film_lists,
    })
}

/// Read one UCI sentiment file (JSON array of `{"text", "class"}`), class 0 ->
/// `negative`, 1 -> `positive`, a trailing empty record skipped.
pub fn read_uci(path: &Path) -> Result<Dataset> {
    let opts = ReadOptions::default()
        .format(Format::JsonArray)
        .fields("text", "class")
        .labels(&["0", "1"])
        .skip_trailing_empty(true);
    let d = data::read(path, &opts)?;
    let examples = d
        .examples
        .into_iter()
        .map(|e| {
            let label = if e.label == "0" {
                "negative"
            } else {
                "positive"
            };
            Example {
                text: e.text,
                label: label.to_string(),
            }
        })
        .collect();
    Dataset::with_labels(examples, &labels_of(&SENTIMENT_LABELS))
}

/// Compare a dataset's per-label counts with `expected`; `what` names it.
pub fn check_counts(what: &str, d: &Dataset, expected: &[(&str, usize)]) -> Result<()> {
    let got: BTreeMap<String, usize> = d
        .label_counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    let want: BTreeMap<String, usize> = expected.iter().map(|(l, n)| (l.to_string(), *n)).collect();
    if got != want {
        let fmt = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(l, n)| format!("{l} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Error::msg(format!(
            "{what}: label counts {} do not match the published {}",
            fmt(&got),
            fmt(&want)
        )));
    }
    Ok(())
}

/// What `prepare` wrote.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Output path and its dataset, in the order written.
    pub outputs: Vec<(PathBuf, Dataset)>,
    /// Extra facts worth printing (plot rows dropped, films per split, ...).
    pub notes: Vec<String>,
}

/// Convert everything in `raw` into JSON Lines files in `out` (created if
/// needed). `seed` drives the Rotten Tomatoes film split. With `check`, the
/// counts must match the published ones.
pub fn prepare(raw: &Path, out: &Path, seed: u64, check: bool) -> Result<Report> {
    fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut report = Report::default();

    // Task A: Reuters R8, published split.
    let r8_train = read_r8(&raw.join(R8_TRAIN_RAW))?;
    let r8_test = read_r8(&raw.join(R8_TEST_RAW))?;
    if check {
        let train: Vec<(&str, usize)> = R8_COUNTS.iter().map(|&(l, a, _)| (l, a)).collect();
        let test: Vec<(&str, usize)> = R8_COUNTS.iter().map(|&(l, _, b)| (l, b)).collect();
        check_counts("R8 train", &r8_train, &train)?;
        check_counts("R8 test", &r8_test, &test)?;
    }

    // Task B: Rotten Tomatoes, split by film.
    let rt = read_rt(&raw.join(RT_RAW))?;
    let split = split_by_film(&rt.rows, RT_TRAIN_FRACTION, RT_VALIDATION_FRACTION, seed)?;
    let n_films: usize = split.films.iter().map(Vec::len).sum();
    if check {
        let all = Dataset::new(rt.rows.iter().map(|r| r.example.clone()).collect());
        check_counts(
            "Rotten Tomatoes (all splits)",
            &all,
            &[("positive", RT_FRESH), ("negative", RT_ROTTEN)],
        )?;
        if rt.plot_dropped != RT_PLOT {
            return Err(Error::msg(format!(
                "Rotten Tomatoes: {} plot rows, expected {RT_PLOT}",
                rt.plot_dropped
            )));
        }
        if n_films != RT_FILMS {
            return Err(Error::msg(format!(
                "Rotten Tomatoes: {n_films} films with reviews, expected {RT_FILMS}"
            )));
        }
    }
    report.notes.push(format!(
        "Rotten Tomatoes: {} plot rows dropped; {} films split {}/{}/{} (train/validation/test) with seed {seed}",
        rt.plot_dropped,
        n_films,
        split.films[0].len(),
        split.films[1].len(),
        split.films[2].len()
    ));

    // Out-of-domain sentiment.
    let mut uci = Vec::new();
    for name in UCI_RAW {
        let d = read_uci(&raw.join(name))?;
        if check {
            check_counts(
                name,
                &d,
                &[("negative", UCI_PER_CLASS), ("positive", UCI_PER_CLASS)],
            )?;
        }
        uci.push((name.trim_end_matches(".json").to_string() + ".jsonl", d));
    }

    // Everything read and checked: write.
    let mut outputs: Vec<(String, Dataset)> = vec![
        ("r8-train.jsonl".into(), r8_train),
        ("r8-test.jsonl".into(), r8_test),
        ("rt-train.jsonl".into(), split.train),
        ("rt-validation.jsonl".into(), split.validation),
        ("rt-test.jsonl".into(), split.test),
    ];
    outputs.extend(uci);
    for (name, d) in outputs {
        let path = out.join(name);
        data::write_jsonl(&path, &d.examples)?;
        report.outputs.push((path, d));
    }
    Ok(report)
}
