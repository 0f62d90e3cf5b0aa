//! What the bench commands share: the release `patgate` binary run on a
//! config file, token issuing through the CLI, and a server process that is
//! killed when dropped (also when a bench panics).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `patgate --config <config>`, logging warnings only.
pub fn patgate(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patgate"));
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
pub fn start(config: &Path, pin: bool) -> (Server, String) {
    let pinned = pin && Command::new("taskset").arg("--version").output().is_ok();
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(env!("CARGO_BIN_EXE_patgate"));
        c.arg("--config").arg(config).env("PATGATE_LOG", "warn");
        c
    } else {
        patgate(config)
    };
    let mut child = cmd
        .arg("serve")
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
    std::thread::spawn(move || lines.for_each(drop));
    (server, base)
}
