//! Token Status List (draft-ietf-oauth-status-list): `lst` decoding (base64url + ZLIB, size
//! limits), Status List Token parsing and verification, and the credential's `status` claim.
//!
//! Input: one byte choosing `bits` (1, 2, 4, 8, or an invalid value), then text used four ways:
//! - as an `lst` value for `StatusList::decode_lst`;
//! - as a compact Status List Token for `UnverifiedStatusListToken::parse` + `verify`;
//! - as the JSON `status` claim for `StatusReference::from_status_claim`;
//! - as the JSON *payload* of a token signed here with the fixed key, so the claim checks
//!   (`sub`, `iat`, `exp`, `ttl`, `status_list`) run behind a valid signature.

#![no_main]

use dinhdanh_sdk::jose::JwsHeader;
use dinhdanh_sdk::status_list::{
    STATUS_LIST_JWT_TYP, StatusList, StatusReference, UnverifiedStatusListToken,
};
use dinhdanh_sdk::jose::sign_compact;
use dinhdanh_sdk_fuzz::{ISSUER_KEY, NOW, issuer_public};
use libfuzzer_sys::fuzz_target;

const URI: &str = "https://x";
/// Lists up to this size are re-encoded to check the round trip.
const ROUND_TRIP_LIMIT: usize = 64 * 1024;

fn bits_from(byte: u8) -> u8 {
    match byte % 8 {
        0 => 1,
        1 => 2,
        2 => 4,
        3 => 8,
        4 => 0,
        5 => 3,
        6 => 16,
        _ => byte,
    }
}

fn exercise(list: &StatusList) {
    let len = list.len();
    for idx in [0, 1, len / 2, len.saturating_sub(1), len, usize::MAX] {
        let _ = list.get(idx);
        let _ = list.status(idx);
    }
    if list.as_bytes().len() <= ROUND_TRIP_LIMIT {
        let lst = list.encode_lst();
        let again = lst
            .as_ref()
            .ok()
            .and_then(|lst| StatusList::decode_lst(list.bits(), lst).ok());
        assert!(again.as_ref() == Some(list), "lst round trip failed: {lst:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let bits = bits_from(first);
    let text = String::from_utf8_lossy(rest);

    if let Ok(list) = StatusList::decode_lst(bits, &text) {
        exercise(&list);
    }

    if let Ok(token) = UnverifiedStatusListToken::parse(&text) {
        let _ = token.header().kid.as_deref();
        if let Ok(token) = token.verify(issuer_public(), URI, NOW) {
            exercise(&token.list);
        }
    }

    let reference = serde_json::from_slice::<serde_json::Value>(rest)
        .ok()
        .and_then(|json| StatusReference::from_status_claim(&json).ok());
    if let Some(reference) = &reference {
        let claim = reference.to_status_claim();
        let again = StatusReference::from_status_claim(&claim);
        assert!(again.as_ref() == Ok(reference), "status claim round trip");
    }

    if rest.first() == Some(&b'{') {
        let Ok(jwt) = sign_compact(&JwsHeader::es256(STATUS_LIST_JWT_TYP), rest, &*ISSUER_KEY)
        else {
            return;
        };
        let Ok(parsed) = UnverifiedStatusListToken::parse(&jwt) else {
            return;
        };
        if let Ok(token) = parsed.with_max_list_bytes(1 << 20).verify(issuer_public(), URI, NOW) {
            exercise(&token.list);
            let _ = token.check_fresh(NOW, 3_600);
            let _ = token.fresh_until();
            let _ = token.status_of(&StatusReference::new(URI, u64::from(first)));
            let _ = token.status_of(&StatusReference::new(URI, u64::MAX));
            if let Some(reference) = &reference {
                let _ = token.status_of(reference);
            }
        }
    }
});
