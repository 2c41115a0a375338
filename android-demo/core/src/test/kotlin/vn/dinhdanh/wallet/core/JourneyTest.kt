package vn.dinhdanh.wallet.core

import java.io.File
import java.nio.file.Files
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.FixMethodOrder
import org.junit.Test
import org.junit.runners.MethodSorters
import uniffi.dinhdanh_ffi.SignatureRejection
import uniffi.dinhdanh_ffi.DinhdanhException

private inline fun <reified T> expectState(state: Any?): T {
    assertTrue("expected ${T::class.simpleName}, got $state", state is T)
    return state as T
}

/**
 * The app's journeys through its view models, the generated bindings and the host library,
 * against a real `dinhdanh-server`: enrolment with a passkey, level 2 (the development
 * shortcut standing in for the officer), a credential received, presented to a registered bank,
 * presented by QR code at a counter without a network, consent refusals, history, and the
 * screens that wait for server features. The steps run in order on one citizen (the
 * development registry prints one).
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
class JourneyTest {
    companion object {
        private val server by lazy { ServerProcess.start() }
        private val clock = Clock.SYSTEM
        private val network by lazy { PhoneNetwork(clock) }
        private val parties by lazy { RelyingParties(server) }
        private val passkey by lazy { SoftwarePasskey(server.publicUrl) }
        private val walletDir: File by lazy { Files.createTempDirectory("wallet").toFile() }
        private val app by lazy {
            WalletApp(DinhdanhApi(server.publicUrl, HttpTransport(rewriteLocalhost = true)), network, SoftwareKeyStore(),
                File(walletDir, "wallet.db").path, parties.rootPem, clock)
        }

        @JvmStatic
        @AfterClass
        fun stop() {
            server.close()
            walletDir.deleteRecursively()
        }
    }

    @Test
    fun step1_enrolmentWithAPasskeyThenSignIn() {
        val enrol = EnrolViewModel(app)
        val c = server.citizen
        // Refused before any request: a malformed ID number.
        enrol.submit("12345", c.fullName, c.dateOfBirth, c.phone)
        assertEquals(FailureKind.INVALID_INPUT, expectState<EnrolViewModel.State.Failed>(enrol.state.value).failure.kind)

        enrol.submit(c.idNumber, c.fullName, c.dateOfBirth, c.phone)
        val sent = expectState<EnrolViewModel.State.CodeSent>(enrol.state.value)
        // A code of the wrong shape is refused on the phone; the attempt is not spent.
        enrol.confirm("12", passkey)
        val failed = expectState<EnrolViewModel.State.Failed>(enrol.state.value)
        assertEquals(sent, failed.previous)

        enrol.confirm(server.smsCode(0), passkey)
        val enrolled = expectState<EnrolViewModel.State.Enrolled>(enrol.state.value)
        assertEquals(1, enrolled.session.assuranceLevel)
        assertEquals(enrolled.session, app.session.value)

        // Signing in again with the passkey.
        val signIn = PasskeyViewModel(app)
        signIn.signIn(passkey)
        val account = expectState<PasskeyViewModel.State.SignedIn>(signIn.state.value).account
        assertEquals(c.idNumber, account.idNumber)
        assertEquals(1, account.assuranceLevel)
    }

    @Test
    fun step2_level2ThenACredentialReceived() {
        val level2 = Level2ViewModel(app)
        level2.refresh()
        assertEquals(Level2ViewModel.State.Idle, level2.state.value)
        // The officer's approval, through the development shortcut.
        server.command("dev", "level2", "--id-number", server.citizen.idNumber)
        level2.refresh()
        assertEquals(2, expectState<Level2ViewModel.State.Level2>(level2.state.value).account.assuranceLevel)

        val receive = ReceiveOfferViewModel(app)
        receive.request(listOf("pid"))
        val offer = expectState<ReceiveOfferViewModel.State.Offered>(receive.state.value).offer
        assertTrue(offer.offerUri.startsWith("openid-credential-offer://"))
        // A wrong transaction code is refused by the issuer.
        receive.receive(offer.offerUri, "000000".takeIf { it != offer.txCode } ?: "111111")
        expectState<ReceiveOfferViewModel.State.Failed>(receive.state.value)
        receive.receive(offer.offerUri, offer.txCode)
        assertEquals(1, expectState<ReceiveOfferViewModel.State.Received>(receive.state.value).credentialIds.size)
        // An offer is redeemed once.
        receive.receive(offer.offerUri, offer.txCode)
        expectState<ReceiveOfferViewModel.State.Failed>(receive.state.value)
        // Not an offer at all.
        receive.receive("https://example.com/", null)
        assertEquals(FailureKind.INVALID_INPUT, expectState<ReceiveOfferViewModel.State.Failed>(receive.state.value).failure.kind)

        val wallet = WalletViewModel(app)
        wallet.refresh()
        val loaded = expectState<WalletViewModel.State.Loaded>(wallet.state.value)
        assertTrue(loaded.online)
        val card = loaded.credentials.single()
        assertEquals("urn:vn:dinhdanh:pid:1", card.vct)
        assertEquals("valid", card.status)
        assertEquals(3u, card.unusedCopies)
        assertTrue(card.name.isNotBlank())
        println("wallet: ${card.name} (${card.status}, ${card.unusedCopies}/${card.copies} unused)")
    }

    @Test
    fun step3_presentedToARegisteredBank() {
        // The wallet takes its trust from the agency's bundle and the relying parties' status list.
        val trust = app.refreshTrust()
        assertEquals(parties.rootPem.trim(), trust.rpRootsPem.trim())
        val now = clock.now()
        val bank = parties.verifier("bank", "bank.example.vn", "Ngân hàng Ví dụ", "Mở tài khoản (eKYC)",
            listOf("/given_name", "/birthdate"), now)
        bank.addStatusList("${server.publicUrl}/status-lists/1",
            DinhdanhApi(server.publicUrl, HttpTransport(rewriteLocalhost = true)).statusList("${server.publicUrl}/status-lists/1"), now)
        network.backend("bank.example.vn", bank)
        val request = bank.createRequest("""{"credentials":[{"id":"pid","format":"dc+sd-jwt",
            "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},
            "claims":[{"path":["given_name"]},{"path":["birthdate"]}]}]}""", now)

        val present = PresentViewModel(app)
        present.scan(request.uri)
        val consent = expectState<PresentViewModel.State.Consent>(present.state.value).consent
        assertEquals("Ngân hàng Ví dụ", consent.verifierName)
        assertEquals("Mở tài khoản (eKYC)", consent.purpose)
        assertTrue(consent.registered && consent.canShare)
        assertEquals(listOf("/given_name", "/birthdate"), consent.share.single().claims)

        present.approve()
        assertEquals(200, expectState<PresentViewModel.State.Sent>(present.state.value).status)
        val accepted = network.received.getValue("bank.example.vn").single().getOrThrow().single()
        assertEquals("valid", accepted.status)
        assertTrue(accepted.claimsJson.contains("\"given_name\""))
        assertFalse(accepted.claimsJson.contains("family_name"))
        // Approving twice does nothing: the pending request was used.
        present.approve()
        expectState<PresentViewModel.State.Sent>(present.state.value)
    }

    @Test
    fun step4_offlineQrAtACounter() {
        val now = clock.now()
        val counter = parties.verifier("counter", "counter.telco.example.vn", "Nhà mạng Ví dụ", "Đăng ký thuê bao",
            listOf("/family_name", "/given_name", "/birthdate"), now)
        val mode = VerifierModeViewModel(counter, clock)
        val statusUri = "${server.publicUrl}/status-lists/1"
        mode.addStatusList(statusUri, DinhdanhApi(server.publicUrl, HttpTransport(rewriteLocalhost = true)).statusList(statusUri))
        mode.newRequest()
        val shown = expectState<VerifierModeViewModel.State.ShowingRequest>(mode.state.value)

        // The wallet scans the counter's QR: no request_uri, nothing fetched.
        val present = PresentViewModel(app)
        present.scan(shown.qrText)
        val consent = expectState<PresentViewModel.State.Consent>(present.state.value).consent
        assertEquals("Nhà mạng Ví dụ", consent.verifierName)
        present.approveAsQr()
        val qr = expectState<PresentViewModel.State.OfflineQr>(present.state.value).qrText
        assertTrue(qr.startsWith("DD1:"))
        println("offline QR: ${qr.length} characters")

        // A damaged scan is refused and the request stays open.
        mode.check(qr.substring(0, qr.length - 8))
        expectState<VerifierModeViewModel.State.Failed>(mode.state.value)
        mode.check(qr)
        val verified = expectState<VerifierModeViewModel.State.Verified>(mode.state.value)
        assertEquals("valid", verified.status)
        assertTrue(verified.claims.keys.containsAll(listOf("family_name", "given_name", "birthdate")))

        // The same answer to the counter's next request: bound to the first one's nonce, refused.
        mode.newRequest()
        mode.check(qr)
        val reused = expectState<VerifierModeViewModel.State.Failed>(mode.state.value)
        println("offline QR reused for another request: ${reused.failure.kind}")
    }

    @Test
    fun step5_consentRefusals() {
        val now = clock.now()
        val bank = parties.verifier("bank", "bank2.example.vn", "Ngân hàng Hai", "Mở thẻ",
            listOf("/given_name"), now)
        network.backend("bank2.example.vn", bank)

        // The citizen declines: the bank is told access_denied, nothing is disclosed.
        val present = PresentViewModel(app)
        present.scan(bank.createRequest(pidQuery("given_name"), now).uri)
        expectState<PresentViewModel.State.Consent>(present.state.value)
        present.decline()
        expectState<PresentViewModel.State.Declined>(present.state.value)
        val refused = network.received.getValue("bank2.example.vn").last().exceptionOrNull()
        assertTrue("$refused", refused is DinhdanhException.Refused)

        // Claims beyond the registration are refused on the phone: the whole credential is withheld.
        present.scan(bank.createRequest(pidQuery("given_name", "personal_identifier"), now).uri)
        val beyond = expectState<PresentViewModel.State.Consent>(present.state.value).consent
        val refusedClaims = (beyond.share + beyond.withheld).flatMap { it.refused }
        assertTrue("$beyond", refusedClaims.contains("/personal_identifier"))
        assertFalse(beyond.share.flatMap { it.claims }.contains("/personal_identifier"))

        // An unregistered verifier gets nothing, and learns it.
        val shop = parties.verifier("shop", "shop.example.vn", "Cửa hàng", "", null, now)
        network.backend("shop.example.vn", shop)
        present.scan(shop.createRequest(pidQuery("given_name"), now).uri)
        val unregistered = expectState<PresentViewModel.State.Consent>(present.state.value).consent
        assertFalse(unregistered.registered)
        assertFalse(unregistered.canShare)
        present.approve()
        assertEquals(FailureKind.UNREGISTERED_VERIFIER,
            expectState<PresentViewModel.State.Failed>(present.state.value).failure.kind)
        assertTrue(network.received.getValue("shop.example.vn").single().exceptionOrNull() is DinhdanhException.Refused)

        // Not a request.
        present.scan("https://example.com/?client_id=x")
        assertEquals(FailureKind.INVALID_INPUT, expectState<PresentViewModel.State.Failed>(present.state.value).failure.kind)
        present.scan("openid4vp://?client_id=x")
        assertEquals(FailureKind.INVALID_INPUT, expectState<PresentViewModel.State.Failed>(present.state.value).failure.kind)
    }

    @Test
    fun step6_historyShowsWhatWasShared() {
        val history = HistoryViewModel(app)
        history.refresh()
        val loaded = expectState<HistoryViewModel.State.Loaded>(history.state.value)
        val names = loaded.presentations.map { it.verifierName }
        assertEquals(listOf("Nhà mạng Ví dụ", "Ngân hàng Ví dụ"), names)
        assertEquals(listOf("/given_name", "/birthdate"), loaded.presentations.last().claims)
        assertTrue(loaded.events.isNotEmpty())
        // Two copies of three are used.
        val wallet = WalletViewModel(app)
        wallet.refresh()
        assertEquals(1u, expectState<WalletViewModel.State.Loaded>(wallet.state.value).credentials.single().unusedCopies)
    }

    @Test
    fun step7_simListAndSignaturesWaitForTheServer() {
        val caps = app.capabilities()
        val sims = SimListViewModel(app)
        sims.refresh()
        val sign = SignViewModel(app)
        sign.refresh()
        // Each screen lights up exactly when the server lists its routes.
        if (caps.simList) expectState<SimListViewModel.State.Loaded>(sims.state.value)
        else assertEquals(SimListViewModel.State.Unavailable, sims.state.value)
        if (caps.signingCertificates) expectState<SignViewModel.State.Loaded>(sign.state.value)
        else assertEquals(SignViewModel.State.Unavailable, sign.state.value)
        println("server capabilities: $caps")
    }

    @Test
    fun step8_signingCertificateThenDocumentsSignedAndVerified() {
        assertTrue("the server has the signing routes", app.capabilities().signingCertificates)
        val keys = SoftwareKeyStore()
        val signer = KeystoreDocumentSigner(keys, "signing/0", clock)
        val sign = SignViewModel(app)
        // Step-up: the server wants a passkey sign-in within 300 s before it certifies a key.
        val signIn = PasskeyViewModel(app)
        signIn.signIn(passkey)
        expectState<PasskeyViewModel.State.SignedIn>(signIn.state.value)
        sign.requestCertificate(signer, null)
        val listed = expectState<SignViewModel.State.Loaded>(sign.state.value).certificates
        val issued = app.signingCertificate ?: error("no certificate kept")
        assertTrue("$listed", listed.any { it.id == issued.id && it.status == "valid" })
        assertEquals(2, Regex("BEGIN CERTIFICATE").findAll(issued.certificateChainPem.orEmpty()).count())

        // A detached CMS of a document: valid for the citizen; another document: not.
        val document = "Hợp đồng mở tài khoản số 42".toByteArray()
        sign.sign(signer, document, "application/octet-stream")
        val cms = expectState<SignViewModel.State.Signed>(sign.state.value).signature
        sign.verify(cms, document, "application/octet-stream")
        val verdict = expectState<SignViewModel.State.Verified>(sign.state.value).verdicts.single()
        assertTrue("$verdict", verdict.valid)
        assertEquals("CCCD:${server.citizen.idNumber}", verdict.signerUid)
        sign.verify(cms, "Hợp đồng mở tài khoản số 43".toByteArray(), "application/octet-stream")
        val altered = expectState<SignViewModel.State.Verified>(sign.state.value)
        assertFalse(altered.valid)
        assertEquals(SignatureRejection.CONTENT_MISMATCH, altered.verdicts.single().reason)

        // A PDF signed by an incremental update, and verified; an encrypted one is refused.
        val pdf = File("sdk/tests/vectors/pdf/minimal.pdf").readBytes()
        sign.sign(signer, pdf, KeystoreDocumentSigner.PDF)
        val signedPdf = expectState<SignViewModel.State.Signed>(sign.state.value).signature
        assertTrue(signedPdf.size > pdf.size)
        sign.verify(signedPdf, signedPdf, KeystoreDocumentSigner.PDF)
        assertTrue(expectState<SignViewModel.State.Verified>(sign.state.value).valid)
        sign.sign(signer, File("sdk/tests/vectors/pdf/encrypted.pdf").readBytes(), KeystoreDocumentSigner.PDF)
        assertEquals(FailureKind.ENCRYPTED_DOCUMENT, expectState<SignViewModel.State.Failed>(sign.state.value).failure.kind)

        // Another device's key cannot sign under this certificate.
        val other = KeystoreDocumentSigner(SoftwareKeyStore(), "signing/0", clock)
        other.certificateRequest()
        sign.sign(other, document, "application/octet-stream")
        assertEquals(FailureKind.CERTIFICATE_MISMATCH, expectState<SignViewModel.State.Failed>(sign.state.value).failure.kind)
        println("signed: CMS ${cms.size} bytes, PDF +${signedPdf.size - pdf.size} bytes, verified")
    }

    private fun pidQuery(vararg claims: String) = """{"credentials":[{"id":"pid","format":"dc+sd-jwt",
        "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},
        "claims":[${claims.joinToString(",") { """{"path":["$it"]}""" }}]}]}"""
}
