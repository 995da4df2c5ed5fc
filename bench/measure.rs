//! Runs one command and measures it, for bench/run.py.
//!
//!     measure TIMEOUT_SECONDS COMMAND [ARG...]
//!
//! Prints `WALL_NANOSECONDS MAX_RSS_KIB EXIT_CODE TIMED_OUT(0|1) CPU_NANOSECONDS` on stdout
//! (CPU = user + system time of the command and the children it waited for). The command's
//! stdout goes to /dev/null and its stderr is inherited. After TIMEOUT_SECONDS its process
//! group is killed.
//!
//! Why not time the child from Python: Linux's peak RSS of a process (ru_maxrss) includes
//! the memory of the process it was forked from, up to the exec, so a child forked from the
//! benchmark's Python process would carry Python's peak memory in its own. This launcher is
//! a few hundred KiB. Built by install-peers.sh with `rustc -O` (no dependencies).

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: measure TIMEOUT_SECONDS COMMAND [ARG...]");
        return ExitCode::from(2);
    }
    let timeout: f64 = match args[1].parse() {
        Ok(t) => t,
        Err(_) => {
            eprintln!("measure: bad timeout {}", args[1]);
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let child = match Command::new(&args[2])
        .args(&args[3..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("measure: cannot run {}: {e}", args[2]);
            return ExitCode::from(2);
        }
    };
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        // Killed (true) unless the main thread says the child is done first.
        if rx.recv_timeout(Duration::from_secs_f64(timeout)).is_err() {
            unsafe { kill(-pid, 9) };
            return true;
        }
        false
    });
    let mut status = 0i32;
    let mut usage = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        maxrss: 0,
        rest: [0; 13],
    };
    let r = unsafe { wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    let _ = tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    if r != pid {
        eprintln!("measure: wait4 failed");
        return ExitCode::from(2);
    }
    // Exit code, or 128 + signal like a shell.
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    };
    let cpu_ns = (usage.utime[0] + usage.stime[0]) as i128 * 1_000_000_000
        + (usage.utime[1] + usage.stime[1]) as i128 * 1_000;
    println!(
        "{} {} {} {} {}",
        wall.as_nanos(),
        usage.maxrss,
        code,
        u8::from(timed_out),
        cpu_ns
    );
    std::mem::forget(child);
    ExitCode::SUCCESS
}
