//! The real `patgate` binary as a child process.

use super::{base_config, TestDb};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Writes a config file for `db` (listening on a free port) and returns its path.
pub fn write_config(db: &TestDb, extra: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let mut t = base_config(db);
    t.insert("listen".into(), "127.0.0.1:0".into());
    extra(&mut t);
    let path = db
        .dir
        .path()
        .join(format!("patgate-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, toml::to_string(&t).unwrap()).unwrap();
    path
}

/// A `patgate` command with `config` and no inherited `PATGATE_*` settings.
pub fn command(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patgate"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PATGATE_")) {
        cmd.env_remove(k);
    }
    cmd.arg("--config").arg(config).env("PATGATE_LOG", "warn");
    cmd
}

/// Asserts `out` succeeded and returns its stdout.
pub fn succeeded(out: Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `patgate <args>` to completion.
pub fn run(config: &Path, args: &[&str]) -> Output {
    command(config).args(args).output().expect("patgate runs")
}

/// Issues a personal token named `name` for `owner` with the operator
/// command; the raw token.
pub fn issue_pat(config: &Path, owner: &str, name: &str) -> String {
    succeeded(run(
        config,
        &["admin", "token", "issue", "--owner", owner, "--name", name],
    ))
    .trim()
    .to_string()
}

/// A `patgate serve` child process; killed on drop.
pub struct PatgateProcess {
    child: Child,
    /// `http://127.0.0.1:port`.
    pub base: url::Url,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

fn collect(
    pipe: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
    tx: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let (Some(tx), Some(addr)) = (&tx, line.strip_prefix("patgate listening on ")) {
                let _ = tx.send(
                    addr.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
}

impl PatgateProcess {
    /// Starts `patgate serve` and waits for its listening line.
    pub fn spawn(config: &Path) -> PatgateProcess {
        Self::spawn_with_log(config, "warn")
    }

    /// Same as `spawn`; named for tests that read what it prints.
    pub fn spawn_capturing(config: &Path) -> PatgateProcess {
        Self::spawn_with_log(config, "warn")
    }

    /// Starts `patgate serve` logging at `level`.
    pub fn spawn_with_log(config: &Path, level: &str) -> PatgateProcess {
        Self::spawn_with_env(config, &[("PATGATE_LOG", level)])
    }

    /// Starts `patgate serve` with these environment variables.
    pub fn spawn_with_env(config: &Path, env: &[(&str, &str)]) -> PatgateProcess {
        let mut cmd = command(config);
        cmd.envs(env.iter().copied());
        Self::spawn_command(cmd)
    }

    /// `patgate serve` with at most `files` open descriptors (soft and
    /// hard limit, as `ulimit -n` would set them).
    pub fn spawn_with_open_files(config: &Path, files: u64) -> PatgateProcess {
        use std::os::unix::process::CommandExt;
        let mut cmd = command(config);
        let limit = libc::rlimit {
            rlim_cur: files,
            rlim_max: files,
        };
        // SAFETY: setrlimit is async-signal-safe and reads only `limit`.
        unsafe {
            cmd.pre_exec(move || match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            });
        }
        Self::spawn_command(cmd)
    }

    /// `cmd serve`, waiting for its address.
    fn spawn_command(mut cmd: Command) -> PatgateProcess {
        let mut child = cmd
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("patgate serve starts");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let (tx, rx) = mpsc::channel();
        collect(child.stdout.take().unwrap(), Arc::clone(&stdout), None);
        collect(child.stderr.take().unwrap(), Arc::clone(&stderr), Some(tx));
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("patgate serve did not start: {}", stderr.lock().unwrap());
        };
        PatgateProcess {
            child,
            base: url::Url::parse(&addr).unwrap(),
            stdout,
            stderr,
        }
    }

    /// What the process printed on stdout so far.
    pub fn stdout_text(&self) -> String {
        // Lines printed before the listening line may still be in the pipe.
        std::thread::sleep(Duration::from_millis(300));
        self.stdout.lock().unwrap().clone()
    }

    /// The descriptors the process has open now.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map_or(0, |d| d.count())
    }

    /// Stops the process (SIGTERM, so it writes the log lines it holds;
    /// SIGKILL after 10 s) and returns everything it logged.
    pub fn stop_and_logs(&mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        self.stderr.lock().unwrap().clone()
    }

    /// Asks the process to stop (SIGTERM) and waits until it has.
    pub fn terminate(self) {
        self.signal("TERM");
    }

    /// Sends `SIG<name>` (`TERM`, `INT`, `HUP`) and waits until the
    /// process has exited 0, as a graceful stop does.
    pub fn signal(mut self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([format!("-{name}").as_str(), &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let status = self.child.wait().expect("patgate exits");
        assert!(
            status.success(),
            "SIG{name}: a graceful stop exits 0, got {status}"
        );
    }

    /// Stops the process and waits for it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PatgateProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
