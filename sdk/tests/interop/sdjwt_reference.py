#!/usr/bin/env python3
"""Drives the IETF SD-JWT reference implementation (PyPI `sd-jwt` 0.10.4) for
tests/integration/interop.rs.

Usage: sdjwt_reference.py issue|present|verify, with one JSON object on stdin; the result is one
JSON object on stdout. Keys travel on stdin, never on the command line.

issue    {"claims": {...}, "disclosable": ["/json/pointer", ...], "issuer_key": <private JWK>,
          "holder_key": <public JWK>, "typ": "example+sd-jwt", "decoys": true}
         -> {"sd_jwt": "<JWT>~<D1>~...~"}
         A pointer names an object property or an array element to make selectively
         disclosable, at any depth (so a pointer inside another disclosable claim gives
         recursive disclosure); the claims are wrapped in the library's SDObj accordingly.
present  {"sd_jwt": "...", "claims_to_disclose": <the library's own selection structure>,
          "holder_key": <private JWK>, "aud": "...", "nonce": "..."}
         -> {"presentation": "..."}
verify   {"presentation": "...", "issuer_key": <public JWK>, "aud": "..." | null,
          "nonce": "..." | null}
         -> {"verified": true, "claims": {...}} or {"verified": false, "error": "..."}

Bad input is a crash (non-zero exit); a presentation the library refuses is a normal answer.
"""

import json
import sys

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier


def parse_pointer(pointer):
    """RFC 6901: "/a/b~1c" -> ("a", "b/c")."""
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return tuple(
        segment.replace("~1", "/").replace("~0", "~") for segment in pointer[1:].split("/")
    )


def mark_disclosable(value, disclosable, here=()):
    """Wraps the claims at the `disclosable` paths in SDObj, as the library expects: the key of
    an object property, the element itself in an array."""
    if isinstance(value, dict):
        out = {}
        for name, child in value.items():
            path = here + (name,)
            inner = mark_disclosable(child, disclosable, path)
            out[SDObj(name) if path in disclosable else name] = inner
        return out
    if isinstance(value, list):
        out = []
        for index, child in enumerate(value):
            path = here + (str(index),)
            inner = mark_disclosable(child, disclosable, path)
            out.append(SDObj(inner) if path in disclosable else inner)
        return out
    return value


def jwk(value):
    return JWK.from_json(json.dumps(value))


def issue(request):
    disclosable = {parse_pointer(p) for p in request["disclosable"]}
    issuer = SDJWTIssuer(
        mark_disclosable(request["claims"], disclosable),
        jwk(request["issuer_key"]),
        holder_key=jwk(request["holder_key"]),
        sign_alg="ES256",
        add_decoy_claims=request.get("decoys", True),
        serialization_format="compact",
        extra_header_parameters={"typ": request.get("typ", "example+sd-jwt")},
    )
    if len(issuer.ii_disclosures) != len(disclosable):
        raise ValueError("a disclosable path names no claim")
    return {"sd_jwt": issuer.sd_jwt_issuance}


def present(request):
    holder = SDJWTHolder(request["sd_jwt"], serialization_format="compact")
    holder.create_presentation(
        request["claims_to_disclose"],
        nonce=request["nonce"],
        aud=request["aud"],
        holder_key=jwk(request["holder_key"]),
        sign_alg="ES256",
    )
    return {"presentation": holder.sd_jwt_presentation}


def verify(request):
    issuer_key = jwk(request["issuer_key"])
    try:
        verifier = SDJWTVerifier(
            request["presentation"],
            lambda _issuer, _header: issuer_key,
            expected_aud=request.get("aud"),
            expected_nonce=request.get("nonce"),
            serialization_format="compact",
        )
        claims = verifier.get_verified_payload()
    except Exception as error:  # the library signals every rejection with an exception
        return {"verified": False, "error": f"{type(error).__name__}: {error}"}
    return {"verified": True, "claims": claims}


COMMANDS = {"issue": issue, "present": present, "verify": verify}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(COMMANDS)} < request.json")
    result = COMMANDS[sys.argv[1]](json.load(sys.stdin))
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
