//! `minilm`: dispatch to one subcommand (the list is [`cli::commands`]).

use minilm::cli;

/// `minilm --help`: every command this build has, from their tables.
fn usage() -> String {
    let mut s = String::from("usage: minilm <command> [options]   (minilm <command> --help for its options)\n\ncommands:\n");
    for c in cli::commands() {
        let spec = (c.spec)();
        s.push_str(&format!("  {:<13}{}\n", spec.name, spec.summary));
    }
    s.push_str("\n  --version    the version\n");
    s
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprint!("{}", usage());
        std::process::exit(2);
    };
    let rest = &argv[1..];
    let result = match cmd.as_str() {
        "-h" | "--help" | "help" => {
            print!("{}", usage());
            Ok(())
        }
        "-V" | "--version" => {
            println!("minilm {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        name => match cli::commands()
            .into_iter()
            .find(|c| (c.spec)().name == name)
        {
            Some(c) => (c.run)(rest),
            None => Err(minilm::Error::usage(format!(
                "unknown command {name:?}\n{}",
                usage()
            ))),
        },
    };
    if let Err(e) = result {
        eprintln!("minilm: {e}");
        // 2 for a wrong command line (as for no command at all), 1 otherwise.
        let usage = e.kind() == minilm::error::ErrorKind::Usage;
        std::process::exit(if usage { 2 } else { 1 });
    }
}
