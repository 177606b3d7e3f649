//! The one door to cryptography: the only module that touches XChaCha20-Poly1305, Argon2id,
//! HKDF and HMAC.
//!
//! A random 256-bit [`MasterKey`] protects a store. It is never stored in the clear: each unlock
//! slot keeps it wrapped under a key-encryption key derived from a passphrase (Argon2id) or read
//! from a key file (256 random bits, expanded with HKDF, no Argon2 needed). From the master key,
//! HKDF derives independent subkeys ([`Keys`]) for sealing rows, for the keyed hash of token
//! secrets, for the blind index of user names and for the audit chain.
//!
//! Must never: log, print or `Debug` key material; compare secrets in variable time; reuse a
//! nonce (every seal draws 192 random bits).

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Length of every symmetric key, MAC and hash used here.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A sealed value or wrapped key failed authentication: edited, truncated, or the wrong key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed")]
pub struct Unauthentic;

/// Fill a fresh array from the operating system's CSPRNG (through rand's thread-local generator).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    out
}

/// The store's master key. Not `Clone`, not `Debug`-printable, zeroized on drop.
///
/// A store's first master key is 256 random bits from which every subkey is derived. A master
/// key made by [`MasterKey::rekeyed`] also carries two subkeys of the key it replaces, which
/// cannot be derived again from new bits: the key that hashed the token secrets (the secrets
/// themselves are not stored, so their hashes cannot be recomputed) and the audit chain's MAC
/// key (so that heads noted before stay meaningful). Slots then wrap the bundle of the three.
pub struct MasterKey {
    seed: Zeroizing<[u8; KEY_LEN]>,
    carried: Option<Carried>,
}

/// Subkeys kept from an earlier master key.
struct Carried {
    secret_mac: Zeroizing<[u8; KEY_LEN]>,
    audit: Zeroizing<[u8; KEY_LEN]>,
}

/// What a slot wraps for a master key that carries subkeys: this tag, the new bits, the secret
/// MAC key, the audit key. A plain master key is wrapped as its 32 bytes, as it always was.
const BUNDLE_TAG: &[u8; 16] = b"tokman bundle v1";
const BUNDLE_LEN: usize = BUNDLE_TAG.len() + 3 * KEY_LEN;

impl MasterKey {
    /// A new random master key, for a new store.
    pub fn generate() -> MasterKey {
        MasterKey {
            seed: Zeroizing::new(random_bytes()),
            carried: None,
        }
    }

