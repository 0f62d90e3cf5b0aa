//! PostgreSQL processes a test starts itself (issue #22): clusters made by
//! `initdb` (a primary, a `pg_basebackup -R` standby) and a PgBouncer in
//! transaction mode, each on its own loopback port, run as an unprivileged
//! user (PostgreSQL refuses root) and stopped when the test ends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts PostgreSQL 15's server programs.
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// `program` under `PG_BIN`, or on the `PATH` (pgbouncer).
fn program(name: &str) -> Option<PathBuf> {
    let under_bin = Path::new(PG_BIN).join(name);
    if under_bin.exists() {
        return Some(under_bin);
    }
    ["/usr/sbin", "/usr/bin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

/// Whether `names` are all installed; otherwise a printed notice (and a
/// failure under `CI=true`).
pub fn installed(names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| program(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let _ = writeln!(
        std::io::stderr(),
        "\nnotice: {} not installed: a test that starts its own PostgreSQL processes is skipped\n",
        missing.join(", ")
    );
    super::not_in_ci(&format!("{} not installed", missing.join(", ")));
    false
}

/// `name` run as `nobody` when this process is root (PostgreSQL and
/// PgBouncer refuse to run as root), as this user otherwise.
fn unprivileged(name: &str) -> Command {
    let path = program(name).unwrap_or_else(|| panic!("{name} is not installed"));
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

/// Whether this process runs as root.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A directory the unprivileged user owns.
fn owned_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("pg").tempdir().unwrap();
    if is_root() {
        let nobody = 65534;
        std::os::unix::fs::chown(dir.path(), Some(nobody), Some(nobody)).unwrap();
    }
    dir
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ran(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until something accepts connections on `port`.
fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One PostgreSQL cluster of a test's own: trust auth, user `postgres`.
pub struct PgCluster {
    dir: tempfile::TempDir,
    /// Its loopback port.
    pub port: u16,
}

impl PgCluster {
    /// A new primary, ready for streaming standbys, with `settings` lines
    /// added to its `postgresql.conf` (e.g. `max_connections = 20`).
    pub fn primary(settings: &[&str]) -> PgCluster {
        let cluster = PgCluster {
            dir: owned_dir(),
            port: free_port(),
        };
        let mut init = unprivileged("initdb");
        init.args(["-U", "postgres", "-A", "trust", "--no-sync", "-D"])
            .arg(cluster.data());
        ran(init, "initdb");
        cluster.configure(settings);
        cluster.start();
        cluster
    }

    /// A streaming standby of `primary` (`pg_basebackup -R`), started.
    pub fn standby_of(primary: &PgCluster) -> PgCluster {
        let cluster = PgCluster {
            dir: owned_dir(),
            port: free_port(),
        };
        let mut backup = unprivileged("pg_basebackup");
        backup
            .args(["-h", "127.0.0.1", "-U", "postgres", "-R", "-X", "stream"])
            .args(["-p", &primary.port.to_string(), "-D"])
            .arg(cluster.data());
        ran(backup, "pg_basebackup");
        cluster.configure(&[]);
        cluster.start();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn configure(&self, settings: &[&str]) {
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data().join("postgresql.conf"))
            .unwrap();
        let socket = self.dir.path().display();
        writeln!(
            conf,
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{socket}'\n\
             wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n\
             synchronous_commit = on\nlogging_collector = off\n{}",
            self.port,
            settings.join("\n")
        )
        .unwrap();
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = unprivileged("pg_ctl");
        c.arg("-D").arg(self.data()).args(args);
        c.stdout(Stdio::null());
        c
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let log = self.dir.path().join("server.log");
        let mut c = self.pg_ctl(&["-w", "-t", "60", "start", "-l"]);
        c.arg(&log);
        ran(c, "pg_ctl start");
        wait_for_port(self.port, "PostgreSQL");
    }

    /// Stops the server at once, as a crash would (`-m immediate`).
    pub fn crash(&self) {
        ran(self.pg_ctl(&["-m", "immediate", "stop"]), "pg_ctl stop");
    }

    /// Promotes a standby to primary and waits for it.
    pub fn promote(&self) {
        ran(self.pg_ctl(&["-w", "promote"]), "pg_ctl promote");
    }

    /// `postgres://postgres@127.0.0.1:port/postgres`.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]).output();
    }
}

/// A PgBouncer in transaction mode before the suite's PostgreSQL, with
/// two server connections per database, so clients share them. It stops
/// within a second of being dropped (its directory goes, and its watcher
/// with it).
pub struct Bouncer {
    _dir: tempfile::TempDir,
    /// Its loopback port.
    pub port: u16,
    _watcher: std::process::Child,
}

impl Bouncer {
    /// Starts PgBouncer on a free port, in front of `server_port`.
    pub fn start(server_port: u16) -> Bouncer {
        let dir = owned_dir();
        let port = free_port();
        let users = dir.path().join("users.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n").unwrap();
        let ini = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n* = host=127.0.0.1 port={server_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {}\npool_mode = transaction\n\
                 default_pool_size = 2\nmax_client_conn = 2000\nmax_db_connections = 2\n\
                 server_lifetime = 3600\nlog_connections = 0\nlog_disconnections = 0\n",
                users.display()
            ),
        )
        .unwrap();
        // Started by a watcher that stops it once this process or its
        // directory is gone, so a test binary killed half way leaves no
        // PgBouncer behind.
        let mut c = unprivileged("sh");
        let bouncer = program("pgbouncer").expect("pgbouncer is installed");
        c.arg("-c")
            .arg(
                "\"$1\" \"$2\" & b=$!; while [ -d /proc/$3 ] && [ -e \"$2\" ] && kill -0 $b 2>/dev/null; do sleep 1; done; kill $b 2>/dev/null",
            )
            .arg("watch")
            .arg(bouncer)
            .arg(&ini)
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let watcher = c.spawn().expect("start pgbouncer");
        wait_for_port(port, "PgBouncer");
        Bouncer {
            _dir: dir,
            port,
            _watcher: watcher,
        }
    }
}
