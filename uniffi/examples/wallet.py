"""A wallet in 20 lines: python3 wallet.py SERVER_URL OFFER_URI TX_CODE REQUEST_URI"""
import sys, time, urllib.request
import dinhdanh_ffi as ffi

def wallet(server, offer_uri, tx_code, request_uri, http=ffi.http_transport(), ask=input):
    fetch = lambda url: urllib.request.urlopen(url).read().decode()
    issuers, verifiers = fetch(server + "/trust/issuer-root.pem"), fetch(server + "/trust/rp-root.pem")
    w = ffi.Wallet.open("wallet.db", ffi.software_keystore("keys", "a passphrase"), "wallet", issuers, verifiers)
    now = int(time.time())
    bundle = w.apply_trust_bundle(fetch(server + "/trust/bundle"), issuers, now)  # signed by the agency
    w.refresh_rp_status_list(fetch(bundle.rp_status_list_url), now)  # relying parties it revoked
    w.receive_offer(http, offer_uri, tx_code, 3, now)  # three single-use copies
    print("holding", [(c.vct, c.unused_copies) for c in w.credentials()])
    pending = w.prepare_presentation(request_uri, http, now)  # checks who asks, and what it may ask
    c = pending.consent()
    asked = [claim for item in c.items for claim in item.claims]
    yes = ask(f"{c.verifier_name} ({c.purpose}) asks for {asked}. Share? [y/N] ") == "y"
    answer = w.respond(pending, now) if yes else w.decline(pending)
    form = [ffi.HttpHeader(name="content-type", value="application/x-www-form-urlencoded")]
    return http.send(ffi.HttpRequest(method="POST", url=answer.response_uri, headers=form, body=answer.body.encode()))

if __name__ == "__main__":
    print("the verifier answered", wallet(*sys.argv[1:5]).status)
