"""The wallet and verifier journey through the generated Python bindings of dinhdanh-ffi.

A real dinhdanh-server (zero-config, SQLite) makes a level-2 citizen and a counter offer; the
wallet, with a keystore written here in Python (keys never leave it), receives the credential
through a Python HTTP transport; a bank (registered with `dinhdanh-server rp register` from its
own key's CSR: access certificate and registration) asks by QR code for three claims, one beyond its registration,
and hears access_denied; asking within it, the wallet shows the consent and answers; the bank
verifies offline, once; revoked by the agency, the bank is refused by the wallet once its trust
data is refreshed. Prints the cost of one FFI round trip.

Run by uniffi/tests/bindings.rs with: PYTHONPATH (the generated module and the library),
DINHDANH_SERVER, DINHDANH_CLI (the binaries), DINHDANH_WORK (a scratch directory).
"""

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.exceptions import InvalidTag

import dinhdanh_ffi as ffi

SERVER = os.environ["DINHDANH_SERVER"]
CLI = os.environ["DINHDANH_CLI"]
WORK = os.environ["DINHDANH_WORK"]


class PythonKeyStore(ffi.KeyStore):
    """Keys in this object only: the SDK sees aliases, public keys and signatures."""

    def __init__(self):
        self.signing = {}
        self.wrapping = {}

    def generate_signing_key(self, alias):
        if alias in self.signing or alias in self.wrapping:
            raise ffi.KeyStoreFailure.Refused(f"{alias} exists")
        self.signing[alias] = ec.generate_private_key(ec.SECP256R1())

    def public_key(self, alias):
        key = self._signing(alias)
        return key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def sign(self, alias, message):
        return self._signing(alias).sign(bytes(message), ec.ECDSA(hashes.SHA256()))

    def generate_wrapping_key(self, alias):
        self.wrapping[alias] = AESGCM.generate_key(bit_length=256)

    def wrap(self, alias, secret):
        nonce = os.urandom(12)
        return nonce + AESGCM(self._wrapping(alias)).encrypt(nonce, bytes(secret), None)

    def unwrap(self, alias, wrapped):
        wrapped = bytes(wrapped)
        try:
            return AESGCM(self._wrapping(alias)).decrypt(wrapped[:12], wrapped[12:], None)
        except InvalidTag:
            raise ffi.KeyStoreFailure.Unwrap()

    def contains(self, alias):
        return alias in self.signing or alias in self.wrapping

    def delete(self, alias):
        self.signing.pop(alias, None)
        self.wrapping.pop(alias, None)

    def _signing(self, alias):
        if alias not in self.signing:
            raise ffi.KeyStoreFailure.NotFound(alias)
        return self.signing[alias]

    def _wrapping(self, alias):
        if alias not in self.wrapping:
            raise ffi.KeyStoreFailure.NotFound(alias)
        return self.wrapping[alias]


