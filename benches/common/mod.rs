//! What the bench commands share: the release `patgate` binary run on a
//! config file, token issuing through the CLI, and a server process that is
//! killed when dropped (also when a bench panics).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The server binary: this build's, or `BENCH_PATGATE_BIN` (to compare
/// builds in interleaved runs).
pub fn binary() -> String {
    std::env::var("BENCH_PATGATE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_patgate").into())
}

/// `patgate --config <config>`, logging warnings only.
pub fn patgate(config: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--config").arg(config).env("PATGATE_LOG", "warn");
    cmd
}

/// Issues a PAT of `bench` named `name` with scope `read`; the raw token.
pub fn issue(config: &Path, name: &str) -> String {
    let out = patgate(config)
        .args([
            "admin", "token", "issue", "--owner", "bench", "--name", name, "--scope", "read",
        ])
        .output()
        .expect("patgate admin token issue runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A running `patgate serve`; killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `patgate serve` (on CPU 0 with `taskset` when `pin` and taskset is
/// there) and waits for its listening line; the server and its base URL.
#[allow(dead_code)]
pub fn start(config: &Path, pin: bool) -> (Server, String) {
    start_with(config, pin, &[], "warn")
}

/// [`start`] with more `serve` arguments (e.g. `--workers 1`) and the log
/// filter `log` (`info` writes the access log, as a default server does).
pub fn start_with(config: &Path, pin: bool, serve_args: &[&str], log: &str) -> (Server, String) {
    let pinned = pin && Command::new("taskset").arg("--version").output().is_ok();
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(binary());
        c.arg("--config").arg(config);
        c
    } else {
        patgate(config)
    };
    cmd.env("PATGATE_LOG", log);
    let mut child = cmd
        .arg("serve")
        .args(serve_args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("patgate serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let server = Server(child);
    let base = loop {
        let line = lines.next().expect("server output").expect("readable");
        if let Some(rest) = line.strip_prefix("patgate listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Warnings and errors of the server reach the bench's stderr.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("server: {line}");
            }
        }
    });
    (server, base)
}

/// (VmRSS, VmHWM) of `pid` in MiB.
pub fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}
