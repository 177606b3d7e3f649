//! The PostgreSQL test harness itself (`tests/common/pg.rs`), checked through the real `psql`:
//! TLS with the test CA and host name checks, passwords over TCP, the socket URLs, fresh
//! databases, stop and start, one cluster per process, the cleanup after the process, and the
//! skip / require switch.

#[path = "common/pg.rs"]
mod pg;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// What a child run of this binary is for (see [`child`]).
const CHILD_VAR: &str = "TOKMAN_PG_TEST_CHILD";

/// `psql` on `url` as a client would run it: no superuser, no socket unless the URL says so.
fn connect(pg: &pg::Cluster, url: &str, password: Option<&str>, sql: &str) -> Output {
    let mut cmd = Command::new(pg.psql_bin());
    pg::scrub_pg_env(&mut cmd)
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", "10");
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    cmd.output().expect("run psql")
}

#[track_caller]
fn connects(pg: &pg::Cluster, url: &str, password: Option<&str>, sql: &str) -> String {
    let out = connect(pg, url, password, sql);
    assert!(
        out.status.success(),
        "psql {url} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// The connection fails, saying `why`.
#[track_caller]
fn refused(pg: &pg::Cluster, url: &str, password: Option<&str>, why: &str) {
    let out = connect(pg, url, password, "select 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "psql {url} connected, but should not have: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(why),
        "psql {url} failed without {why:?}:\n{stderr}"
    );
}

const WHO: &str = "select current_user, current_database(), \
                   coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false), \
                   inet_server_addr() is null";

#[test]
fn tcp_with_verify_full_against_the_test_ca_and_the_password() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let db = pg.fresh_db();
    let url = pg.tcp_url(&db, "verify-full");
    assert!(!url.contains(pg.password()), "{url}");
    assert_eq!(
        connects(pg, &url, Some(pg.password()), WHO),
        format!("tokman|{}|t|f", db.name)
    );
    // By name too: the certificate is for localhost as well as 127.0.0.1.
    let by_name = url.replacen("@127.0.0.1:", "@localhost:", 1);
    assert_eq!(
        connects(pg, &by_name, Some(pg.password()), WHO),
        format!("tokman|{}|t|f", db.name)
    );
}

#[test]
fn tcp_needs_the_password_with_or_without_tls() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let db = pg.fresh_db();
    for mode in ["verify-full", "disable"] {
        let url = pg.tcp_url(&db, mode);
        refused(pg, &url, None, "no password supplied");
        refused(
            pg,
            &url,
            Some("not-the-password"),
            "password authentication failed for user \"tokman\"",
        );
    }
    let plain = pg.tcp_url(&db, "disable");
    assert_eq!(
        connects(pg, &plain, Some(pg.password()), WHO),
        format!("tokman|{}|f|f", db.name)
    );
}

#[test]
fn verify_full_refuses_a_host_name_not_in_the_certificate() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let db = pg.fresh_db();
    // libpq connects to `hostaddr` but checks the certificate against `host`: a name that is
    // not in the certificate, on the right server, without touching /etc/hosts.
    let at = |host: &str| {
        format!(
            "{}&hostaddr=127.0.0.1",
            pg.tcp_url(&db, "verify-full")
                .replacen("@127.0.0.1:", &format!("@{host}:"), 1)
        )
    };
    assert_eq!(
        connects(pg, &at("localhost"), Some(pg.password()), "select 1"),
        "1"
    );
    refused(
        pg,
        &at("wrong.invalid"),
        Some(pg.password()),
        "does not match host name \"wrong.invalid\"",
    );
    // verify-ca does not look at the name.
    let ca_only = at("wrong.invalid").replace("sslmode=verify-full", "sslmode=verify-ca");
    assert_eq!(connects(pg, &ca_only, Some(pg.password()), "select 1"), "1");
}

#[test]
fn verify_full_refuses_a_server_the_ca_did_not_sign() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let db = pg.fresh_db();
    let other = tempfile::tempdir().unwrap();
    let other_ca = other.path().join("other-ca.crt");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=some other CA", "-keyout"])
        .arg(other.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let url = pg.tcp_url(&db, "verify-full").replace(
        &pg.ca_cert().to_string_lossy().into_owned(),
        &other_ca.to_string_lossy(),
    );
    assert!(url.contains("other-ca.crt"), "{url}");
    refused(pg, &url, Some(pg.password()), "certificate verify failed");
}