class PythonTransport(ffi.Transport):
    """HTTP through urllib; every status is a response."""

    def send(self, request):
        url = request.url.replace("//localhost", "//127.0.0.1")
        req = urllib.request.Request(
            url,
            data=bytes(request.body) if request.method == "POST" else None,
            method=request.method,
            headers={h.name: h.value for h in request.headers},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        except OSError as error:
            raise ffi.TransportFailure.Failed(str(error))
        return ffi.HttpResponse(
            status=status,
            headers=[ffi.HttpHeader(name=k, value=v) for k, v in headers.items()],
            body=body,
        )


def cli(*args, env=None):
    return subprocess.run(
        [CLI, *args], check=True, capture_output=True, text=True, cwd=WORK, env=env
    ).stdout


def file(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def revoked_and_forged(client_id, bank_pem):
    """A shop checks a revoked credential and a forged one: two different error kinds.

    The issuer here is the CLI (an agency root, an issuing certificate, a PID with status entry 7,
    a status list that revokes entry 7), so a revocation needs no staff session; the wallet's
    part is the CLI's presentation with key binding to the shop's request.
    """
    for name in ("ca", "issuer", "holder"):
        file(f"{name}.jwk", cli("keygen"))
    file("ca.pem", cli("x509", "dev-ca", "--key", "ca.jwk", "--cn", "agency root"))
    file("issuer.pem", cli("x509", "dev-cert", "--ca-key", "ca.jwk", "--ca-cert", "ca.pem",
                           "--subject-key", "issuer.jwk", "--uri", "https://id.dinhdanh.example"))
    file("claims.json", json.dumps({
        "iss": "https://id.dinhdanh.example", "personal_identifier": "001204012345",
        "family_name": "Nguyễn", "given_name": "Văn An", "birthdate": "2004-03-15", "sex": 1,
        "nationalities": ["VN"], "issuing_authority": "Bộ Công an", "issuing_country": "VN",
    }))
    status_uri = "https://id.dinhdanh.example/status/1"
    pid = file("pid.sdjwt", cli(
        "sd-jwt", "issue", "--issuer-key", "issuer.jwk", "--x5c", "issuer.pem",
        "--holder-jwk", "holder.jwk", "--vct", "urn:vn:dinhdanh:pid:1", "--claims", "claims.json",
        "--sd", "/personal_identifier,/family_name,/given_name,/birthdate",
        "--status-idx", "7", "--status-uri", status_uri,
    ))
    status = subprocess.run(
        [CLI, "status-list", "sign", "--key", "issuer.jwk", "--x5c", "issuer.pem",
         "--uri", status_uri, "--bits", "2", "--ttl", "3600"],
        input="[0,0,0,0,0,0,0,1]", check=True, capture_output=True, text=True, cwd=WORK,
    ).stdout.strip()

    # The CLI dates what it makes by the clock: so does the shop.
    now = int(time.time())
    shop = ffi.Verifier(ffi.VerifierConfig(
        signing_key_jwk=open(os.path.join(WORK, "bank.jwk")).read(),
        certificate_chain_pem=bank_pem,
        client_id=client_id,
        response_uri="https://bank.example.vn/openid4vp/response",
        issuer_anchors_pem=open(os.path.join(WORK, "ca.pem")).read(),
        trust_as_of=now,
    ))
    shop.add_status_list(status_uri, status, now)

    def answer(forge):
        dcql = {"credentials": [{"id": "pid", "format": "dc+sd-jwt",
                                 "meta": {"vct_values": ["urn:vn:dinhdanh:pid:1"]},
                                 "claims": [{"path": ["given_name"]}]}]}
        created = shop.create_request(json.dumps(dcql), now)
        jwt = urllib.parse.parse_qs(created.uri.split("?", 1)[1])["request"][0]
        payload = jwt.split(".")[1]
        request = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        with open(pid) as credential:
            presentation = subprocess.run(
                [CLI, "sd-jwt", "present", "--holder-key", "holder.jwk", "--disclose",
                 "/given_name", "--aud", client_id, "--nonce=" + request["nonce"]],
                stdin=credential, check=True, capture_output=True, text=True, cwd=WORK,
            ).stdout.strip()
        if forge:
            # One character of the issuer's signature changed.
            at = presentation.index("~") - 10
            presentation = (presentation[:at] + ("B" if presentation[at] == "A" else "A")
                            + presentation[at + 1:])
        return urllib.parse.urlencode({
            "vp_token": json.dumps({"pid": [presentation]}), "state": request["state"],
        })

    try:
        shop.receive(answer(forge=False), now)
        raise AssertionError("a revoked credential was accepted")
    except ffi.DinhdanhError.Revoked as error:
        print(f"python: revoked credential refused: {error}")
    try:
        shop.receive(answer(forge=True), now)
        raise AssertionError("a forged credential was accepted")
    except ffi.DinhdanhError.Forged as error:
        print(f"python: forged credential refused: {error}")


def document_signatures(now):
    """A citizen's key in the Python keystore gets a certificate (the CLI's development CA plays
    the citizen signing CA), signs a contract, a PDF and a JSON form; the FFI and the CLI verify."""
    keys = PythonKeyStore()
    keys.generate_signing_key("document-signing")
    csr = ffi.signing_certificate_request(keys, "document-signing")
    assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    file("signing-ca.jwk", cli("keygen"))
    file("signing-root.pem", cli("x509", "dev-ca", "--key", "signing-ca.jwk"))
    file("citizen.csr", csr)
    chain = cli(
        "x509", "dev-signing-cert", "--ca-key", "signing-ca.jwk", "--ca-cert",
        "signing-root.pem", "--csr", "citizen.csr", "--name", "Nguyễn Văn An",
        "--id-number", "001090000001",
    )
    signer = ffi.DocumentSigner(keys, "document-signing", chain)
    trust = ffi.SignatureTrust(
        anchors_pem=open(os.path.join(WORK, "signing-root.pem")).read(),
        crl=None, ocsp=None, now=now, max_revocation_age=86400,
    )
    contract = "Hợp đồng thuê nhà".encode()
    cms = signer.sign_cms(contract, now)
    verdict = ffi.verify_cms_signature(cms, contract, trust)
    assert verdict.valid and verdict.signer_uid == "CCCD:001090000001", verdict
    assert verdict.revocation == ffi.RevocationStatus.UNKNOWN
    changed = ffi.verify_cms_signature(cms, b"other", trust)
    assert changed.reason == ffi.SignatureRejection.CONTENT_MISMATCH, changed
    # The CLI (another reader of the same bytes) agrees.
    with open(os.path.join(WORK, "contract.txt"), "wb") as f:
        f.write(contract)
    checked = subprocess.run(
        [CLI, "signature", "verify", "cms", "--content", "contract.txt", "--trust-anchor",
         "signing-root.pem", "--now", str(now)],
        input=bytes(cms), capture_output=True, cwd=WORK,
    )
    assert checked.returncode == 0 and json.loads(checked.stdout)["valid"], checked
    pdf_path = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../../../sdk/tests/vectors/pdf/minimal.pdf"
    )
    pdf = open(pdf_path, "rb").read()
    signed = signer.sign_pdf(pdf, now)
    assert bytes(signed).startswith(pdf)
    [pdf_verdict] = ffi.verify_pdf_signatures(signed, trust)
    assert pdf_verdict.valid, pdf_verdict
    form = b'{"form":"dang-ky-tam-tru"}'
    jws = signer.sign_jws(form, now)
    assert ffi.verify_jws_signature(jws, form, trust).valid
    try:
        ffi.DocumentSigner(keys, "absent", chain)
        raise AssertionError("a signer without a key was made")
    except ffi.DinhdanhError.KeyStore:
        pass
    print("python: documents signed and verified through the keystore")


class BankRoute(ffi.Transport):
    """The SDK's own HTTP client, except that answers posted to the bank reach the bank here
    (its response URI is https on its DNS name; the bank in this test runs in this process)."""

    def __init__(self, bank, prefix):
        self.bank, self.prefix, self.http = bank, prefix, ffi.http_transport()
        self.verified = []

    def send(self, request):
        if not request.url.startswith(self.prefix):
            return self.http.send(request)
        self.verified += self.bank.receive(bytes(request.body).decode(), int(time.time()))
        return ffi.HttpResponse(status=200, headers=[], body=b"{}")


def twenty_line_wallet(run, public_url, id_number, bank):
    """The README's Python wallet (uniffi/examples/wallet.py), as printed, against the server."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../examples/wallet.py")
    spec = importlib.util.spec_from_file_location("readme_wallet", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert len(open(path).read().splitlines()) <= 23, "the README promises a short wallet"
    offer = json.loads(run("offer", "create", "--id-number", id_number, "--config", "pid", "--json"))
    dcql = {"credentials": [{
        "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:vn:dinhdanh:pid:1"]},
        "claims": [{"path": ["given_name"]}, {"path": ["birthdate"]}],
    }]}
    route = BankRoute(bank, "https://bank.example.vn/")
    asked = []
    home = os.getcwd()
    os.makedirs(os.path.join(WORK, "readme-wallet"), exist_ok=True)
    os.chdir(os.path.join(WORK, "readme-wallet"))
    try:
        request = bank.create_request(json.dumps(dcql), int(time.time()))
        answered = example.wallet(public_url, offer["offer_uri"], offer["tx_code"], request.uri,
                                  http=route, ask=lambda prompt: asked.append(prompt) or "y")
        assert answered.status == 200, answered
        [verified] = route.verified
        claims = json.loads(verified.claims_json)
        assert {"given_name", "birthdate"} <= set(claims) and "family_name" not in claims, claims
        assert verified.status == "valid", verified
        [prompt] = asked
        assert prompt.startswith("Ngân hàng Ví dụ (Mở tài khoản (eKYC)) asks for"), prompt
        assert "/given_name" in prompt and "/birthdate" in prompt, prompt
        # Declined: the bank hears access_denied, and nothing is disclosed.
        request = bank.create_request(json.dumps(dcql), int(time.time()))
        fresh = json.loads(run("offer", "create", "--id-number", id_number, "--config", "pid", "--json"))
        try:
            example.wallet(public_url, fresh["offer_uri"], fresh["tx_code"], request.uri,
                           http=route, ask=lambda prompt: "n")
            raise AssertionError("a declined presentation reached the bank as one")
        except ffi.DinhdanhError.Refused as refused:
            assert "access_denied" in str(refused), refused
        assert len(route.verified) == 1
    finally:
        os.chdir(home)
    print("python: the README's 20-line wallet received a credential and presented it")


def main():
    # The server, zero-config, on a free port.
    server = subprocess.Popen(
        [SERVER, "serve", "--listen", "127.0.0.1:0"],
        cwd=WORK,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DINHDANH_DATA_DIR", "DINHDANH_PUBLIC_URL")}
        | {"DINHDANH_LOG": "warn"},
    )
    try:
        journey(server)
    finally:
        server.kill()
        server.wait()


def journey(server):
    public_url = server.stdout.readline().split("(public URL ")[1].rstrip().rstrip(")")
    banner = server.stdout.readline()
    id_number = banner.split("id_number ")[1].split(" ")[0]
    env = dict(os.environ, DINHDANH_PUBLIC_URL=public_url, DINHDANH_LOG="warn")
    env.pop("DATABASE_URL", None)
    env.pop("DINHDANH_DATA_DIR", None)
    run = lambda *a: subprocess.run(
        [SERVER, *a], check=True, capture_output=True, text=True, cwd=WORK, env=env
    ).stdout
    run("dev", "level2", "--id-number", id_number)
    offer = json.loads(run("offer", "create", "--id-number", id_number, "--config", "pid", "--json"))
    fetch = lambda path: urllib.request.urlopen(
        public_url.replace("//localhost", "//127.0.0.1") + path, timeout=30
    ).read().decode()
    issuer_root = fetch("/trust/issuer-root.pem")

    # The bank makes its own key and a certificate signing request; the agency registers it
    # (access certificate from its relying-party CA, registration signed by its registrar).
    file("bank.jwk", cli("keygen"))
    file("bank.csr", cli("x509", "csr", "--key", "bank.jwk"))
    registered = json.loads(run(
        "rp", "register", "--name", "Ngân hàng Ví dụ", "--kind", "bank",
        "--dns", "bank.example.vn", "--csr", os.path.join(WORK, "bank.csr"),
        "--allow", "pid:/given_name,/family_name,/birthdate",
        "--purpose", "Mở tài khoản (eKYC)", "--json",
    ))
    client_id = registered["client_id"]
    assert client_id == "x509_san_dns:bank.example.vn", registered
    bank_pem = registered["certificate_chain"]
    rp_root = fetch("/trust/rp-root.pem")
    now = int(time.time())

    # The wallet takes its trust from the agency's bundle and receives the counter offer.
    keystore = PythonKeyStore()
    wallet = ffi.Wallet.open(
        os.path.join(WORK, "wallet.db"), keystore, "wallet", issuer_root, rp_root
    )
    bundle = wallet.apply_trust_bundle(fetch("/trust/bundle"), issuer_root, now)
    assert bundle.rp_roots_pem == rp_root, bundle
    rp_status_path = bundle.rp_status_list_url[len(public_url):]
    wallet.refresh_rp_status_list(fetch(rp_status_path), now)
    ids = wallet.receive_offer(PythonTransport(), offer["offer_uri"], offer["tx_code"], 2, now)
    assert len(ids) == 1, ids
    [credential] = wallet.credentials()
    assert credential.vct == "urn:vn:dinhdanh:pid:1", credential
    assert (credential.unused_copies, credential.copies) == (2, 2)
    # The offer was single use: the issuer's refusal is a typed error.
    try:
        wallet.receive_offer(PythonTransport(), offer["offer_uri"], offer["tx_code"], 2, now)
        raise AssertionError("a used offer was accepted")
    except ffi.DinhdanhError.Refused:
        pass

    # The bank asks by QR code; the wallet shows the consent and answers.
    bank = ffi.Verifier.from_registration(ffi.RegisteredVerifierConfig(
        signing_key_jwk=open(os.path.join(WORK, "bank.jwk")).read(),
        certificate_chain_pem=bank_pem,
        registration=registered["registration"],
        response_uri="https://bank.example.vn/openid4vp/response",
        trust_bundle=fetch("/trust/bundle"),
        agency_roots_pem=issuer_root,
        now=now,
        encrypt_responses=True,
    ))
    bank.add_status_list(public_url + "/status-lists/1", fetch("/status-lists/1"), now)
    twenty_line_wallet(run, public_url, id_number, bank)
    dcql = {"credentials": [{
        "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:vn:dinhdanh:pid:1"]},
        "claims": [{"path": ["given_name"]}, {"path": ["family_name"]}, {"path": ["personal_identifier"]}],
    }]}
    created = bank.create_request(json.dumps(dcql), now)
    assert created.uri.startswith("openid4vp://?client_id=x509_san_dns%3Abank.example.vn&request=")
    pending = wallet.prepare_presentation(created.uri, None, now)
    consent = pending.consent()
    assert consent.verifier_name == "Ngân hàng Ví dụ" and consent.registered, consent
    # One claim is beyond the bank's registration: the PID is withheld whole (OpenID4VP 1.0
    # section 6.4.1), nothing is left to present, and answering tells the bank access_denied.
    assert consent.items == [], consent
    [item] = consent.withheld
    assert item.credential_id == ids[0], item
    assert item.refused == ["/personal_identifier"], item
    answer = wallet.respond(pending, now)
    assert answer.body.startswith("response="), "the bank asked for encrypted answers"
    try:
        bank.receive(answer.body, now)
        raise AssertionError("an access_denied answer was taken for a presentation")
    except ffi.DinhdanhError.Refused as refused:
        assert "access_denied" in str(refused), refused
    # Asking only for what it is registered for.
    dcql["credentials"][0]["claims"] = [{"path": ["given_name"]}, {"path": ["birthdate"]}]
    created = bank.create_request(json.dumps(dcql), now)
    answer = wallet.respond(wallet.prepare_presentation(created.uri, None, now), now)
    [verified] = bank.receive(answer.body, now)
    claims = json.loads(verified.claims_json)
    assert verified.status == "valid", verified
    assert "given_name" in claims and "birthdate" in claims and "personal_identifier" not in claims
    try:
        bank.receive(answer.body, now)
        raise AssertionError("a replayed answer was accepted")
    except ffi.DinhdanhError.Replayed:
        pass
    # One presentation, one unused copy spent, logged; the declined request used nothing.
    assert [c.unused_copies for c in wallet.credentials()] == [1]
    assert [p.verifier for p in wallet.presentations()] == [client_id]
    # Malformed input: typed errors, nothing stored.
    try:
        wallet.prepare_presentation("openid4vp://?client_id=x", None, now)
        raise AssertionError("a request without request object was accepted")
    except ffi.DinhdanhError.InvalidInput:
        pass
    assert len(wallet.presentations()) == 1

    revoked_and_forged(client_id, bank_pem)
    document_signatures(now)

    # The agency revokes the bank: once the wallet's trust data is refreshed, it refuses it.
    run("rp", "revoke", "--rp-id", registered["rp_id"])
    newer = wallet.apply_trust_bundle(fetch("/trust/bundle"), issuer_root, now)
    assert newer.version > bundle.version, (newer, bundle)
    wallet.refresh_rp_status_list(fetch(rp_status_path), now)
    created = bank.create_request(json.dumps(dcql), now)
    try:
        wallet.prepare_presentation(created.uri, None, now)
        raise AssertionError("a revoked relying party was answered")
    except ffi.DinhdanhError.RevokedVerifier as error:
        print(f"python: revoked relying party refused: {error}")

    # The cost of one FFI round trip (a call with a string result).
    rounds = 20000
    start = time.perf_counter()
    for _ in range(rounds):
        ffi.sdk_version()
    per_call = (time.perf_counter() - start) / rounds * 1e6
    print(f"python: FFI round trip {per_call:.2f} us per call ({rounds} calls)")
    print("python journey: ok")


if __name__ == "__main__":
    main()
