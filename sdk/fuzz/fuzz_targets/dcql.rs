//! DCQL queries a wallet receives inside presentation requests: no input may panic; an accepted
//! query round trips through JSON and evaluates against a sample wallet without panicking.

#![no_main]

use dinhdanh_sdk::openid4vp::dcql::{Candidate, DcqlQuery, FORMAT_SD_JWT_VC};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(query) = DcqlQuery::from_json(&json) else {
        return;
    };
    let again = serde_json::to_value(&query).expect("an accepted query serializes");
    assert_eq!(DcqlQuery::from_json(&again).as_ref(), Ok(&query));
    let claims: Map<String, Value> = json!({
        "given_name": "Văn An",
        "nationalities": ["VN", "FR"],
        "address": { "locality": "Hoàn Kiếm", "country": "VN" },
        "age_equal_or_over": { "18": true }
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let akis = vec!["AAAA".to_owned()];
    let _ = query.evaluate(&[Candidate {
        format: FORMAT_SD_JWT_VC,
        vct: "urn:vn:dinhdanh:pid:1",
        claims: &claims,
        authority_key_ids: &akis,
        holder_bound: true,
    }]);
});