#[test]
fn both_socket_url_forms_connect_as_tokman_without_a_password() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let db = pg.fresh_db();
    let url = pg.socket_url(&db);
    let encoded_dir = pg.socket_dir().to_string_lossy().replace('/', "%2F");
    assert_eq!(
        url,
        format!("postgres://tokman@{encoded_dir}:{}/{}", pg.port(), db.name)
    );
    let query = pg.socket_url_query(&db);
    assert_eq!(
        query,
        format!(
            "postgres:///{}?host={}&port={}&user=tokman",
            db.name,
            pg.socket_dir().display(),
            pg.port()
        )
    );
    // libpq (not tokman's parser) also takes the user before an empty host.
    let user_first = format!(
        "postgres://tokman@/{}?host={}&port={}",
        db.name,
        pg.socket_dir().display(),
        pg.port()
    );
    for url in [url, query, user_first] {
        assert_eq!(
            connects(pg, &url, None, WHO),
            format!("tokman|{}|f|t", db.name),
            "{url}"
        );
    }
}

#[test]
fn fresh_dbs_are_distinct_empty_and_owned_by_tokman() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let (a, b) = (pg.fresh_db(), pg.fresh_db());
    assert_ne!(a.name, b.name);
    let user_tables = "select count(*) from pg_tables \
                       where schemaname not in ('pg_catalog', 'information_schema')";
    let owner = "select pg_get_userbyid(datdba) from pg_database \
                 where datname = current_database()";
    for db in [&a, &b] {
        assert_eq!(pg.psql(db, user_tables), "0");
        assert_eq!(pg.psql(db, owner), "tokman");
        assert_eq!(pg.psql(db, "select current_database()"), db.name);
    }
    // tokman can create in its database, and what one database holds the other does not.
    let url = pg.socket_url(&a);
    connects(
        pg,
        &url,
        None,
        "create table t (x int); insert into t values (7)",
    );
    assert_eq!(pg.psql(&a, "select x from t"), "7");
    assert_eq!(pg.psql(&b, user_tables), "0");
}

#[test]
fn psql_returns_rows_and_panics_with_the_error() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let db = pg.fresh_db();
    assert_eq!(pg.psql(&db, "select 1, 'a'; select 2, 'b';"), "1|a\n2|b");
    let failed = std::panic::catch_unwind(|| pg.psql(&db, "select 1; select nope; select 3;"))
        .expect_err("psql of bad SQL must panic");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("column \"nope\" does not exist"),
        "{message}"
    );
}

#[test]
fn server_settings_are_the_documented_ones() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let db = pg.fresh_db();
    for (setting, value) in [
        ("max_connections", "200"),
        ("ssl", "on"),
        ("listen_addresses", "127.0.0.1"),
        ("fsync", "off"),
        ("port", &pg.port().to_string()),
        (
            "unix_socket_directories",
            &pg.socket_dir().to_string_lossy(),
        ),
    ] {
        assert_eq!(pg.psql(&db, &format!("show {setting}")), value, "{setting}");
    }
    let tokman = "select rolcanlogin, rolcreatedb, rolsuper from pg_roles \
                  where rolname = 'tokman'";
    assert_eq!(pg.psql(&db, tokman), "t|t|f");
    // Only 127.0.0.1: nothing on another loopback address.
    assert!(TcpStream::connect(("127.0.0.2", pg.port())).is_err());
}

#[test]
fn stop_takes_the_server_away_and_start_brings_it_back_on_the_same_port() {
    let Some(pg) = pg::cluster() else { return };
    let _alone = pg.exclusive();
    let db = pg.fresh_db();
    let tcp = pg.tcp_url(&db, "verify-full");
    let socket = pg.socket_url(&db);
    connects(
        pg,
        &socket,
        None,
        "create table kept (x int); insert into kept values (42)",
    );
    let port = pg.port();

    pg.stop();
    refused(pg, &tcp, Some(pg.password()), "Connection refused");
    refused(pg, &socket, None, "No such file or directory");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    pg.stop(); // already down: nothing to do

    pg.start();
    assert_eq!(pg.port(), port);
    assert_eq!(
        connects(pg, &tcp, Some(pg.password()), "select x from kept"),
        "42"
    );
    assert_eq!(connects(pg, &socket, None, "select x from kept"), "42");
    pg.start(); // already up: nothing to do
    assert_eq!(pg.psql(&db, "select x from kept"), "42");
}

