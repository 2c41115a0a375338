use serde_json::json;

use super::*;

fn pid_claims() -> Map<String, Value> {
    json!({
        "vct": "urn:vn:dinhdanh:pid:1",
        "given_name": "Văn An",
        "family_name": "Nguyễn",
        "birthdate": "2004-03-15",
        "nationalities": ["VN", "FR"],
        "address": { "locality": "Phường Hoàn Kiếm", "country": "VN" },
        "age_equal_or_over": { "18": true, "21": true, "60": false }
    })
    .as_object()
    .unwrap()
    .clone()
}

fn licence_claims() -> Map<String, Value> {
    json!({ "vct": "urn:vn:dinhdanh:driving_licence:1", "licence_class": "B2" })
        .as_object()
        .unwrap()
        .clone()
}

fn candidates<'a>(
    pid: &'a Map<String, Value>,
    licence: &'a Map<String, Value>,
    akis: &'a [String],
) -> Vec<Candidate<'a>> {
    vec![
        Candidate {
            format: FORMAT_SD_JWT_VC,
            vct: "urn:vn:dinhdanh:pid:1",
            claims: pid,
            authority_key_ids: akis,
            holder_bound: true,
        },
        Candidate {
            format: FORMAT_SD_JWT_VC,
            vct: "urn:vn:dinhdanh:driving_licence:1",
            claims: licence,
            authority_key_ids: akis,
            holder_bound: true,
        },
    ]
}

fn paths(m: &CandidateMatch) -> Vec<String> {
    m.claims.iter().map(ToString::to_string).collect()
}

#[test]
fn the_specifications_first_example_parses_and_matches() {
    // OpenID4VP 1.0, section 6.4.1's first example, with our vct.
    let query = DcqlQuery::from_json(&json!({
        "credentials": [{
            "id": "my_credential",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] },
            "claims": [
                { "path": ["family_name"] },
                { "path": ["given_name"] },
                { "path": ["address", "locality"] }
            ]
        }]
    }))
    .unwrap();
    let (pid, licence) = (pid_claims(), licence_claims());
    let evaluation = query.evaluate(&candidates(&pid, &licence, &[])).unwrap();
    assert_eq!(evaluation.queries.len(), 1);
    let matched = &evaluation.queries[0];
    assert_eq!(matched.query, "my_credential");
    assert_eq!(matched.matches.len(), 1);
    assert_eq!(matched.matches[0].candidate, 0);
    assert_eq!(
        paths(&matched.matches[0]),
        ["/family_name", "/given_name", "/address/locality"]
    );
    // Round trip through JSON keeps the query.
    let again = DcqlQuery::from_json(&serde_json::to_value(&query).unwrap()).unwrap();
    assert_eq!(again, query);
}

#[test]
fn claim_sets_take_the_first_option_the_credential_satisfies() {
    let query = DcqlQuery::from_json(&json!({
        "credentials": [{
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] },
            "claims": [
                { "id": "over_65", "path": ["age_equal_or_over", "65"] },
                { "id": "over_18", "path": ["age_equal_or_over", "18"], "values": [true] },
                { "id": "birthdate", "path": ["birthdate"] }
            ],
            "claim_sets": [["over_65"], ["over_18"], ["birthdate"]]
        }]
    }))
    .unwrap();
    let (pid, licence) = (pid_claims(), licence_claims());
    let evaluation = query.evaluate(&candidates(&pid, &licence, &[])).unwrap();
    // No "65" member: the second option, the least revealing one available.
    assert_eq!(
        paths(&evaluation.queries[0].matches[0]),
        ["/age_equal_or_over/18"]
    );
}

