//! A real, throwaway PostgreSQL server for the integration tests.
//!
//! Include it from a test file with
//!
//! ```ignore
//! #[path = "common/pg.rs"]
//! mod pg;
//! ```
//!
//! and start each test that needs the database with
//!
//! ```ignore
//! let Some(pg) = pg::cluster() else { return };
//! let db = pg.fresh_db();
//! ```
//!
//! # What you get
//!
//! [`cluster`] starts one cluster per test *process* (so per test binary under `cargo test`,
//! per test under nextest), lazily on first use, shared by all the tests of that process. Two
//! test binaries running at once each have their own cluster: own temp dir, own port, own
//! socket directory. The cluster has
//!
//! - its data directory, socket directory, TLS files and log (`server.log`) in a fresh temp dir;
//! - a free TCP port on `127.0.0.1` only ([`Cluster::port`]), and a Unix socket in
//!   [`Cluster::socket_dir`];
//! - TLS on, with a test CA ([`Cluster::ca_cert`], for `sslrootcert`) and a server certificate
//!   for `DNS:localhost` and `IP:127.0.0.1`, made with the `openssl` CLI at start;
//! - `pg_hba`: the Unix socket trusts everyone; TCP (`host` and `hostssl`, 127.0.0.1 and ::1)
//!   needs `scram-sha-256`;
//! - a login role `tokman` with `CREATEDB` and a random password ([`Cluster::password`]);
//!   the superuser is `postgres` (socket only);
//! - `max_connections = 200`, `fsync = off` and other speed-over-safety settings,
//!   `lc_messages = 'C'` (English error messages).
//!
//! # API
//!
//! - [`cluster()`] `-> Option<&'static Cluster>`: `None` when PostgreSQL cannot be had (no
//!   binaries, no `openssl`, ...): it says why on stderr once. With
//!   `TOKMAN_REQUIRE_SERVICES=1` it panics instead, so that CI cannot pass by skipping.
//! - [`Cluster::fresh_db`] `-> Db`: a new empty database with a unique name ([`Db::name`]),
//!   owned by `tokman`.
//! - [`Cluster::tcp_url`]`(db, sslmode)`:
//!   `postgres://tokman@127.0.0.1:<port>/<db>?sslmode=<mode>&sslrootcert=<ca path>`. No
//!   password in it: pass [`Cluster::password`] as `PGPASSWORD`. `verify-full` works with it
//!   (libpq 14+ checks IP addresses in the SAN). Note that `sslrootcert` is a libpq (and sqlx)
//!   parameter; tokio-postgres rejects unknown URL parameters.
//! - [`Cluster::socket_url`]`(db)`: `postgres://tokman@%2Fpath%2Fto%2Fsockdir:<port>/<db>` —
//!   Unix socket, role `tokman`, no password needed. The port matters on the socket too: it
//!   names the socket file, `.s.PGSQL.<port>`.
//! - [`Cluster::socket_url_query`]`(db)`: the same connection in libpq's other form,
//!   `postgres:///<db>?host=/path/to/sockdir&port=<port>&user=tokman`. Keep the user in the
//!   query: `postgres://tokman@/<db>?host=…` works with psql, but a parser built on the `url`
//!   crate (tokman's) refuses a URL with a user and an empty host ("empty host").
//! - [`Cluster::psql`]`(db, sql)`: runs `sql` with `psql -X -q -A -t -v ON_ERROR_STOP=1` over
//!   the socket as the superuser; returns stdout without its trailing newline (rows one a line,
//!   columns split by `|`); panics with psql's stderr if it fails.
//! - [`Cluster::stop`] / [`Cluster::start`]: take the server down (`pg_ctl stop -m fast`: open
//!   sessions are cut off) and bring it back on the same port, to test a database that goes
//!   away under a running process. They hit *every* test of the process: a test that uses them
//!   holds [`Cluster::exclusive`] throughout, and the other tests of that binary that could
//!   overlap hold [`Cluster::shared`] (or put such tests in a test file of their own).
//! - [`Cluster::ca_cert`], [`Cluster::port`], [`Cluster::socket_dir`], [`Cluster::password`].
//! - [`scrub_pg_env`]: removes the developer's `PG*` variables from a `Command` (and points
//!   `PGPASSFILE` at `/dev/null`), so that only what a test sets reaches libpq. Everything this
//!   module runs is scrubbed that way.
//!
//! # Where the binaries come from
//!
//! `TOKMAN_PG_BINDIR` if set; else the highest `/usr/lib/postgresql/<version>/bin` (Debian);
//! else `pg_config --bindir`; else the first `PATH` directory that has `initdb` (Homebrew and
//! the like). `psql` is taken from the same directory, or from `PATH`.
//!
//! # Users
//!
//! `initdb` and `postgres` refuse to run as root. When the tests run as root, everything the
//! server side needs (openssl for the server key, initdb, pg_ctl) runs as the `postgres`
//! system user through `runuser -u postgres --`, and the temp dir is chowned to it; the
//! tests themselves stay root (root can read the CA and reach the socket). As any other user,
//! all of it runs as that user.
//!
//! # Teardown
//!
//! A test binary has no global teardown, so the cluster's start also spawns a detached
//! watchdog (`sh`, in its own process group so that a Ctrl-C on the test run does not take it
//! down first) that polls `kill -0 <test pid>` every 0.5 s; once the test process is gone it
//! runs `pg_ctl stop -m immediate` (as the right user) and removes the temp dir. As a last
//! resort, a postmaster whose data directory has vanished shuts itself down within a minute.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The role the tests log in as.
pub const ROLE: &str = "tokman";
/// The superuser (over the socket only).
pub const SUPERUSER: &str = "postgres";

