//! A real, throwaway nginx for the end-to-end tests of `tokman serve`.
//!
//! ```ignore
//! #[path = "common/nginx.rs"]
//! mod nginx;
//! let Some(bin) = nginx::available() else { return };
//! let site = nginx::Site::start(&bin, "127.0.0.1:PORT", "app:use");
//! ```
//!
//! [`Site::start`] runs `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'` in a fresh temp
//! dir, with `contrib/nginx/tokman.conf` (the site operators install) pointed at the given
//! `tokman serve` and at a second server block standing in for the application, which answers
//! `upstream: user=<X-User> id=<X-Token-Id>`. As root, the workers run as root (`user root;`)
//! so they can write the temp dir. [`available`] is `None` (saying why once) when there is no
//! nginx, or panics when `TOKMAN_REQUIRE_SERVICES=1`, as `pg::cluster()` does.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const REQUIRE_VAR: &str = "TOKMAN_REQUIRE_SERVICES";

/// The nginx binary, or `None` when there is none (skip), or a panic when it is required.
pub fn available() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let found = std::env::var_os("TOKMAN_NGINX")
            .map(PathBuf::from)
            .into_iter()
            .chain(
                [
                    "/usr/sbin/nginx",
                    "/usr/local/sbin/nginx",
                    "/usr/local/bin/nginx",
                ]
                .map(PathBuf::from),
            )
            .find(|p| p.is_file());
        if found.is_none() && !required() {
            let _ = writeln!(
                std::io::stderr(),
                "skipping the nginx end-to-end tests: no nginx (Debian: apt-get install nginx)"
            );
        }
        found
    });
    if found.is_none() && required() {
        panic!("nginx is required ({REQUIRE_VAR}=1) but there is none: apt-get install nginx");
    }
    found.clone()
}

fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| v == "1")
}

/// A running nginx with the contrib site in front of a stand-in application.
pub struct Site {
    child: Child,
    dir: TempDir,
    /// `127.0.0.1:PORT` of the site.
    pub addr: String,
}

/// The contrib site's text, pointed at `tokman` (ADDR:PORT or unix:PATH), listening on
/// `front`, proxying to `back`, requiring `scope`.
pub fn site_conf(tokman: &str, front: &str, back: &str, scope: &str) -> String {
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/nginx/tokman.conf");
    let text = std::fs::read_to_string(&contrib).expect("read contrib/nginx/tokman.conf");
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "{} has no {from:?}", contrib.display());
        text.replace(from, to)
    };
    let text = replace(text, "server 127.0.0.1:7070;", &format!("server {tokman};"));
    let text = replace(text, "listen 80;", &format!("listen {front};"));
    let text = replace(text, "http://127.0.0.1:8080", &format!("http://{back}"));
    replace(text, "\"app:use\"", &format!("\"{scope}\""))
}

impl Site {
    pub fn start(bin: &Path, tokman: &str, scope: &str) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let (front, back) = (free_addr(), free_addr());
        let p = dir.path().display().to_string();
        let user = if is_root() { "user root;\n" } else { "" };
        let conf = format!(
            "{user}worker_processes 1;\n\
             pid {p}/nginx.pid;\n\
             error_log {p}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n\
             access_log off;\n\
             client_body_temp_path {p}/body;\n\
             proxy_temp_path {p}/proxy;\n\
             fastcgi_temp_path {p}/fastcgi;\n\
             uwsgi_temp_path {p}/uwsgi;\n\
             scgi_temp_path {p}/scgi;\n\
             {site}\n\
             server {{\n\
                 listen {back};\n\
                 location / {{ return 200 \"upstream: user=$http_x_user id=$http_x_token_id\\n\"; }}\n\
             }}\n\
             }}\n",
            site = site_conf(tokman, &front, &back, scope),
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let mut site = Site {
            child,
            dir,
            addr: front,
        };
        site.wait_ready();
        site
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while TcpStream::connect(&self.addr).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("nginx exited ({status}): {err}\n{}", self.error_log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nginx did not listen on {}: {}",
                self.addr,
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// GET `path` with `headers`: the status and the body.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: site\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut s = TcpStream::connect(&self.addr).expect("connect to nginx");
        s.write_all(req.as_bytes()).expect("send");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        (status, body)
    }
}

impl Drop for Site {
    /// SIGTERM first: nginx's master then stops its worker, where a SIGKILL would leave the
    /// worker running (and holding the site's port) after the test. SIGKILL only if it hangs.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}
