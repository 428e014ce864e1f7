//! A private PostgreSQL server for tests (feature `test-support`).
//!
//! Debian installs `initdb` and `postgres` in `/usr/lib/postgresql/<v>/bin`,
//! off PATH, and both refuse to run as root, which tests and CI are. So,
//! as root, the server's temp dir is chowned to the `postgres` user and the
//! binaries run with that uid (as any other user, they run as that user). The server listens on 127.0.0.1 on a free port, with its
//! Unix socket in the temp dir (never `/var/run/postgresql`), trusts local
//! connections (`initdb -A trust -U postgres`), and is stopped and deleted
//! on drop. [`TestPostgres::restart`] stops it (fast shutdown) and starts it
//! again on the same port and data, for the "PostgreSQL restarted
//! mid-crawl" tests; [`TestPostgres::stop`] and
//! [`TestPostgres::start_again`] do it in two steps, for an outage a test
//! watches. [`TestPostgres::start_also_on`] also listens on an address of
//! a network namespace's veth pair the test made (and trusts its /24), for
//! the "machine cut off from the database" test.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for [`TestPostgres::start_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct TestPostgresOptions {
    /// `fsync` and `synchronous_commit`. Off makes tests faster; keep it on
    /// where a test restarts the server and checks durability, and in
    /// measurements.
    pub durable: bool,
}

/// A running PostgreSQL server owned by a test.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The `postgres` user's (uid, gid) when running as root; `None`
    /// when the tests already run as an ordinary user, who can run the
    /// server as itself.
    run_as: Option<(u32, u32)>,
    options: TestPostgresOptions,
    /// Listened on besides 127.0.0.1 ([`TestPostgres::start_also_on`]).
    also_on: Option<Ipv4Addr>,
    child: Option<Child>,
}

impl TestPostgres {
    /// Initializes and starts a server with default options.
    pub fn start() -> io::Result<Self> {
        Self::start_with(TestPostgresOptions::default())
    }

    /// Initializes a data directory and starts a server on it.
    pub fn start_with(options: TestPostgresOptions) -> io::Result<Self> {
        Self::start_inner(options, None)
    }

    /// [`TestPostgres::start_with`], also listening on `addr` (besides
    /// 127.0.0.1) and trusting clients of its /24: the host side of a
    /// veth pair the test created, which must exist before the call.
    pub fn start_also_on(options: TestPostgresOptions, addr: Ipv4Addr) -> io::Result<Self> {
        Self::start_inner(options, Some(addr))
    }

    fn start_inner(options: TestPostgresOptions, also_on: Option<Ipv4Addr>) -> io::Result<Self> {
        let bin = find_bin_dir()?;
        let run_as = if running_as_root()? { Some(postgres_user()?) } else { None };
        let dir = tempfile::Builder::new().prefix("trawl-pg-").tempdir()?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let port = free_port()?;
        let mut pg = Self { dir, bin, port, run_as, options, also_on, child: None };
        let out = pg
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
            .arg(pg.data_dir())
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        if let Some(addr) = also_on {
            let [a, b, c, _] = addr.octets();
            let mut hba = File::options().append(true).open(pg.data_dir().join("pg_hba.conf"))?;
            std::io::Write::write_all(
                &mut hba,
                format!("host all all {a}.{b}.{c}.0/24 trust\n").as_bytes(),
            )?;
        }
        pg.launch()?;
        Ok(pg)
    }

    /// A connection URL for the `postgres` database (TCP on 127.0.0.1).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A connection URL for the `postgres` database on `addr` (one of the
    /// addresses it listens on, see [`TestPostgres::start_also_on`]).
    pub fn url_on(&self, addr: Ipv4Addr) -> String {
        format!("postgres://postgres@{addr}:{}/postgres", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's pid, while it runs (to read its backends' CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// Stops the server (fast shutdown: clients are disconnected, committed
    /// data is kept).
    pub fn stop(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let status = self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(self.data_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            child.kill()?;
        }
        child.wait()?;
        Ok(())
    }

    /// Stops the server and starts it again on the same port and data.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.launch()
    }

    /// Starts a server [`stop`](Self::stop)ped before again, on the same
    /// port and data; does nothing if it runs.
    pub fn start_again(&mut self) -> io::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        self.launch()
    }

    /// Whether the server runs (not stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command for one of the server's binaries, run as `postgres`.
    fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(name));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn launch(&mut self) -> io::Result<()> {
        let log =
            File::options().create(true).append(true).open(self.dir.path().join("postgres.log"))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(self.dir.path().join("postgres.log"), Some(uid), Some(gid))?;
        }
        let durable = if self.options.durable { "on" } else { "off" };
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .arg("-c")
            .arg(match self.also_on {
                Some(addr) => format!("listen_addresses=127.0.0.1,{addr}"),
                None => "listen_addresses=127.0.0.1".to_owned(),
            })
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            .args(["-c", &format!("fsync={durable}")])
            .args(["-c", &format!("synchronous_commit={durable}")])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=100"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until the server accepts connections (pg_isready), or fails
    /// with its log if it exited or took too long.
    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "postgres exited ({status}): {}",
                    self.log()
                )));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                let ready = self
                    .command("pg_isready")
                    .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                    .status()?;
                if ready.success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!("postgres not ready: {}", self.log())));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("stopping the test postgres: {e}");
        }
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `postgres`.
fn find_bin_dir() -> io::Result<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{}: {e} (apt-get install postgresql)", root.display()),
            )
        })?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        io::Error::other("no /usr/lib/postgresql/*/bin/postgres (apt-get install postgresql)")
    })
}

/// Whether this process runs as root (which `initdb` and `postgres` refuse).
fn running_as_root() -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/self")?.uid() == 0)
}

/// uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> io::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"postgres") && f.len() > 3)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or_else(|| {
            io::Error::other("no `postgres` user in /etc/passwd (apt-get install postgresql)")
        })
}

/// A port free on 127.0.0.1 a moment ago.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