/// Run this test binary again, only `test`, with [`CHILD_VAR`] = `role`.
fn child(test: &str, role: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, role)
        .env_remove(pg::REQUIRE_VAR);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run the test binary again")
}

/// With [`CHILD_VAR`] = `cluster`: start this process's own cluster, use it, and say where
/// it is. Passes trivially in an ordinary run.
#[test]
fn child_with_its_own_cluster() {
    if std::env::var(CHILD_VAR).as_deref() != Ok("cluster") {
        return;
    }
    let pg = pg::cluster().expect("PostgreSQL in the child");
    let db = pg.fresh_db();
    assert_eq!(pg.psql(&db, "select 40 + 2"), "42");
    let lock = pg.socket_dir().join(format!(".s.PGSQL.{}.lock", pg.port()));
    let lock = std::fs::read_to_string(&lock).expect("the socket's lock file");
    let postmaster = lock.lines().next().unwrap().trim();
    println!(
        "child-cluster port={} postmaster={postmaster} sockdir={}",
        pg.port(),
        pg.socket_dir().display()
    );
}

/// With [`CHILD_VAR`] = `skip` (and no PostgreSQL to be found): what `cluster()` does then.
#[test]
fn child_without_postgres() {
    if std::env::var(CHILD_VAR).as_deref() != Ok("skip") {
        return;
    }
    assert!(pg::cluster().is_none());
    assert!(pg::cluster().is_none());
    println!("child skipped");
}

fn alive(pid: &str) -> bool {
    Command::new("kill")
        .args(["-0", pid])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn another_process_gets_its_own_cluster_and_it_is_gone_after_the_process() {
    let Some(pg) = pg::cluster() else { return };
    let _up = pg.shared();
    let out = child("child_with_its_own_cluster", "cluster", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("child-cluster ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no child-cluster line in:\n{stdout}"));
    let field = |name: &str| {
        line.split(' ')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_string()
    };
    let port: u16 = field("port").parse().unwrap();
    let postmaster = field("postmaster");
    let sockdir = PathBuf::from(field("sockdir"));
    assert_ne!(port, pg.port());
    assert_ne!(sockdir, pg.socket_dir());
    let base = sockdir.parent().unwrap().to_path_buf();

    // The watchdog polls every 0.5 s, then stops the server and removes the temp dir.
    let deadline = Instant::now() + Duration::from_secs(20);
    let gone = |base: &Path| {
        !alive(&postmaster) && !base.exists() && TcpStream::connect(("127.0.0.1", port)).is_err()
    };
    while !gone(&base) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !alive(&postmaster),
        "the child's postmaster {postmaster} outlived it"
    );
    assert!(!base.exists(), "the child's {} outlived it", base.display());
    // Ours is untouched.
    let db = pg.fresh_db();
    assert_eq!(pg.psql(&db, "select 1"), "1");
}

#[test]
fn without_postgres_it_skips_once_or_fails_when_required() {
    // Needs no PostgreSQL: the child is pointed at binaries that are not there.
    let missing = [("TOKMAN_PG_BINDIR", "/nonexistent/pg/bin")];
    let skipped = child("child_without_postgres", "skip", &missing);
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&skipped.stdout).contains("child skipped"));
    let message = "skipping PostgreSQL tests: no /nonexistent/pg/bin/initdb";
    assert_eq!(stderr.matches(message).count(), 1, "{stderr}");
    assert!(
        stderr.contains("install postgresql (Debian: apt-get install postgresql) to run them"),
        "{stderr}"
    );

    let required = child(
        "child_without_postgres",
        "skip",
        &[missing[0], (pg::REQUIRE_VAR, "1")],
    );
    let stderr = String::from_utf8_lossy(&required.stderr);
    let stdout = String::from_utf8_lossy(&required.stdout);
    assert!(!required.status.success(), "{stdout}\n{stderr}");
    // libtest prints the panic of a test run with --nocapture on stderr.
    assert!(
        stderr.contains("PostgreSQL is required (TOKMAN_REQUIRE_SERVICES=1) but cannot be had"),
        "{stdout}\n{stderr}"
    );
    assert!(!stderr.contains("skipping PostgreSQL tests"), "{stderr}");
}