#[test]
fn values_must_match_and_null_selects_every_element() {
    let (pid, licence) = (pid_claims(), licence_claims());
    let ask = |claims: Value| {
        DcqlQuery::from_json(&json!({
            "credentials": [{
                "id": "pid", "format": "dc+sd-jwt",
                "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] },
                "claims": claims
            }]
        }))
        .unwrap()
        .evaluate(&candidates(&pid, &licence, &[]))
    };
    let all = ask(json!([{ "path": ["nationalities", null] }])).unwrap();
    assert_eq!(
        paths(&all.queries[0].matches[0]),
        ["/nationalities/0", "/nationalities/1"]
    );
    let vn = ask(json!([{ "path": ["nationalities", null], "values": ["VN"] }])).unwrap();
    assert_eq!(paths(&vn.queries[0].matches[0]), ["/nationalities/0"]);
    let second = ask(json!([{ "path": ["nationalities", 1] }])).unwrap();
    assert_eq!(paths(&second.queries[0].matches[0]), ["/nationalities/1"]);
    assert!(ask(json!([{ "path": ["nationalities", null], "values": ["US"] }])).is_none());
    assert!(ask(json!([{ "path": ["address", "country"], "values": ["LA", "KH"] }])).is_none());
    assert!(ask(json!([{ "path": ["address", "country"], "values": ["VN"] }])).is_some());
    // A path that names nothing, or does not fit the value's shape.
    assert!(ask(json!([{ "path": ["height"] }])).is_none());
    assert!(ask(json!([{ "path": ["given_name", 0] }])).is_none());
    assert!(ask(json!([{ "path": ["address", null] }])).is_none());
    // Without claims: only what is always disclosed.
    let none = DcqlQuery::from_json(&json!({
        "credentials": [{ "id": "pid", "format": "dc+sd-jwt",
            "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] } }]
    }))
    .unwrap()
    .evaluate(&candidates(&pid, &licence, &[]))
    .unwrap();
    assert!(none.queries[0].matches[0].claims.is_empty());
}

#[test]
fn credential_sets_choose_options_and_respect_required() {
    let (pid, licence) = (pid_claims(), licence_claims());
    let query = |sets: Value| {
        DcqlQuery::from_json(&json!({
            "credentials": [
                { "id": "pid", "format": "dc+sd-jwt",
                  "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] },
                  "claims": [{ "path": ["given_name"] }] },
                { "id": "licence", "format": "dc+sd-jwt",
                  "meta": { "vct_values": ["urn:vn:dinhdanh:driving_licence:1"] } },
                { "id": "health", "format": "dc+sd-jwt",
                  "meta": { "vct_values": ["urn:vn:dinhdanh:health_insurance:1"] } }
            ],
            "credential_sets": sets
        }))
        .unwrap()
    };
    let wallet = candidates(&pid, &licence, &[]);
    let ids = |e: &Evaluation| {
        e.queries
            .iter()
            .map(|q| q.query.clone())
            .collect::<Vec<_>>()
    };
    // The first option that can be answered: health is missing, so pid + licence.
    let e = query(json!([{ "options": [["health"], ["pid", "licence"]] }]))
        .evaluate(&wallet)
        .unwrap();
    assert_eq!(ids(&e), ["pid", "licence"]);
    // A required set nobody can satisfy fails the query; an optional one is skipped.
    assert!(
        query(json!([{ "options": [["health"]] }]))
            .evaluate(&wallet)
            .is_none()
    );
    let e = query(json!([
        { "options": [["pid"]] },
        { "options": [["health"]], "required": false }
    ]))
    .evaluate(&wallet)
    .unwrap();
    assert_eq!(ids(&e), ["pid"]);
    assert_eq!(e.unsatisfied_optional, 1);
    // Without credential_sets every query is required.
    let mut all = query(json!([{ "options": [["pid"]] }]));
    all.credential_sets = None;
    assert!(all.evaluate(&wallet).is_none());
}

#[test]
fn holder_binding_and_trusted_authorities() {
    let (pid, licence) = (pid_claims(), licence_claims());
    let akis = vec!["s9tIpPmhxdiuNkHMEWNpYim8S8Y".to_owned()];
    let query = |extra: Value| {
        let mut credential = json!({ "id": "pid", "format": "dc+sd-jwt",
            "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] } });
        credential
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        DcqlQuery::from_json(&json!({ "credentials": [credential] })).unwrap()
    };
    let wallet = candidates(&pid, &licence, &akis);
    let trusted = query(json!({ "trusted_authorities": [{ "type": "aki", "values": [akis[0]] }] }));
    assert!(trusted.evaluate(&wallet).is_some());
    let other = query(json!({ "trusted_authorities": [{ "type": "aki", "values": ["AAAA"] }] }));
    assert!(other.evaluate(&wallet).is_none());
    let federation = query(
        json!({ "trusted_authorities": [{ "type": "openid_federation",
        "values": ["https://trust.example"] }] }),
    );
    assert!(federation.evaluate(&wallet).is_none());
    let mut unbound = wallet.clone();
    unbound[0].holder_bound = false;
    assert!(query(json!({})).evaluate(&unbound).is_none());
    assert!(
        query(json!({ "require_cryptographic_holder_binding": false }))
            .evaluate(&unbound)
            .is_some()
    );
}

#[test]
fn malformed_and_invalid_queries_are_refused() {
    let base = |credential: Value| json!({ "credentials": [credential] });
    let pid = |extra: Value| {
        let mut c = json!({ "id": "pid", "format": "dc+sd-jwt",
            "meta": { "vct_values": ["urn:vn:dinhdanh:pid:1"] } });
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let invalid = [
        json!({ "credentials": [] }),
        json!({ "credentials": [pid(json!({})), pid(json!({}))] }),
        base(pid(json!({ "id": "p i d" }))),
        base(pid(json!({ "id": "" }))),
        base(pid(json!({ "meta": {} }))),
        base(pid(json!({ "meta": { "vct_values": [] } }))),
        base(pid(json!({ "meta": { "vct_values": [1] } }))),
        base(pid(json!({ "claims": [] }))),
        base(pid(json!({ "claims": [{ "path": [] }] }))),
        base(pid(json!({ "claims": [{ "path": ["a"], "values": [] }] }))),
        base(pid(
            json!({ "claims": [{ "path": ["a"], "values": [{ "x": 1 }] }] }),
        )),
        base(pid(
            json!({ "claims": [{ "path": ["a"] }], "claim_sets": [["a"]] }),
        )),
        base(pid(
            json!({ "claims": [{ "id": "a", "path": ["a"] }], "claim_sets": [["b"]] }),
        )),
        base(pid(
            json!({ "claims": [{ "id": "a", "path": ["a"] }], "claim_sets": [[]] }),
        )),
        base(pid(
            json!({ "claims": [{ "id": "a", "path": ["a"] }, { "id": "a", "path": ["b"] }] }),
        )),
        base(pid(json!({ "claim_sets": [["a"]] }))),
        base(pid(json!({ "trusted_authorities": [] }))),
        base(pid(
            json!({ "trusted_authorities": [{ "type": "aki", "values": [] }] }),
        )),
        json!({ "credentials": [pid(json!({}))], "credential_sets": [] }),
        json!({ "credentials": [pid(json!({}))], "credential_sets": [{ "options": [] }] }),
        json!({ "credentials": [pid(json!({}))], "credential_sets": [{ "options": [["x"]] }] }),
    ];
    for query in &invalid {
        assert!(
            matches!(DcqlQuery::from_json(query), Err(DcqlError::Invalid(_))),
            "accepted: {query}"
        );
    }
    let malformed = [
        json!([]),
        json!({}),
        base(pid(json!({ "claims": [{ "path": ["a", -1] }] }))),
        base(pid(json!({ "claims": [{ "path": ["a", 1.5] }] }))),
        base(pid(json!({ "claims": [{ "path": ["a", {}] }] }))),
        base(pid(json!({ "claims": [{ "path": "a" }] }))),
        base(json!({ "id": "pid", "format": "dc+sd-jwt" })),
        base(pid(json!({ "multiple": "yes" }))),
    ];
    for query in &malformed {
        assert!(
            matches!(DcqlQuery::from_json(query), Err(DcqlError::Malformed(_))),
            "accepted: {query}"
        );
    }
    // A path through the wrong shape is valid and simply selects nothing; an unknown format
    // parses and never matches.
    let other_format = base(json!({ "id": "m", "format": "mso_mdoc", "meta": {} }));
    assert!(DcqlQuery::from_json(&other_format).is_ok());
}
