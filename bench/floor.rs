//! The floor of the benchmark: the least any tool must do for a run, with none of the work.
//!
//!     floor INPUT_DIR OUTPUT_DIR FILES BYTES
//!
//! Reads every file in INPUT_DIR into memory, then creates OUTPUT_DIR and writes BYTES bytes
//! into FILES files there (the input repeated), as kumoc's build writes its output. bench/run.py
//! passes the number of files and bytes that `kumoc build` wrote for the same input. Built by
//! install-peers.sh with `rustc -O` (no dependencies).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: floor INPUT_DIR OUTPUT_DIR FILES BYTES");
        return ExitCode::from(2);
    }
    match run(Path::new(&args[1]), Path::new(&args[2]), &args[3], &args[4]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    input: &Path,
    output: &Path,
    files: &str,
    bytes: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let files: usize = files.parse()?;
    let bytes: usize = bytes.parse()?;
    let mut data = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(input)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        if entry.file_type()?.is_file() {
            data.extend(fs::read(entry.path())?);
        }
    }
    if data.is_empty() {
        data.push(b'\n');
    }
    fs::create_dir_all(output)?;
    let files = files.max(1);
    for k in 0..files {
        let share = bytes / files + usize::from(k < bytes % files);
        let mut out = std::io::BufWriter::new(fs::File::create(output.join(format!("out{k}")))?);
        let mut left = share;
        while left > 0 {
            let n = left.min(data.len());
            out.write_all(&data[..n])?;
            left -= n;
        }
        out.flush()?;
    }
    Ok(())
}