/// Set to `1` (CI) to make a missing PostgreSQL a failure instead of a skip.
pub const REQUIRE_VAR: &str = "TOKMAN_REQUIRE_SERVICES";

/// How many ports to try before giving up on starting.
const START_ATTEMPTS: usize = 5;

/// A database made by [`Cluster::fresh_db`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Db {
    pub name: String,
}

/// The running (or deliberately stopped) test cluster; see the module documentation.
#[derive(Debug)]
pub struct Cluster {
    base: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    ca_cert: PathBuf,
    port: u16,
    password: String,
    bins: Bins,
    /// Whether the server should be up: [`Cluster::stop`] / [`Cluster::start`] flip it.
    running: Mutex<bool>,
    outage: RwLock<()>,
    next_db: AtomicU64,
}

#[derive(Debug)]
struct Bins {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    /// `Some(user)` when running as root: the server side runs as this user.
    run_as: Option<String>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The cluster of this test process, started on first call; `None` (having said why on stderr
/// once) when PostgreSQL cannot be had, or a panic with `TOKMAN_REQUIRE_SERVICES=1`.
pub fn cluster() -> Option<&'static Cluster> {
    let got = CLUSTER.get_or_init(|| {
        let got = Cluster::launch();
        if let Err(why) = &got
            && !required()
        {
            // Straight to the stderr file: libtest would swallow an eprintln! from a passing
            // test.
            let _ = writeln!(
                std::io::stderr(),
                "skipping PostgreSQL tests: {why}; install postgresql \
                 (Debian: apt-get install postgresql) to run them"
            );
        }
        got
    });
    match got {
        Ok(cluster) => Some(cluster),
        Err(why) if required() => panic!(
            "PostgreSQL is required ({REQUIRE_VAR}=1) but cannot be had: {why}; \
             install postgresql (Debian: apt-get install postgresql)"
        ),
        Err(_) => None,
    }
}

fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| v == "1")
}

/// Remove the caller's libpq environment (`PGHOST`, `PGPASSWORD`, `PGSSLMODE`, `PGSERVICE`...)
/// from `cmd`, and make libpq ignore `~/.pgpass`.
pub fn scrub_pg_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    cmd.env("PGPASSFILE", "/dev/null")
}

impl Cluster {
    /// A new empty database owned by `tokman`, with a name unique in this cluster.
    pub fn fresh_db(&self) -> Db {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("tokman_test_{n}");
        self.psql_in(
            "postgres",
            &format!("CREATE DATABASE {} OWNER {ROLE};", ident(&name)),
        );
        Db { name }
    }

    /// `postgres://tokman@127.0.0.1:<port>/<db>?sslmode=<sslmode>&sslrootcert=<ca>`; the
    /// password is [`Cluster::password`], for `PGPASSWORD`.
    pub fn tcp_url(&self, db: &Db, sslmode: &str) -> String {
        format!(
            "postgres://{ROLE}@127.0.0.1:{}/{}?sslmode={}&sslrootcert={}",
            self.port,
            encode(&db.name, false),
            encode(sslmode, false),
            encode(&self.ca_cert.to_string_lossy(), true),
        )
    }