    /// A master key from known bytes: for fixed test vectors only.
    #[doc(hidden)]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey {
            seed: Zeroizing::new(bytes),
            carried: None,
        }
    }

    /// A new master key to replace this one (`key rekey`): new random bits, from which the
    /// sealing key and the user blind index key are derived afresh, carrying this key's secret
    /// MAC key and audit key, which must stay the same for stored hashes and the chain.
    pub fn rekeyed(&self) -> MasterKey {
        let (secret_mac, audit) = match &self.carried {
            Some(c) => (c.secret_mac.clone(), c.audit.clone()),
            None => {
                let hk = Hkdf::<Sha256>::new(None, self.seed.as_ref());
                (
                    expand(&hk, b"tokman v1 token secret mac"),
                    expand(&hk, b"tokman v1 audit chain"),
                )
            }
        };
        MasterKey {
            seed: Zeroizing::new(random_bytes()),
            carried: Some(Carried { secret_mac, audit }),
        }
    }

    /// Whether this key carries subkeys of an earlier one (the store was rekeyed).
    pub fn carries_subkeys(&self) -> bool {
        self.carried.is_some()
    }

    /// The subkeys every store operation uses. Each is HKDF-SHA256 of the master key with its
    /// own label, so a leak of one (say, a MAC key through a side channel) says nothing of the
    /// others; a rekeyed master key brings its secret MAC and audit keys along instead.
    pub fn derive(&self) -> Keys {
        let hk = Hkdf::<Sha256>::new(None, self.seed.as_ref());
        let seal_key = expand(&hk, b"tokman v1 row seal");
        let (secret_mac, audit) = match &self.carried {
            Some(c) => (c.secret_mac.clone(), c.audit.clone()),
            None => (
                expand(&hk, b"tokman v1 token secret mac"),
                expand(&hk, b"tokman v1 audit chain"),
            ),
        };
        Keys {
            seal: XChaCha20Poly1305::new_from_slice(seal_key.as_ref())
                .expect("32-byte key is the cipher's key length"),
            secret_mac,
            user_index: expand(&hk, b"tokman v1 user blind index"),
            audit,
        }
    }

    fn wrap(&self, kek: &[u8; KEY_LEN], ad: &[u8]) -> Vec<u8> {
        match &self.carried {
            None => seal_with(&aead_for(kek), ad, self.seed.as_ref()),
            Some(c) => {
                let mut bundle = Zeroizing::new(Vec::with_capacity(BUNDLE_LEN));
                bundle.extend_from_slice(BUNDLE_TAG);
                bundle.extend_from_slice(self.seed.as_ref());
                bundle.extend_from_slice(c.secret_mac.as_ref());
                bundle.extend_from_slice(c.audit.as_ref());
                seal_with(&aead_for(kek), ad, &bundle)
            }
        }
    }

    fn unwrap(kek: &[u8; KEY_LEN], ad: &[u8], wrapped: &[u8]) -> Result<MasterKey, Unauthentic> {
        let plain = open_with(&aead_for(kek), ad, wrapped)?;
        let key = |range: std::ops::Range<usize>| -> Result<Zeroizing<[u8; KEY_LEN]>, Unauthentic> {
            let bytes: [u8; KEY_LEN] = plain
                .get(range)
                .and_then(|b| b.try_into().ok())
                .ok_or(Unauthentic)?;
            Ok(Zeroizing::new(bytes))
        };
        match plain.len() {
            KEY_LEN => Ok(MasterKey {
                seed: key(0..KEY_LEN)?,
                carried: None,
            }),
            BUNDLE_LEN if plain.starts_with(BUNDLE_TAG) => {
                let at = BUNDLE_TAG.len();
                Ok(MasterKey {
                    seed: key(at..at + KEY_LEN)?,
                    carried: Some(Carried {
                        secret_mac: key(at + KEY_LEN..at + 2 * KEY_LEN)?,
                        audit: key(at + 2 * KEY_LEN..at + 3 * KEY_LEN)?,
                    }),
                })
            }
            _ => Err(Unauthentic),
        }
    }
}

fn expand(hk: &Hkdf<Sha256>, label: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so this cannot fail.
    let _ = hk.expand(label, k.as_mut());
    k
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

/// The subkeys of an unlocked store. Not `Clone`, no key material in `Debug`.
pub struct Keys {
    seal: XChaCha20Poly1305,
    secret_mac: Zeroizing<[u8; KEY_LEN]>,
    user_index: Zeroizing<[u8; KEY_LEN]>,
    audit: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(…)")
    }
}

impl Keys {
    /// Encrypt and authenticate `plaintext`, binding `ad` (the row's id and plaintext columns):
    /// the result opens only with the same `ad`, so a sealed value moved to another row or
    /// column does not open.
    pub fn seal(&self, ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.seal, ad, plaintext)
    }

    /// The inverse of [`Keys::seal`]; fails on any change to the sealed bytes or to `ad`.
    pub fn open(&self, ad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
        open_with(&self.seal, ad, sealed)
    }

    /// The keyed hash kept in place of a token's secret.
    pub fn secret_mac(&self, token_text: &str) -> [u8; KEY_LEN] {
        hmac(&self.secret_mac, &[token_text.as_bytes()])
    }

    /// Whether `token_text` is the token whose keyed hash is `stored`, in constant time.
    pub fn secret_matches(&self, token_text: &str, stored: &[u8]) -> bool {
        let mac = self.secret_mac(token_text);
        stored.len() == KEY_LEN && bool::from(mac.ct_eq(stored))
    }

    /// A blind index of a user name: lets the store find and constrain a user's tokens (one
    /// active token per user) without holding the name in the clear.
    pub fn user_index(&self, user: &str) -> [u8; KEY_LEN] {
        hmac(&self.user_index, &[user.as_bytes()])
    }

    /// A MAC for the audit chain and its anchors, over length-prefixed parts so that no two
    /// different part lists give the same input.
    pub fn audit_mac(&self, parts: &[&[u8]]) -> [u8; KEY_LEN] {
        hmac(&self.audit, parts)
    }

    /// Whether `expected` is the audit MAC of `parts`, in constant time.
    pub fn audit_mac_matches(&self, parts: &[&[u8]], expected: &[u8]) -> bool {
        let mac = self.audit_mac(parts);
        expected.len() == KEY_LEN && bool::from(mac.ct_eq(expected))
    }
}

