//! Encoding of kept response heads (`H` + url): a version byte, then the
//! [`ResponseHead`] in bincode 2 (`standard`), like page records.

use trawl_common::protocol::ResponseHead;

/// The encoding's version byte; bump it (and decode the old one) when
/// [`ResponseHead`] changes.
const HEAD_VERSION: u8 = 1;

/// Version byte + bincode body.
pub(super) fn encode(head: &ResponseHead) -> Vec<u8> {
    let mut out = vec![HEAD_VERSION];
    if let Ok(body) = bincode::serde::encode_to_vec(head, bincode::config::standard()) {
        out.extend_from_slice(&body);
    }
    out
}

/// Decodes what [`encode`] wrote.
pub(super) fn decode(v: &[u8]) -> Result<ResponseHead, String> {
    match v.split_first() {
        Some((&HEAD_VERSION, body)) => {
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map(|(h, _)| h)
                .map_err(|e| e.to_string())
        }
        Some((v, _)) => Err(format!("unknown response head version {v}")),
        None => Err("empty response head".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_and_bad_versions_are_errors() {
        let head = ResponseHead {
            version: "HTTP/1.1".into(),
            status: 404,
            reason: "Nope".into(),
            headers: vec![("x-a".into(), serde_bytes::ByteBuf::from(b"\xff\x00".to_vec()))],
            remote_ip: Some([127, 0, 0, 1].into()),
            request_headers: vec![],
        };
        let v = encode(&head);
        assert_eq!(decode(&v).unwrap(), head);
        let mut bad = v.clone();
        bad[0] = 9;
        assert!(decode(&bad).unwrap_err().contains("version 9"));
        assert!(decode(&[]).is_err());
    }
}