    /// The password of role `tokman` (random hex, for `PGPASSWORD`).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://tokman@%2Fpath%2Fto%2Fsockdir:<port>/<db>`: the Unix socket, as `tokman`,
    /// no password.
    pub fn socket_url(&self, db: &Db) -> String {
        format!(
            "postgres://{ROLE}@{}:{}/{}",
            encode(&self.socket_dir.to_string_lossy(), false),
            self.port,
            encode(&db.name, false),
        )
    }

    /// The same connection as [`Cluster::socket_url`] in the other form libpq takes:
    /// `postgres:///<db>?host=/path/to/sockdir&port=<port>&user=tokman` (the user in the query:
    /// `tokman@` with an empty host is refused by the `url` crate).
    pub fn socket_url_query(&self, db: &Db) -> String {
        format!(
            "postgres:///{}?host={}&port={}&user={ROLE}",
            encode(&db.name, false),
            encode(&self.socket_dir.to_string_lossy(), true),
            self.port,
        )
    }

    /// The test CA's certificate (PEM), which signed the server's.
    pub fn ca_cert(&self) -> &Path {
        &self.ca_cert
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the server's Unix socket (`.s.PGSQL.<port>`) is.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The `psql` this harness uses (for tests that run their own).
    pub fn psql_bin(&self) -> &Path {
        &self.bins.psql
    }

    /// Run `sql` in `db` as the superuser over the socket; stdout without its final newline.
    /// Panics with psql's stderr when anything fails (`ON_ERROR_STOP`).
    #[track_caller]
    pub fn psql(&self, db: &Db, sql: &str) -> String {
        self.psql_in(&db.name, sql)
    }

    /// Stop the server (`pg_ctl stop -m fast`, waiting for it to be down); a no-op when it is
    /// stopped already. Hold [`Cluster::exclusive`] around a stop and start.
    pub fn stop(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if !*running {
            return;
        }
        let out = self
            .server_cmd(&self.bins.pg_ctl)
            .arg("stop")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60"])
            .output()
            .expect("run pg_ctl stop");
        if !out.status.success() {
            panic!(
                "pg_ctl stop failed: {}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log_tail()
            );
        }
        *running = false;
    }

    /// Start the server again after [`Cluster::stop`], on the same port; a no-op when it runs.
    pub fn start(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if *running {
            return;
        }
        // The port was free a moment ago; if something grabbed it meanwhile, wait a little.
        let mut why = String::new();
        for attempt in 0..START_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(500));
            }
            match self.pg_ctl_start() {
                Ok(()) => {
                    *running = true;
                    return;
                }
                Err(e) => why = e,
            }
        }
        panic!(
            "could not start PostgreSQL again on port {}: {why}",
            self.port
        );
    }

    /// For a test that calls [`Cluster::stop`] / [`Cluster::start`]: waits for the holders of
    /// [`Cluster::shared`] and keeps new ones out.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.outage.write().unwrap_or_else(|p| p.into_inner())
    }

    /// For a test that needs the server up throughout while another test of the same binary
    /// may take it down.
    pub fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.outage.read().unwrap_or_else(|p| p.into_inner())
    }

    #[track_caller]
    fn psql_in(&self, dbname: &str, sql: &str) -> String {
        let mut cmd = Command::new(&self.bins.psql);
        scrub_pg_env(&mut cmd)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", SUPERUSER, "-d", dbname]);
        let out = run_with_input(&mut cmd, sql)
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bins.psql.display()));
        if !out.status.success() {
            panic!(
                "psql in {dbname} failed ({}):\n{}\nSQL:\n{sql}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        while stdout.ends_with('\n') {
            stdout.pop();
        }
        stdout
    }

    /// A command for the server side: as `postgres` through runuser when we are root.
    fn server_cmd(&self, program: &Path) -> Command {
        self.bins.command(program, &self.base)
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let out = self
            .server_cmd(&self.bins.pg_ctl)
            .arg("start")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60", "-o"])
            .arg(format!("-p {}", self.port))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl start on port {} failed: {}{}\n{}",
                self.port,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log_tail()
            ))
        }
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        format!("server log ({}):\n{tail}", self.log.display())
    }

    /// Everything [`cluster`] does the first time.
    fn launch() -> Result<Cluster, String> {
        let bins = Bins::find()?;
        let base = make_base_dir(bins.run_as.as_deref())?;
        // The watchdog first: whatever fails from here on, the temp dir goes with the process.
        spawn_watchdog(&bins, &base)?;

        let tls = base.join("tls");
        let socket_dir = base.join("sock");
        let data = base.join("data");
        let log = base.join("server.log");
        for dir in [&tls, &socket_dir] {
            fs::DirBuilder::new()
                .mode(0o755)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            if let Some(user) = &bins.run_as {
                chown_to(dir, user)?;
            }
        }
        make_certs(&bins, &tls)?;

        let initdb = bins
            .command(&bins.initdb, &base)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bins.initdb.display()))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&initdb.stdout),
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        write_config(&data, &socket_dir, &tls)?;

        let password = random_hex(16)?;
        let mut cluster = Cluster {
            ca_cert: tls.join("ca.crt"),
            base,
            data,
            socket_dir,
            log,
            port: 0,
            password,
            bins,
            running: Mutex::new(false),
            outage: RwLock::new(()),
            next_db: AtomicU64::new(1),
        };
        let mut why = Vec::new();
        for _ in 0..START_ATTEMPTS {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    *cluster.running.get_mut().unwrap() = true;
                    break;
                }
                Err(e) => why.push(e),
            }
        }
        if !*cluster.running.get_mut().unwrap() {
            return Err(format!(
                "PostgreSQL did not start in {START_ATTEMPTS} tries:\n{}",
                why.join("\n")
            ));
        }
        cluster.psql_in(
            "postgres",
            &format!(
                "CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{}';",
                cluster.password
            ),
        );
        Ok(cluster)
    }
}