fn hmac(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> [u8; KEY_LEN] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn aead_for(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new_from_slice(key).expect("32-byte key is the cipher's key length")
}

fn seal_with(cipher: &XChaCha20Poly1305, ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
    let nonce = XNonce::from(nonce_bytes);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    out
}

fn open_with(
    cipher: &XChaCha20Poly1305,
    ad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(Unauthentic);
    }
    let (nonce_bytes, ct) = sealed.split_at(NONCE_LEN);
    let nonce_arr: [u8; NONCE_LEN] = nonce_bytes.try_into().map_err(|_| Unauthentic)?;
    cipher
        .decrypt(&XNonce::from(nonce_arr), Payload { msg: ct, aad: ad })
        .map(Zeroizing::new)
        .map_err(|_| Unauthentic)
}

/// Argon2id cost parameters, stored with each passphrase slot so they can be raised later
/// without breaking existing stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: above OWASP's Argon2id floor, ~0.2 s on a laptop core.
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// The most a slot may ask for: 1 GiB, 10 passes, 16 lanes.
    ///
    /// The parameters are read from the store before anything can be authenticated (they are
    /// bound into the slot's associated data, but that is checked only after Argon2 has run),
    /// so whoever can write the store file could otherwise set 4 GiB and dozens of passes and
    /// make every unlock take minutes and exhaust memory: a denial of service on every
    /// command, cron job and service using the store. These caps are 16 times the default
    /// memory and over 3 times its passes: room for an operator who raises the cost on
    /// purpose, while the worst a writer can force stays near ten seconds and 1 GiB.
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    pub const MAX_T: u32 = 10;
    pub const MAX_P: u32 = 16;

    /// Whether these parameters are within the caps above (a slot beyond them was edited:
    /// tokman never writes such a slot).
    pub fn within_limits(&self) -> bool {
        self.m_kib <= Self::MAX_M_KIB && self.t <= Self::MAX_T && self.p <= Self::MAX_P
    }
}

impl fmt::Display for KdfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} KiB, t={}, p={}", self.m_kib, self.t, self.p)
    }
}

/// A passphrase as typed or read from a file/variable. Zeroized on drop, no `Debug` contents.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: String) -> Passphrase {
        Passphrase(Zeroizing::new(text))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

fn passphrase_kek(
    passphrase: &Passphrase,
    params: KdfParams,
    salt: &[u8],
) -> Result<Zeroizing<[u8; KEY_LEN]>, Unauthentic> {
    // Parameters come from the store file: out-of-range ones are a damaged slot, not a panic,
    // and an edited slot must not make tokman try to allocate terabytes.
    if !params.within_limits() {
        return Err(Unauthentic);
    }
    let p =
        Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN)).map_err(|_| Unauthentic)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut kek = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase.expose().as_bytes(), salt, kek.as_mut())
        .map_err(|_| Unauthentic)?;
    Ok(kek)
}

/// Wrap the master key under a passphrase. `ad` binds the slot's description (kind, salt,
/// parameters), so editing them in the file makes the slot fail rather than weaken.
pub fn wrap_with_passphrase(
    master: &MasterKey,
    passphrase: &Passphrase,
    params: KdfParams,
    salt: &[u8],
    ad: &[u8],
) -> Result<Vec<u8>, Unauthentic> {
    let kek = passphrase_kek(passphrase, params, salt)?;
    Ok(master.wrap(&kek, ad))
}

/// Recover the master key from a passphrase slot; `Unauthentic` means a wrong passphrase (or an
/// edited slot, which cannot be told apart).
pub fn unwrap_with_passphrase(
    passphrase: &Passphrase,
    params: KdfParams,
    salt: &[u8],
    ad: &[u8],
    wrapped: &[u8],
) -> Result<MasterKey, Unauthentic> {
    let kek = passphrase_kek(passphrase, params, salt)?;
    MasterKey::unwrap(&kek, ad, wrapped)
}

const KEY_FILE_TAG: &str = "tokman-key-v1:";
/// Base64 (padded) of [`KEY_LEN`] bytes.
const KEY_FILE_B64_LEN: usize = KEY_LEN.div_ceil(3) * 4;

/// The 256 random bits of a key file. Zeroized on drop, no `Debug` contents.
pub struct KeyFileKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for KeyFileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFileKey(…)")
    }
}

impl KeyFileKey {
    /// The length of [`KeyFileKey::encode`]'s text: tag, base64, newline.
    pub const ENCODED_LEN: usize = KEY_FILE_TAG.len() + KEY_FILE_B64_LEN + 1;

