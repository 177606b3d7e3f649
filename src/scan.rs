//! Finding tokens in text: files, directory trees (walked as ripgrep walks them), stdin, or the
//! content staged in git. Every match of the format's pattern is kept only when its checksum
//! holds, so look-alikes are never reported. Memory stays bounded whatever the file's size: a
//! file is read in chunks, with the chunk's last few bytes carried over so that a token across
//! a chunk boundary is still found.
//!
//! A hit carries the token's text (to look it up in a store and check its secret) but never
//! shows it: its `Debug` shows the id only, and front ends print the id.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use regex::bytes::Regex;
use zeroize::Zeroizing;

use crate::token::{self, TokenId};

/// The format's pattern, as README gives it for other scanners (gitleaks, grep -P).
pub const PATTERN: &str = r"\b[a-z][a-z0-9]{0,15}_[0-9a-z]{12}_[0-9A-Za-z]{49}\b";
/// The longest token: a 16-character prefix, `_`, the 12-character id, `_`, 49 characters.
const MAX_TOKEN: usize = 16 + 1 + 12 + 1 + 49;
/// Read this much at a time.
const CHUNK: usize = 256 * 1024;
/// A file whose first bytes hold a NUL is binary (as git and ripgrep decide).
const BINARY_PROBE: usize = 8 * 1024;

/// One token found.
pub struct Hit {
    /// Where: a path as given or walked, `-` for stdin.
    pub source: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    pub id: TokenId,
    token: Zeroizing<String>,
}

impl Hit {
    /// The whole token, for the store's lookup and secret check only; never to be shown.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl fmt::Debug for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Hit({}:{}:{} {}_…)",
            self.source, self.line, self.column, self.id
        )
    }
}

/// What a store says of a token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Valid now: whoever holds the text can use it.
    Live,
    Revoked,
    Expired,
    /// Not a token of this store (another store's, or a forged one whose checksum holds).
    Unknown,
}

impl Liveness {
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Live => "live",
            Liveness::Revoked => "revoked",
            Liveness::Expired => "expired",
            Liveness::Unknown => "unknown",
        }
    }
}

/// What a walk looked at.
#[derive(Debug, Default, Clone)]
pub struct Walked {
    pub files: u64,
    pub bytes: u64,
    /// Files skipped because they are binary.
    pub binary: u64,
    /// Files or directories that could not be read: `(path, why)`.
    pub errors: Vec<(String, String)>,
}

/// The compiled pattern; cheap to share between threads.
pub struct Scanner {
    re: Regex,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

/// Where in the text scanning has counted lines to.
struct Position {
    /// Absolute offset counted to.
    at: u64,
    line: u64,
    /// Characters from the line's start to `at`.
    column: u64,
}

impl Position {
    /// Advance over `bytes` (which start at `self.at`).
    fn advance(&mut self, bytes: &[u8]) {
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
                self.column = chars(&bytes[last + 1..]);
            }
            None => self.column += chars(bytes),
        }
        self.at += bytes.len() as u64;
    }
}

