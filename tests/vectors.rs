//! Fixed test vectors for the store's formats: a sealed value, a key-file-wrapped master key,
//! the keyed hashes and the token checksum, produced once and checked in under
//! `tests/vectors/`. A change to any format (cipher, AD layout, HKDF labels, key-file text,
//! checksum alphabet) makes these fail instead of silently locking users out of their stores.
//!
//! To (re)create a missing vector on purpose: `TOKMAN_WRITE_VECTORS=1 cargo test --test vectors`.
//! Never rewrite an existing vector to make a test pass: that is exactly the format change
//! these exist to catch.

use std::path::PathBuf;

use tokman::crypto::{KeyFileKey, MasterKey};

const AD: &[u8] = b"tokman test vector: row ad";
const PLAIN: &[u8] = br#"{"user":"alice","note":"a sealed row"}"#;
const WRAP_AD: &[u8] = b"tokman test vector: slot ad";
const TOKEN_BODY43: &str = "tm_0123456789ab_abcdefghijABCDEFGHIJ0123456789klmnopqrstuvw";

fn master() -> MasterKey {
    MasterKey::from_bytes([7; 32])
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The checked-in vector, or (only when asked, and only when missing) a freshly made one.
fn vector(name: &str, make: impl FnOnce() -> String) -> String {
    let p = path(name);
    match std::fs::read_to_string(&p) {
        Ok(text) => text.trim_end().to_owned(),
        Err(_) if std::env::var_os("TOKMAN_WRITE_VECTORS").is_some() => {
            let text = make();
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("{text}\n")).unwrap();
            text
        }
        Err(e) => panic!("missing vector {}: {e}", p.display()),
    }
}

#[test]
fn sealed_value_still_opens() {
    let keys = master().derive();
    let sealed = unhex(&vector("sealed.hex", || hex(&keys.seal(AD, PLAIN))));
    assert_eq!(&keys.open(AD, &sealed).expect("opens")[..], PLAIN);
    // And only with its own AD and bytes.
    assert!(keys.open(b"another row", &sealed).is_err());
    let mut edited = sealed.clone();
    edited[30] ^= 1;
    assert!(keys.open(AD, &edited).is_err());
    assert!(
        MasterKey::from_bytes([8; 32])
            .derive()
            .open(AD, &sealed)
            .is_err()
    );
}

fn key_file() -> KeyFileKey {
    let text = vector("keyfile.txt", || {
        KeyFileKey::decode(
            format!(
                "tokman-key-v1:{}",
                "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="
            )
            .as_bytes(),
        )
        .expect("a key file")
        .encode()
        .trim_end()
        .to_owned()
    });
    KeyFileKey::decode(text.as_bytes()).expect("the checked-in key file still decodes")
}

#[test]
fn key_file_wrapped_master_key_still_unwraps() {
    let kf = key_file();
    let wrapped = unhex(&vector("wrapped_keyfile.hex", || {
        hex(&kf.wrap(&master(), WRAP_AD))
    }));
    let unwrapped = kf.unwrap(WRAP_AD, &wrapped).expect("unwraps");
    // The unwrapped key is the master key: it opens the sealed vector.
    let sealed = unhex(&vector("sealed.hex", || {
        hex(&master().derive().seal(AD, PLAIN))
    }));
    assert_eq!(&unwrapped.derive().open(AD, &sealed).unwrap()[..], PLAIN);
    assert!(kf.unwrap(b"another slot", &wrapped).is_err());
}

#[test]
fn keyed_hashes_are_stable() {
    let keys = master().derive();
    let token = token_vector();
    let secret = vector("secret_mac.hex", || hex(&keys.secret_mac(&token)));
    assert_eq!(hex(&keys.secret_mac(&token)), secret);
    assert!(keys.secret_matches(&token, &unhex(&secret)));
    let user = vector("user_index.hex", || hex(&keys.user_index("alice")));
    assert_eq!(hex(&keys.user_index("alice")), user);
    let audit = vector("audit_mac.hex", || hex(&keys.audit_mac(&[b"a", b"bc"])));
    assert_eq!(hex(&keys.audit_mac(&[b"a", b"bc"])), audit);
}

/// CRC32 (IEEE) of the text, 6 base62 digits, big-endian: computed independently here.
fn checksum(text: &str) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast::hash(text.as_bytes());
    let mut out = [b'0'; 6];
    for c in out.iter_mut().rev() {
        *c = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

fn token_vector() -> String {
    vector("token.txt", || {
        format!("{TOKEN_BODY43}{}", checksum(TOKEN_BODY43))
    })
}

#[test]
fn token_checksum_vector() {
    let token = token_vector();
    assert_eq!(token.len(), 65);
    assert_eq!(&token[..token.len() - 6], TOKEN_BODY43);
    assert_eq!(&token[token.len() - 6..], checksum(TOKEN_BODY43));
    let presented = tokman::token::parse(&token).expect("the vector token parses");
    assert_eq!(presented.id().as_str(), "tm_0123456789ab");
    // Any other last character is a checksum mismatch.
    for c in ['0', 'z', 'Q'] {
        let mut t = token[..token.len() - 1].to_owned();
        if token.ends_with(c) {
            continue;
        }
        t.push(c);
        assert!(tokman::token::parse(&t).is_err(), "{t}");
    }
}
