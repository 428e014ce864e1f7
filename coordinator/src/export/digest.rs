//! WARC digests: `sha1:` + the RFC 4648 base32 of the SHA-1, the form the
//! WARC spec's examples, warcio and the Wayback tools use.

use sha1::{Digest as _, Sha1};

/// `sha1:<BASE32>` of `data`.
pub(super) fn sha1_base32(data: &[u8]) -> String {
    let sum = Sha1::digest(data);
    format!("sha1:{}", base32(&sum))
}

/// The SHA-1 of `data` (record ids are derived from it).
pub(super) fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

/// RFC 4648 base32, upper case, padded.
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                let idx = (bits >> (35 - i * 5)) & 31;
                out.push(char::from(ALPHABET[usize::try_from(idx).unwrap_or(0)]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(base32(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn sha1_digest_of_the_empty_payload_is_the_well_known_one() {
        // sha1("") = da39a3ee5e6b4b0d3255bfef95601890afd80709
        assert_eq!(sha1_base32(b""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
    }
}