/// UTF-8 characters in `bytes` (bytes that do not continue a character).
fn chars(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner {
            re: Regex::new(&format!("(?-u){PATTERN}")).expect("the pattern compiles"),
        }
    }

    /// Scan everything `r` yields, in bounded memory, handing each token found to `f` in order.
    pub fn scan_reader(
        &self,
        source: &str,
        mut r: impl Read,
        f: &mut dyn FnMut(Hit),
    ) -> io::Result<u64> {
        let mut buf = vec![0u8; CHUNK + MAX_TOKEN + 1];
        // buf[..len] holds unread text; buf_start is the absolute offset of buf[0].
        let mut len = 0usize;
        let mut buf_start = 0u64;
        let mut pos = Position {
            at: 0,
            line: 1,
            column: 0,
        };
        let mut total = 0u64;
        loop {
            let n = read_full(&mut r, &mut buf[len..])?;
            total += n as u64;
            len += n;
            let eof = n == 0 || len < buf.len();
            // Matches starting in the last MAX_TOKEN bytes may continue in the next chunk: they
            // are left for the next round, which keeps those bytes (and the one before them, for
            // the word boundary).
            let settled = if eof { len } else { len - MAX_TOKEN };
            // After the first round, buf[0] is the byte before the carried text: context for
            // the word boundary, and the start of a match reported already if one starts there.
            let first = usize::from(buf_start > 0);
            for m in self.re.find_iter(&buf[..len]) {
                if m.start() < first {
                    continue;
                }
                if m.start() >= settled {
                    break;
                }
                let Ok(text) = std::str::from_utf8(m.as_bytes()) else {
                    continue;
                };
                let Ok(presented) = token::parse(text) else {
                    continue;
                };
                let offset = buf_start + m.start() as u64;
                let from = (pos.at - buf_start) as usize;
                pos.advance(&buf[from..m.start()]);
                debug_assert_eq!(pos.at, offset);
                f(Hit {
                    source: source.to_owned(),
                    line: pos.line,
                    column: pos.column + 1,
                    id: presented.id().clone(),
                    token: Zeroizing::new(text.to_owned()),
                });
            }
            if eof {
                return Ok(total);
            }
            // Keep the unsettled tail and the byte before it.
            let keep_from = settled - 1;
            let from = (pos.at - buf_start) as usize;
            if from < keep_from {
                pos.advance(&buf[from..keep_from]);
            }
            buf.copy_within(keep_from..len, 0);
            len -= keep_from;
            buf_start += keep_from as u64;
        }
    }

    /// Scan one file. `Ok(None)` when it is binary and `skip_binary` is set.
    pub fn scan_file(
        &self,
        path: &Path,
        shown: &str,
        skip_binary: bool,
        f: &mut dyn FnMut(Hit),
    ) -> io::Result<Option<u64>> {
        let mut file = std::fs::File::open(path)?;
        let mut head = vec![0u8; BINARY_PROBE];
        let n = read_full(&mut file, &mut head)?;
        head.truncate(n);
        if skip_binary && memchr::memchr(0, &head).is_some() {
            return Ok(None);
        }
        self.scan_reader(shown, io::Cursor::new(head).chain(file), f)
            .map(Some)
    }

    /// Walk `paths` as ripgrep does (honouring `.gitignore`, `.ignore` and git's excludes, in
    /// parallel), but including hidden files (a leaked token is often in `.env`) and never
    /// inside `.git`. Binary files met in a walk are skipped; a file named on its own is
    /// always scanned. Hits come to `f` from several threads; sort them for a stable order.
    pub fn scan_paths(&self, paths: &[PathBuf], f: &(dyn Fn(Hit) + Sync)) -> Walked {
        let walked = Mutex::new(Walked::default());
        let Some((first, rest)) = paths.split_first() else {
            return Walked::default();
        };
        let mut builder = ignore::WalkBuilder::new(first);
        for p in rest {
            builder.add(p);
        }
        builder
            .hidden(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git");
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                let note_error = |path: String, why: String| {
                    if let Ok(mut w) = walked.lock() {
                        w.errors.push((path, why));
                    }
                };
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        note_error(String::new(), e.to_string());
                        return ignore::WalkState::Continue;
                    }
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return ignore::WalkState::Continue;
                }
                let path = entry.path();
                let shown = path.display().to_string();
                // A file named on the command line (depth 0) is scanned even if binary.
                let skip_binary = entry.depth() > 0;
                let mut hand = |hit: Hit| f(hit);
                match self.scan_file(path, &shown, skip_binary, &mut hand) {
                    Ok(Some(bytes)) => {
                        if let Ok(mut w) = walked.lock() {
                            w.files += 1;
                            w.bytes += bytes;
                        }
                    }
                    Ok(None) => {
                        if let Ok(mut w) = walked.lock() {
                            w.binary += 1;
                        }
                    }
                    Err(e) => note_error(shown, e.to_string()),
                }
                ignore::WalkState::Continue
            })
        });
        walked.into_inner().unwrap_or_default()
    }
}

