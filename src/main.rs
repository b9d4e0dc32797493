//! The `lensbot` executable: parse the command line, run it, report errors plainly.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match lensbot::cli::parse(&args) {
        Err(e) => {
            eprintln!("lensbot: {e}");
            2
        }
        Ok(cmd) => match lensbot::cli::run(cmd) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("lensbot: {e}");
                1
            }
        },
    };
    std::process::exit(code);
}
