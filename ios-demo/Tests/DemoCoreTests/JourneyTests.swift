// The iOS demo's journeys, through DemoCore's view models and the generated Swift bindings,
// against a real dinhdanh-server: enrol with a code and a passkey, sign in, level 2 (the
// development shortcut), receive a credential, present it to a registered counter (consent with
// its registered name, purpose and claims), offline by QR code, and the refusals.
import DemoCore
import DinhdanhFFI
import Foundation
import XCTest

final class JourneyTests: XCTestCase {
    func testCitizenJourneyOnSQLite() throws {
        try citizenJourney(ServerProcess())
    }

    func testCitizenJourneyOnPostgreSQL() throws {
        guard let url = ProcessInfo.processInfo.environment["DINHDANH_SWIFT_POSTGRES_URL"] else {
            throw XCTSkip("no DINHDANH_SWIFT_POSTGRES_URL (scripts/check sets it from TEST_DATABASE_URL)")
        }
        try citizenJourney(ServerProcess(databaseURL: url))
    }

    private func citizenJourney(_ server: ServerProcess) throws {
        defer { server.stop() }
        let network = Network()
        let api = ServerAPI(baseURL: server.publicURL, transport: network)
        let authenticator = HelperAuthenticator(origin: server.publicURL)

        // What the server offers: the SIM list and signatures are enabled by its routes.
        let capabilities = try api.capabilities()
        XCTAssertTrue(capabilities.paths.contains("/v1/enrolments"))

        // 1. Enrolment: a code to the registered phone, then a passkey.
        let enrolment = EnrolmentModel(api: api)
        var changes = 0
        enrolment.onChange = { changes += 1 }
        enrolment.start(idNumber: server.idNumber, fullName: server.fullName,
                        dateOfBirth: server.dateOfBirth, phone: server.phone)
        guard case .codeSent = enrolment.state else { return XCTFail("\(enrolment.state)") }
        XCTAssertEqual(changes, 1)
        // A wrong code is refused and the screen stays on the code.
        enrolment.confirm(code: "000000" == (try server.smsCode()) ? "111111" : "000000")
        guard case .codeSent = enrolment.state else { return XCTFail("\(enrolment.state)") }
        enrolment.confirm(code: try server.smsCode())
        guard case .passkeyNeeded = enrolment.state else { return XCTFail("\(enrolment.state)") }
        enrolment.registerPasskey(with: authenticator, name: "iPhone")
        guard case .enrolled(_, 1) = enrolment.state else { return XCTFail("\(enrolment.state)") }

        // A second enrolment of the same citizen: the account exists.
        let again = EnrolmentModel(api: ServerAPI(baseURL: server.publicURL, transport: network))
        again.start(idNumber: server.idNumber, fullName: server.fullName,
                    dateOfBirth: server.dateOfBirth, phone: server.phone)
        again.confirm(code: try server.smsCode(1))
        guard case .failed(.server(409, _, _)) = again.state else { return XCTFail("\(again.state)") }

        // 2. Sign in with the passkey (a new session).
        let signIn = SignInModel(api: api)
        signIn.signIn(with: authenticator)
        guard case .signedIn(_, 1) = signIn.state else { return XCTFail("\(signIn.state)") }

        // Below level 2 no offer is made.
        let keys = try softwareKeystore(dir: Kit.tempDir(), passphrase: "test")
        let issuerRoot = try api.text("/trust/issuer-root.pem")
        // The wallet pins the agency's roots, then takes its trust from the agency's bundle.
        let context = try WalletContext(
            path: Kit.tempDir() + "/wallet.db", keyStore: keys, issuerRootsPEM: issuerRoot,
            verifierRootsPEM: api.text("/trust/rp-root.pem"), transport: network)
        let firstBundle = try context.updateTrust(api: api, agencyRootsPEM: issuerRoot)
        let offer = OfferModel(context: context, api: api)
        XCTAssertNil(offer.request(configurations: ["pid"]))
        guard case .failed(.server(403, _, _)) = offer.state else { return XCTFail("\(offer.state)") }
        // Level 2 from the chip: files that are not a genuine card's are refused, typed (a
        // phone's NFC reader stands in; a real card needs the state's CSCA in the server's trust
        // store, which the Rust journey in tests/journeys/issuance.rs does).
        let level2Upload = Level2Model(api: api)
        level2Upload.readAndSubmit(
            reader: FakeChip(files: ChipFiles(dg1: Data([0x61, 0x00]), dg2: Data([0x75, 0x00]),
                                              dg13: Data([0x6d, 0x00]), sod: Data([0x77, 0x00]))),
            key: ChipAccessKey(documentNumber: "C03000001", dateOfBirth: "740102",
                               dateOfExpiry: "340102"))
        guard case .failed(.server(let status, _, _)) = level2Upload.state, (400..<500).contains(status)
        else { return XCTFail("\(level2Upload.state)") }
        level2Upload.readAndSubmit(reader: FakeChip(files: nil), key: ChipAccessKey(
            documentNumber: "C03000001", dateOfBirth: "740102", dateOfExpiry: "340102"))
        guard case .failed(.invalidInput) = level2Upload.state else {
            return XCTFail("\(level2Upload.state)")
        }

        // The level-2 shortcut serves zero-config development data directories only (SQLite):
        // on PostgreSQL the journey ends here, and level 2 is the officer's, tested in Rust.
        if server.databaseURL != nil {
            signIn.signOut()
            return
        }

        // 3. Level 2 through the development shortcut (the chip read needs a phone), then an
        // offer to the citizen, received into the wallet with two copies.
        _ = try server.command("dev", "level2", "--id-number", server.idNumber)
        signIn.signIn(with: authenticator)
        guard case .signedIn(_, 2) = signIn.state else { return XCTFail("\(signIn.state)") }
        let level2 = Level2Model(api: api)
        level2.refresh()  // the shortcut files no request: the server says so
        guard case .failed(.server(404, _, _)) = level2.state else { return XCTFail("\(level2.state)") }
        guard let (_, txCode) = offer.request(configurations: ["pid"]) else {
            return XCTFail("\(offer.state)")
        }
        offer.copies = 2
        offer.accept(txCode: "000000" == txCode ? "111111" : "000000")
        guard case .failed(.refused) = offer.state else { return XCTFail("\(offer.state)") }
        guard let (uri, code) = offer.request(configurations: ["pid"]) else {
            return XCTFail("\(offer.state)")
        }
        offer.scanned(uri: uri)
        offer.accept(txCode: code)
        guard case .received(let ids) = offer.state, ids.count == 1 else {
            return XCTFail("\(offer.state)")
        }
        let walletScreen = WalletModel(context: context)
        walletScreen.refresh()
        XCTAssertEqual(walletScreen.rows.count, 1)
        XCTAssertEqual(walletScreen.rows[0].name, "Căn cước (Personal ID)")
        XCTAssertEqual(walletScreen.rows[0].unusedCopies, 2)

        // 4. The counters register with the agency (`rp register`); the wallet refreshes its
        // trust. A registered bank asks (online): the consent names it, its purpose and claims.
        let now = systemClock()
        let parties = RelyingParties(server: server)
        let bundle = try api.text("/trust/bundle")
        let bank = try VerifierModel(registered: parties.counter(
            host: "bank.example.vn", name: "Ngân hàng Ví dụ", purpose: "Mở tài khoản (eKYC)",
            claims: ["/given_name", "/family_name", "/birthdate"], bundle: bundle,
            agencyRootPEM: issuerRoot, now: now))
        let telco = try VerifierModel(registered: parties.counter(
            host: "telco.example.vn", name: "Nhà mạng Ví dụ", purpose: "Đăng ký thuê bao",
            claims: ["/given_name", "/family_name", "/birthdate"], bundle: bundle,
            agencyRootPEM: issuerRoot, now: now))
        let shop = try VerifierModel(registered: parties.counter(
            host: "shop.example.vn", name: "Cửa hàng", purpose: "Giao hàng",
            claims: ["/given_name"], bundle: bundle, agencyRootPEM: issuerRoot, now: now))
        let stranger = try VerifierModel(config: parties.unregistered(
            host: "stranger.example.vn", name: "Lạ", issuerRootPEM: issuerRoot, now: now))
        try context.updateTrust(api: api, agencyRootsPEM: issuerRoot)
        try bank.addStatusList(uri: server.publicURL + "/status-lists/1",
                               token: api.text("/status-lists/1"))
        network.counters["bank.example.vn"] = bank
        bank.showRequest()
        guard case .showingRequest(let request, _) = bank.state else { return XCTFail("\(bank.state)") }
        let present = PresentationModel(context: context)
        present.scanned(uri: request)
        guard case .consent(let consent) = present.state else { return XCTFail("\(present.state)") }
        XCTAssertEqual(consent.verifierName, "Ngân hàng Ví dụ")
        XCTAssertEqual(consent.purpose, "Mở tài khoản (eKYC)")
        XCTAssertTrue(consent.registered)
        XCTAssertEqual(consent.items.first?.claims, ["/given_name", "/family_name", "/birthdate"])
        present.approve()
        guard case .presented(let verifier, _) = present.state else { return XCTFail("\(present.state)") }
        XCTAssertEqual(verifier, "Ngân hàng Ví dụ")
        guard case .verified(let verified) = bank.state else { return XCTFail("\(bank.state)") }
        XCTAssertEqual(verified.first?.status, "valid")
        XCTAssertTrue(verified.first?.claimsJson.contains("\"birthdate\"") ?? false)
        // The same answer again is a replay.
        bank.received(body: network.posted.last ?? "")
        XCTAssertEqual(bank.state, .rejected(.replayed))

        // 5. Offline by QR code at a telecom counter: request QR → consent → answer QR.
        try telco.addStatusList(uri: server.publicURL + "/status-lists/1",
                                token: api.text("/status-lists/1"))
        telco.showRequest()
        guard case .showingRequest(let qrRequest, _) = telco.state else { return XCTFail() }
        let offline = PresentationModel(context: context, mode: .offlineQR)
        offline.scanned(uri: qrRequest)
        offline.approve()
        guard case .showQR(let qr, _) = offline.state else { return XCTFail("\(offline.state)") }
        XCTAssertTrue(qr.hasPrefix("DD1:"))
        XCTAssertTrue(qr.allSatisfy { "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains($0) })
        telco.scanned(qr: qr)
        guard case .verified(let atCounter) = telco.state else { return XCTFail("\(telco.state)") }
        XCTAssertEqual(atCounter.first?.status, "valid")
        // Scanned twice, the same answer is a replay.
        telco.scanned(qr: qr)
        XCTAssertEqual(telco.state, .rejected(.replayed))
        // A damaged QR code is refused, typed.
        telco.scanned(qr: "DD1:%%%")
        guard case .rejected(.invalidInput) = telco.state else { return XCTFail("\(telco.state)") }

        // The copies are used up: the wallet says to refresh.
        walletScreen.refresh()
        XCTAssertEqual(walletScreen.rows.first?.unusedCopies, 0)
        XCTAssertTrue(walletScreen.rows.first?.needsRefresh ?? false)

        // 6. Consent refusals. The citizen declines: the bank hears access_denied.
        let second = try receive(offer: offer, into: context)
        XCTAssertEqual(second.count, 1)
        bank.showRequest()
        guard case .showingRequest(let declinedRequest, _) = bank.state else { return XCTFail() }
        let declining = PresentationModel(context: context)
        declining.scanned(uri: declinedRequest)
        declining.decline()
        XCTAssertEqual(declining.state, .declined)
        guard case .rejected(.refused) = bank.state else { return XCTFail("\(bank.state)") }

        // A shop registered for the given name only asks for the birth date too: the PID is
        // withheld whole, and the shop hears access_denied.
        network.counters["shop.example.vn"] = shop
        shop.showRequest()
        guard case .showingRequest(let greedy, _) = shop.state else { return XCTFail() }
        let withheld = PresentationModel(context: context)
        withheld.scanned(uri: greedy)
        guard case .consent(let refusedConsent) = withheld.state else {
            return XCTFail("\(withheld.state)")
        }
        XCTAssertTrue(refusedConsent.items.isEmpty)
        XCTAssertEqual(refusedConsent.withheld.first?.refused.sorted(),
                       ["/birthdate", "/family_name"])
        withheld.approve()
        XCTAssertEqual(withheld.state, .refused(.refused("access_denied"), toldVerifier: true))
        guard case .rejected(.refused) = shop.state else { return XCTFail("\(shop.state)") }

        // An unregistered verifier gets nothing, and is told so.
        network.counters["stranger.example.vn"] = stranger
        stranger.showRequest()
        guard case .showingRequest(let unregistered, _) = stranger.state else { return XCTFail() }
        let refusing = PresentationModel(context: context)
        refusing.scanned(uri: unregistered)
        guard case .consent(let strangerConsent) = refusing.state else {
            return XCTFail("\(refusing.state)")
        }
        XCTAssertFalse(strangerConsent.registered)
        XCTAssertTrue(strangerConsent.items.isEmpty)
        refusing.approve()
        XCTAssertEqual(refusing.state, .refused(.unregisteredVerifier, toldVerifier: true))
        guard case .rejected(.refused) = stranger.state else { return XCTFail("\(stranger.state)") }

        // A request not signed under the agency's RP CA is refused before anything is shown.
        let rogue = PresentationModel(context: context)
        rogue.scanned(uri: "openid4vp://?client_id=x509_san_dns:evil.example&request=e30.e30.e30")
        guard case .failed = rogue.state else { return XCTFail("\(rogue.state)") }

        // The agency revokes the bank: once the wallet's trust is refreshed it is refused, typed.
        _ = try server.command(["rp", "revoke", "--rp-id", parties.ids["bank.example.vn"] ?? ""])
        let newer = try context.updateTrust(api: api, agencyRootsPEM: issuerRoot)
        XCTAssertGreaterThan(newer.version, firstBundle.version)
        bank.showRequest()
        guard case .showingRequest(let revokedRequest, _) = bank.state else { return XCTFail() }
        let toRevoked = PresentationModel(context: context)
        toRevoked.scanned(uri: revokedRequest)
        guard case .failed(.revokedVerifier("x509_san_dns:bank.example.vn")) = toRevoked.state else {
            return XCTFail("\(toRevoked.state)")
        }

        // 7. History: the server's record and the wallet's presentation log.
        let history = HistoryModel(context: context, api: api)
        history.refresh()
        XCTAssertNil(history.failure)
        XCTAssertEqual(history.presentations.count, 2)
        XCTAssertEqual(history.presentations.last?.verifierName, "Ngân hàng Ví dụ")
        XCTAssertTrue(history.server.contains { $0.action.hasPrefix("passkey") })

        // 8. Screens built on other issues' contracts are off until the server serves them.
        let sims = SimListModel(api: api, capabilities: capabilities)
        sims.refresh()
        XCTAssertEqual(sims.state, capabilities.simList ? sims.state : .unavailable)
        let noSigner = SigningModel(api: api, capabilities: capabilities, signer: nil)
        guard case .unavailable = noSigner.state else { return XCTFail("\(noSigner.state)") }

        // 9. Sign a document: a certificate for a keystore key (level 2 and a passkey sign-in
        // just before: the server's step-up), a contract and a PDF signed offline, verified
        // against the agency's root.
        XCTAssertTrue(capabilities.signingCertificates)
        signIn.signIn(with: authenticator)
        guard case .signedIn(_, 2) = signIn.state else { return XCTFail("\(signIn.state)") }
        let signing = SigningModel(api: api, capabilities: capabilities,
                                   signer: KeyStoreSigning(keyStore: keys))
        signing.refresh()
        XCTAssertEqual(signing.state, .ready(certificates: []))
        signing.requestCertificate()
        guard case .certified(let certificateId, let chain) = signing.state else {
            return XCTFail("\(signing.state)")
        }
        XCTAssertTrue(chain.contains("BEGIN CERTIFICATE"))
        signing.refresh()
        guard case .ready(let held) = signing.state else { return XCTFail("\(signing.state)") }
        XCTAssertEqual(held.map(\.id), [certificateId])
        // One certificate per key: the same key again is refused (make a new key).
        signing.requestCertificate()
        guard case .failed(.server(409, "key-not-new", _)) = signing.state else {
            return XCTFail("\(signing.state)")
        }
        let contract = Data("Hợp đồng thuê nhà".utf8)
        signing.sign(document: contract)
        guard case .signed(let cms) = signing.state else { return XCTFail("\(signing.state)") }
        let verdict = try SigningModel.verify(signature: cms, document: contract,
                                              anchorsPEM: issuerRoot)
        XCTAssertTrue(verdict.valid, "\(verdict)")
        XCTAssertTrue(verdict.signerUid?.contains(server.idNumber) ?? false, "\(verdict)")
        let altered = try SigningModel.verify(signature: cms, document: Data("other".utf8),
                                              anchorsPEM: issuerRoot)
        XCTAssertEqual(altered.reason, .contentMismatch)
        // Another root (the RP CA) does not vouch for the citizen's certificate.
        let untrusted = try SigningModel.verify(signature: cms, document: contract,
                                                anchorsPEM: api.text("/trust/rp-root.pem"))
        XCTAssertEqual(untrusted.reason, .untrusted)
        let pdf = try Data(contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().appendingPathComponent("../../../sdk/tests/vectors/pdf/minimal.pdf"))
        signing.sign(pdf: pdf)
        guard case .signed(let signedPDF) = signing.state else { return XCTFail("\(signing.state)") }
        XCTAssertEqual(signedPDF.prefix(pdf.count), pdf)
        let pdfVerdicts = try verifyPdfSignatures(pdf: signedPDF, trust: SignatureTrust(
            anchorsPem: issuerRoot, crl: nil, ocsp: nil, now: systemClock(), maxRevocationAge: 86_400))
        XCTAssertEqual(pdfVerdicts.map(\.valid), [true])

        // 10. Sign out: the session ends on the server.
        signIn.signOut()
        XCTAssertThrowsError(try api.object("GET", "/v1/me"))
    }

    /// Asks for a fresh offer and receives it.
    private func receive(offer: OfferModel, into context: WalletContext) throws -> [String] {
        guard let (uri, code) = offer.request(configurations: ["pid"]) else {
            throw KitError("no offer: \(offer.state)")
        }
        offer.scanned(uri: uri)
        offer.accept(txCode: code)
        guard case .received(let ids) = offer.state else { throw KitError("not received: \(offer.state)") }
        return ids
    }
}

/// A chip reader that returns the files it was given (or fails, like a card taken away).
final class FakeChip: ChipReader {
    let files: ChipFiles?
    init(files: ChipFiles?) { self.files = files }
    func read(key: ChipAccessKey, completion: @escaping (Result<ChipFiles, Error>) -> Void) {
        completion(files.map { .success($0) } ?? .failure(KitError("tag connection lost")))
    }
}