/// Fill `buf` as far as the reader goes; fewer bytes only at the end of input.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Scanner {
    /// Scan what is staged in the git repository at `dir` (what a commit would add: files
    /// added, copied, modified or renamed), reading each staged blob through `git` itself. One
    /// `git cat-file --batch` streams every blob, each scanned as it comes, so memory stays
    /// bounded whatever the size of what is staged, and one process serves any number of
    /// files. Names are from the repository's top, whatever directory `dir` is in it.
    pub fn scan_staged(&self, dir: &Path, f: &mut dyn FnMut(Hit)) -> io::Result<Walked> {
        use std::io::{BufRead, Write};
        use std::process::{Command, Stdio};
        let git = || {
            let mut c = Command::new("git");
            c.arg("-C")
                .arg(dir)
                .args(["-c", "diff.relative=false"])
                .stdin(Stdio::null())
                .stderr(Stdio::piped());
            c
        };
        let failed = |what: &str, stderr: &[u8]| {
            io::Error::other(format!(
                "git {what}: {}",
                String::from_utf8_lossy(stderr).trim()
            ))
        };
        let what = "diff --cached --raw";
        let out = git()
            .args([
                "diff",
                "--cached",
                "--raw",
                "-z",
                "--no-abbrev",
                "--no-renames",
                "--diff-filter=ACMR",
            ])
            .output()?;
        if !out.status.success() {
            return Err(failed(what, &out.stderr));
        }
        // `:OLDMODE NEWMODE OLDOID NEWOID STATUS\0PATH\0`, each change.
        let mut staged: Vec<(String, String)> = Vec::new();
        let mut fields = out.stdout.split(|&b| b == 0);
        while let Some(head) = fields.next().filter(|h| !h.is_empty()) {
            let head = String::from_utf8_lossy(head);
            let name = fields
                .next()
                .ok_or_else(|| failed(what, b"a change without its path"))?;
            let parts: Vec<&str> = head.split(' ').collect();
            let (Some(mode), Some(oid)) = (parts.get(1), parts.get(3)) else {
                return Err(failed(what, head.as_bytes()));
            };
            // A submodule's entry names a commit of another repository: nothing to read.
            if *mode == "160000" {
                continue;
            }
            staged.push((oid.to_string(), String::from_utf8_lossy(name).into_owned()));
        }
        let mut walked = Walked::default();
        if staged.is_empty() {
            return Ok(walked);
        }
        let mut child = git()
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut input = child.stdin.take().expect("piped");
        let oids: Vec<String> = staged.iter().map(|(oid, _)| oid.clone()).collect();
        // Fed from a thread, so that git never waits on a full pipe that nobody reads.
        let feeder = std::thread::spawn(move || -> io::Result<()> {
            for oid in oids {
                writeln!(input, "{oid}")?;
            }
            Ok(())
        });
        let mut blobs = io::BufReader::new(child.stdout.take().expect("piped"));
        let mut result = Ok(());
        for (oid, name) in &staged {
            let mut header = String::new();
            blobs.read_line(&mut header)?;
            let size = match header.trim_end().split(' ').collect::<Vec<_>>()[..] {
                [got, "blob", size] if got == oid => size.parse::<u64>().ok(),
                _ => None,
            };
            let Some(size) = size else {
                result = Err(failed("cat-file --batch", header.trim_end().as_bytes()));
                break;
            };
            let mut blob = (&mut blobs).take(size);
            let n = self.scan_reader(name, &mut blob, f)?;
            let mut newline = [0u8; 1];
            blobs.read_exact(&mut newline)?;
            walked.files += 1;
            walked.bytes += n;
        }
        drop(blobs);
        let fed = feeder.join().unwrap_or(Ok(()));
        let out = child.wait_with_output()?;
        result?;
        if !out.status.success() {
            return Err(failed("cat-file --batch", &out.stderr));
        }
        fed?;
        Ok(walked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Prefix, Token};

    fn token() -> String {
        Token::generate(&Prefix::default(), &mut rand::rng())
            .expose()
            .to_owned()
    }

    fn hits(text: &[u8]) -> Vec<(u64, u64, String)> {
        let mut out = Vec::new();
        Scanner::new()
            .scan_reader("t", text, &mut |h| {
                out.push((h.line, h.column, h.id.to_string()))
            })
            .unwrap();
        out
    }

    #[test]
    fn finds_tokens_with_their_line_and_column_and_never_a_look_alike() {
        let (a, b) = (token(), token());
        let mut bad = b.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        let text = format!("first line\nkey = \"{a}\" # é\nü {b}\nbad {bad}\nx{a}\n");
        let found = hits(text.as_bytes());
        let id = |t: &str| t.rsplit_once('_').unwrap().0.to_owned();
        assert_eq!(found, vec![(2, 8, id(&a)), (3, 3, id(&b))]);
    }

    #[test]
    fn a_token_across_chunk_boundaries_is_found_once_at_every_offset() {
        let t = token();
        for at in [
            CHUNK - MAX_TOKEN - 2,
            CHUNK - 40,
            CHUNK - 1,
            CHUNK,
            CHUNK + 3,
        ] {
            let mut text = vec![b'.'; at];
            text[at - 1] = b'\n';
            text.extend_from_slice(t.as_bytes());
            text.extend_from_slice(b"\ntail");
            let found = hits(&text);
            assert_eq!(found.len(), 1, "at {at}: {found:?}");
            assert_eq!(found[0].0, 2, "at {at}");
            assert_eq!(found[0].1, 1, "at {at}");
        }
        // Lines counted across many chunks.
        let mut text = Vec::new();
        for _ in 0..100_000 {
            text.extend_from_slice(b"some text of a line\n");
        }
        text.extend_from_slice(format!("  {t}").as_bytes());
        assert_eq!(
            hits(&text),
            vec![(100_001, 3, t.rsplit_once('_').unwrap().0.to_owned())]
        );
    }

    #[test]
    fn a_split_or_embedded_token_is_not_a_token() {
        let t = token();
        let (l, r) = t.split_at(30);
        assert!(hits(format!("{l}\n{r}").as_bytes()).is_empty());
        assert!(hits(format!("{t}x").as_bytes()).is_empty());
        assert!(hits(format!("_{t}").as_bytes()).is_empty());
        assert_eq!(hits(format!("({t})").as_bytes()).len(), 1);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = token();
        let mut shown = String::new();
        Scanner::new()
            .scan_reader("f", t.as_bytes(), &mut |h| shown = format!("{h:?}"))
            .unwrap();
        assert!(shown.contains("_…") && !shown.contains(&t), "{shown}");
    }
}
#[cfg(test)]
mod boundary_tests {
    use super::*;
    use crate::token::{Prefix, Token};

    #[test]
    fn every_start_offset_near_the_chunk_end_reports_once() {
        let t = Token::generate(&Prefix::default(), &mut rand::rng())
            .expose()
            .to_owned();
        let around = |x: usize| x - 2..x + 3;
        let starts = around(CHUNK - MAX_TOKEN)
            .chain(around(CHUNK + 1 - MAX_TOKEN))
            .chain(around(CHUNK))
            .chain(around(2 * CHUNK - MAX_TOKEN));
        for at in starts {
            for tail in [0usize, 1, 200] {
                let mut text = vec![b' '; at];
                text.extend_from_slice(t.as_bytes());
                text.extend(std::iter::repeat_n(b' ', tail));
                let mut n = 0;
                let mut cols = Vec::new();
                Scanner::new()
                    .scan_reader("t", text.as_slice(), &mut |h| {
                        n += 1;
                        cols.push(h.column);
                    })
                    .unwrap();
                assert_eq!(n, 1, "start {at}, tail {tail}: {cols:?}");
                assert_eq!(cols, vec![at as u64 + 1]);
            }
        }
    }
}
