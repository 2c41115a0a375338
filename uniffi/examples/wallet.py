"""A wallet in 20 lines: python3 wallet.py SERVER_URL OFFER_URI TX_CODE REQUEST_URI"""
import sys, time, urllib.request
import dinhdanh_ffi as ffi

def wallet(server, offer_uri, tx_code, request_uri, http=ffi.http_transport(), ask=input):
    get = lambda path: urllib.request.urlopen(server + path).read().decode()
    issuers, verifiers = get("/trust/issuer-root.pem"), get("/trust/rp-root.pem")
    keys = ffi.software_keystore("wallet-keys", "choose a passphrase")
    w = ffi.Wallet.open("wallet.db", keys, "wallet", issuers, verifiers)
    now = int(time.time())
    w.apply_trust_bundle(get("/trust/bundle"), issuers, now)  # the agency's roots, signed
    w.receive_offer(http, offer_uri, tx_code, 3, now)  # three single-use copies
    print("holding", [(c.vct, c.unused_copies) for c in w.credentials()])
    pending = w.prepare_presentation(request_uri, http, now)  # checks who asks, and may ask it
    c = pending.consent()
    asked = [claim for item in c.items for claim in item.claims]
    yes = ask(f"{c.verifier_name} ({c.purpose}) asks for {asked}. Share? [y/N] ") == "y"
    answer = w.respond(pending, now) if yes else w.decline(pending)
    form = [ffi.HttpHeader(name="content-type", value="application/x-www-form-urlencoded")]
    return http.send(ffi.HttpRequest(method="POST", url=answer.response_uri, headers=form, body=answer.body.encode()))

if __name__ == "__main__":
    print("the verifier answered", wallet(*sys.argv[1:5]).status)