impl Bins {
    fn find() -> Result<Bins, String> {
        let bindir = find_bindir()?;
        let initdb = bindir.join("initdb");
        let pg_ctl = bindir.join("pg_ctl");
        for tool in [&initdb, &pg_ctl, &bindir.join("postgres")] {
            if !tool.is_file() {
                return Err(format!(
                    "no {} (bin dir {})",
                    tool.display(),
                    bindir.display()
                ));
            }
        }
        let psql = if bindir.join("psql").is_file() {
            bindir.join("psql")
        } else {
            in_path("psql").ok_or_else(|| format!("no psql in {} or PATH", bindir.display()))?
        };
        if !Command::new("openssl")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Err("no working openssl command (needed for the test TLS certificates)".into());
        }
        let run_as = if rustix::process::geteuid().as_raw() == 0 {
            let ok = Command::new("runuser")
                .args(["-u", "postgres", "--", "true"])
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                return Err(
                    "running as root, but cannot run commands as the `postgres` user \
                            with `runuser -u postgres` (initdb refuses to run as root)"
                        .into(),
                );
            }
            Some("postgres".to_string())
        } else {
            None
        };
        Ok(Bins {
            initdb,
            pg_ctl,
            psql,
            run_as,
        })
    }

    /// `program` as the server user, in `cwd` (which that user can enter: root's working
    /// directory may be closed to `postgres`), with a scrubbed libpq environment.
    fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        cmd.current_dir(cwd);
        scrub_pg_env(&mut cmd);
        cmd
    }
}

fn find_bindir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("TOKMAN_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    // Debian and Ubuntu: /usr/lib/postgresql/<major>/bin, several majors side by side.
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("postgres").is_file() {
            return Ok(dir);
        }
    }
    if let Some(initdb) = in_path("initdb") {
        return Ok(initdb.parent().unwrap().to_path_buf());
    }
    Err(
        "no PostgreSQL server binaries (looked in /usr/lib/postgresql/*/bin, \
         `pg_config --bindir` and PATH for initdb)"
            .into(),
    )
}