    pub fn generate() -> KeyFileKey {
        KeyFileKey(Zeroizing::new(random_bytes()))
    }

    /// The file's text: a tag naming the format, then the key in base64, then a newline.
    pub fn encode(&self) -> Zeroizing<String> {
        use base64::Engine;
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0.as_ref()));
        Zeroizing::new(format!("{KEY_FILE_TAG}{}\n", b64.as_str()))
    }

    /// Read a key file's text; `None` when it is not a tokman key file.
    pub fn decode(text: &[u8]) -> Option<KeyFileKey> {
        use base64::Engine;
        let text = std::str::from_utf8(text).ok()?.trim();
        let b64 = text.strip_prefix(KEY_FILE_TAG)?;
        let bytes = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(b64).ok()?);
        let arr: [u8; KEY_LEN] = bytes.as_slice().try_into().ok()?;
        Some(KeyFileKey(Zeroizing::new(arr)))
    }

    fn kek(&self) -> Zeroizing<[u8; KEY_LEN]> {
        // The file already holds 256 uniformly random bits: a KDF stretch would add cost and
        // no strength, so HKDF only separates this use from any other.
        let hk = Hkdf::<Sha256>::new(None, self.0.as_ref());
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        let _ = hk.expand(b"tokman v1 key file kek", k.as_mut());
        k
    }

    pub fn wrap(&self, master: &MasterKey, ad: &[u8]) -> Vec<u8> {
        master.wrap(&self.kek(), ad)
    }

    pub fn unwrap(&self, ad: &[u8], wrapped: &[u8]) -> Result<MasterKey, Unauthentic> {
        MasterKey::unwrap(&self.kek(), ad, wrapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_opens_only_with_same_key_and_ad() {
        let keys = MasterKey::generate().derive();
        let sealed = keys.seal(b"id=1", b"hello");
        assert_eq!(keys.open(b"id=1", &sealed).unwrap().as_slice(), b"hello");
        assert_eq!(keys.open(b"id=2", &sealed), Err(Unauthentic));
        let other = MasterKey::generate().derive();
        assert_eq!(other.open(b"id=1", &sealed), Err(Unauthentic));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(keys.open(b"id=1", &bad), Err(Unauthentic), "flip at {i}");
        }
        assert_eq!(
            keys.open(b"id=1", &sealed[..sealed.len() - 1]),
            Err(Unauthentic)
        );
        assert_eq!(keys.open(b"id=1", b""), Err(Unauthentic));
    }

    #[test]
    fn seal_uses_fresh_nonces() {
        let keys = MasterKey::generate().derive();
        assert_ne!(keys.seal(b"", b"x"), keys.seal(b"", b"x"));
    }

    #[test]
    fn subkeys_are_distinct_and_deterministic() {
        let a = MasterKey::from_bytes([7; KEY_LEN]).derive();
        let b = MasterKey::from_bytes([7; KEY_LEN]).derive();
        assert_eq!(a.user_index("alice"), b.user_index("alice"));
        assert_ne!(a.user_index("alice"), a.secret_mac("alice"));
        assert_ne!(a.user_index("alice"), a.audit_mac(&[b"alice"]));
        assert_ne!(a.user_index("alice"), a.user_index("Alice"));
    }

    #[test]
    fn secret_matches_is_exact() {
        let keys = MasterKey::generate().derive();
        let mac = keys.secret_mac("tm_x");
        assert!(keys.secret_matches("tm_x", &mac));
        assert!(!keys.secret_matches("tm_y", &mac));
        assert!(!keys.secret_matches("tm_x", &mac[..31]));
    }

    #[test]
    fn audit_mac_parts_are_unambiguous() {
        let keys = MasterKey::generate().derive();
        assert_ne!(
            keys.audit_mac(&[b"ab", b"c"]),
            keys.audit_mac(&[b"a", b"bc"])
        );
    }

    #[test]
    fn passphrase_wrap_round_trip_and_wrong_passphrase() {
        // Small parameters keep the unit test fast; the store always uses at least DEFAULT.
        let params = KdfParams {
            m_kib: 64,
            t: 1,
            p: 1,
        };
        let master = MasterKey::generate();
        let pass = Passphrase::new("correct horse".into());
        let wrapped =
            wrap_with_passphrase(&master, &pass, params, b"saltsaltsaltsalt", b"ad").unwrap();
        let back =
            unwrap_with_passphrase(&pass, params, b"saltsaltsaltsalt", b"ad", &wrapped).unwrap();
        assert_eq!(back.seed.as_ref(), master.seed.as_ref());
        let wrong = Passphrase::new("wrong".into());
        assert!(
            unwrap_with_passphrase(&wrong, params, b"saltsaltsaltsalt", b"ad", &wrapped).is_err()
        );
        assert!(
            unwrap_with_passphrase(&pass, params, b"saltsaltsaltsalX", b"ad", &wrapped).is_err()
        );
        assert!(
            unwrap_with_passphrase(&pass, params, b"saltsaltsaltsalt", b"xx", &wrapped).is_err()
        );
        let huge = KdfParams {
            m_kib: u32::MAX,
            t: 3,
            p: 1,
        };
        assert!(unwrap_with_passphrase(&pass, huge, b"saltsaltsaltsalt", b"ad", &wrapped).is_err());
        let silly = KdfParams {
            m_kib: 0,
            t: 0,
            p: 0,
        };
        assert!(
            unwrap_with_passphrase(&pass, silly, b"saltsaltsaltsalt", b"ad", &wrapped).is_err()
        );
    }

    #[test]
    fn key_file_round_trip() {
        let master = MasterKey::generate();
        let kf = KeyFileKey::generate();
        let text = kf.encode();
        assert!(text.starts_with(KEY_FILE_TAG) && text.ends_with('\n'));
        assert_eq!(text.len(), KeyFileKey::ENCODED_LEN);
        let back = KeyFileKey::decode(text.as_bytes()).unwrap();
        let wrapped = kf.wrap(&master, b"slot");
        assert_eq!(
            back.unwrap(b"slot", &wrapped).unwrap().seed.as_ref(),
            master.seed.as_ref()
        );
        assert!(KeyFileKey::generate().unwrap(b"slot", &wrapped).is_err());
        assert!(KeyFileKey::decode(b"tokman-key-v1:AAAA").is_none());
        assert!(KeyFileKey::decode(b"garbage").is_none());
        assert!(KeyFileKey::decode(&[0xff, 0xfe]).is_none());
    }

    #[test]
    fn a_rekeyed_master_key_changes_sealing_and_user_index_and_carries_the_rest() {
        let old = MasterKey::from_bytes([7; KEY_LEN]);
        let new = old.rekeyed();
        let (a, b) = (old.derive(), new.derive());
        assert_eq!(a.secret_mac("tm_x"), b.secret_mac("tm_x"));
        assert_eq!(a.audit_mac(&[b"e"]), b.audit_mac(&[b"e"]));
        assert_ne!(a.user_index("alice"), b.user_index("alice"));
        let sealed = b.seal(b"ad", b"v");
        assert!(a.open(b"ad", &sealed).is_err());
        // A second rekey carries the same subkeys on, and a slot round-trips the bundle.
        let newer = new.rekeyed();
        let c = newer.derive();
        assert_eq!(a.secret_mac("tm_x"), c.secret_mac("tm_x"));
        assert_ne!(b.user_index("alice"), c.user_index("alice"));
        let kf = KeyFileKey::generate();
        let wrapped = kf.wrap(&newer, b"slot");
        let back = kf.unwrap(b"slot", &wrapped).unwrap();
        assert!(back.carries_subkeys());
        let d = back.derive();
        assert_eq!(d.user_index("alice"), c.user_index("alice"));
        assert_eq!(d.audit_mac(&[b"e"]), a.audit_mac(&[b"e"]));
        assert!(c.open(b"ad", &d.seal(b"ad", b"v")).is_ok());
        // A plain key is still wrapped as its 32 bytes.
        let plain = kf.wrap(&old, b"slot");
        assert_eq!(plain.len(), NONCE_LEN + KEY_LEN + TAG_LEN);
        assert!(!kf.unwrap(b"slot", &plain).unwrap().carries_subkeys());
    }

    #[test]
    fn debug_never_shows_key_material() {
        let kf = KeyFileKey::from_test([0x41; KEY_LEN]);
        assert_eq!(format!("{kf:?}"), "KeyFileKey(…)");
        assert_eq!(
            format!("{:?}", MasterKey::from_bytes([1; KEY_LEN])),
            "MasterKey(…)"
        );
        assert_eq!(
            format!("{:?}", Passphrase::new("hunter2".into())),
            "Passphrase(…)"
        );
    }

    impl KeyFileKey {
        fn from_test(bytes: [u8; KEY_LEN]) -> KeyFileKey {
            KeyFileKey(Zeroizing::new(bytes))
        }
    }
}
