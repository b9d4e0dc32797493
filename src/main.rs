//! The `lensbot` executable: parse the command line, run it, report errors plainly.

fn main() {
    let code = match lensbot::cli::parse(std::env::args_os()) {
        // Help and version print to standard output (code 0), mistakes to standard error
        // with a suggestion (code 2).
        Err(e) => e.exit(),
        Ok(cli) => match lensbot::cli::run_cli(cli) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("lensbot: {e}");
                1
            }
        },
    };
    std::process::exit(code);
}
