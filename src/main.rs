use clap::Parser;

fn main() {
    let cli = rdiff::cli::Cli::parse();
    let code = match rdiff::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rdiff: {e}");
            2
        }
    };
    std::process::exit(code);
}