fn in_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// A fresh `tokman-pg-*` directory under the temp dir, owned by the server user. Unix socket
/// paths are limited to ~100 bytes, and `postgres` must be able to reach the directory, so a
/// long or closed `TMPDIR` gives way to `/tmp`.
fn make_base_dir(run_as: Option<&str>) -> Result<PathBuf, String> {
    let mut parent = std::env::temp_dir();
    let reachable = |dir: &Path| {
        dir.ancestors()
            .all(|d| fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
    };
    if parent.as_os_str().len() > 60 || (run_as.is_some() && !reachable(&parent)) {
        parent = PathBuf::from("/tmp");
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    for n in 0..100u32 {
        let dir = parent.join(format!("tokman-pg-{}-{stamp:x}{n}", std::process::id()));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                if let Some(user) = run_as {
                    chown_to(&dir, user)?;
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create a dir in {}: {e}", parent.display())),
        }
    }
    Err(format!("cannot create a fresh dir in {}", parent.display()))
}

fn chown_to(path: &Path, user: &str) -> Result<(), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| format!("cannot run id: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("no user {user}"))
    };
    std::os::unix::fs::chown(path, Some(id("-u")?), Some(id("-g")?))
        .map_err(|e| format!("cannot chown {} to {user}: {e}", path.display()))
}

/// The watchdog: once this process is gone, stop the server and remove `base`.
fn spawn_watchdog(bins: &Bins, base: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    const SCRIPT: &str = r#"
pid=$1 base=$2 data=$3
shift 3
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
# A start may have been under way when the process died: look twice.
for _ in 1 2 3; do
    [ -f "$data/postmaster.pid" ] || break
    "$@" stop -D "$data" -m immediate -w -t 30 >/dev/null 2>&1
    sleep 0.2
done
rm -rf "$base"
"#;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(SCRIPT)
        .arg("tokman-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(base)
        .arg(base.join("data"));
    if let Some(user) = &bins.run_as {
        cmd.args(["runuser", "-u", user, "--"]);
    }
    cmd.arg(&bins.pg_ctl)
        // From /, with no inherited pipes (a `cargo test | tee` must not wait for it), and in
        // its own process group: Ctrl-C on the test run must not kill it before it cleans up.
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    scrub_pg_env(&mut cmd);
    cmd.spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the cleanup watchdog (sh): {e}"))
}

/// A test CA and a server certificate for localhost / 127.0.0.1 signed by it, in `tls`, made
/// as the server user (the server insists on owning its key, mode 0600).
fn make_certs(bins: &Bins, tls: &Path) -> Result<(), String> {
    let ext = tls.join("server.ext");
    fs::write(
        &ext,
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n\
         basicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", ext.display()))?;
    // Run in `tls`, so that every file name is relative.
    const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let steps = [
        format!(
            "req -x509 {EC} -keyout ca.key -out ca.crt -days 7 -subj /CN=tokman-test-CA \
             -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign"
        ),
        format!("req -new {EC} -keyout server.key -out server.csr -subj /CN=localhost"),
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
         -days 7 -extfile server.ext"
            .to_string(),
    ];
    for step in steps {
        let args: Vec<&str> = step.split_whitespace().collect();
        let out = bins
            .command(Path::new("openssl"), tls)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run openssl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "openssl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    for key in ["ca.key", "server.key"] {
        fs::set_permissions(tls.join(key), fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot chmod {key}: {e}"))?;
    }
    Ok(())
}

/// Our settings after initdb's `postgresql.conf`, and our `pg_hba.conf`.
fn write_config(data: &Path, socket_dir: &Path, tls: &Path) -> Result<(), String> {
    let quote = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', "''"));
    let mut conf = String::from("\n# tokman test harness (tests/common/pg.rs)\n");
    let settings = [
        ("listen_addresses", "'127.0.0.1'".to_string()),
        ("unix_socket_directories", quote(socket_dir)),
        ("max_connections", "200".into()),
        ("ssl", "on".into()),
        ("ssl_cert_file", quote(&tls.join("server.crt"))),
        ("ssl_key_file", quote(&tls.join("server.key"))),
        ("password_encryption", "'scram-sha-256'".into()),
        ("fsync", "off".into()),
        ("synchronous_commit", "off".into()),
        ("full_page_writes", "off".into()),
        ("wal_level", "minimal".into()),
        ("max_wal_senders", "0".into()),
        ("shared_buffers", "'32MB'".into()),
        ("lc_messages", "'C'".into()),
        ("log_line_prefix", "'%m [%p] %q%u@%d '".into()),
    ];
    for (key, value) in settings {
        let _ = writeln!(conf, "{key} = {value}");
    }
    let conf_path = data.join("postgresql.conf");
    fs::OpenOptions::new()
        .append(true)
        .open(&conf_path)
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
    // Writing over the existing file keeps its owner (postgres when we are root).
    let hba = "# tokman test harness (tests/common/pg.rs)\n\
               local   all all              trust\n\
               hostssl all all 127.0.0.1/32 scram-sha-256\n\
               hostssl all all ::1/128      scram-sha-256\n\
               host    all all 127.0.0.1/32 scram-sha-256\n\
               host    all all ::1/128      scram-sha-256\n";
    let hba_path = data.join("pg_hba.conf");
    fs::write(&hba_path, hba).map_err(|e| format!("cannot write {}: {e}", hba_path.display()))
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

fn random_hex(bytes: usize) -> Result<String, String> {
    use std::io::Read as _;
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

fn run_with_input(cmd: &mut Command, input: &str) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    // A writer thread: a big script must not deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output();
    let _ = writer.join();
    out
}

/// A double-quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Percent-encoding for a URL part: everything but unreserved characters (and `/` when
/// `keep_slash`).
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
