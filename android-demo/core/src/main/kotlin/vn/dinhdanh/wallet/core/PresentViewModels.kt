package vn.dinhdanh.wallet.core

import uniffi.dinhdanh_ffi.DinhdanhException
import uniffi.dinhdanh_ffi.PendingPresentation
import uniffi.dinhdanh_ffi.Verifier

/** One credential of a consent, as the screen shows it. */
data class ConsentLine(val credentialId: String, val vct: String, val claims: List<String>, val refused: List<String>)

/** The consent screen: who asks (their registered name and purpose), what would be shared, what is refused. */
data class ConsentView(
    val verifier: String,
    val verifierName: String,
    val registered: Boolean,
    val purpose: String?,
    val share: List<ConsentLine>,
    val withheld: List<ConsentLine>,
) {
    /** Whether approving shares anything (else it answers `access_denied`). */
    val canShare: Boolean get() = registered && share.isNotEmpty()
}

/**
 * Presenting: a scanned `openid4vp://` request becomes a consent; the citizen approves (the
 * answer is posted to the verifier, or shown as a QR code at a counter without a network) or
 * declines (the verifier is told `access_denied`, nothing is shared).
 */
class PresentViewModel(private val app: WalletApp) : ScreenModel<PresentViewModel.State>(State.Idle) {
    sealed interface State {
        data object Idle : State
        data class Consent(val consent: ConsentView) : State
        data class Sent(val verifierName: String, val status: Int) : State
        data class OfflineQr(val verifierName: String, val qrText: String) : State
        data class Declined(val verifierName: String) : State
        data class Failed(val failure: Failure) : State
    }

    @Volatile private var pending: PendingPresentation? = null

    /** A request from a QR code or a deep link (its `request_uri`, if any, fetched through the app's transport). */
    fun scan(uri: String) = attempt({ State.Failed(it) }) {
        pending = null
        require(uri.startsWith("openid4vp://") || uri.startsWith("haip://") || uri.startsWith("eudi-openid4vp://")) {
            "not a presentation request"
        }
        val prepared = app.wallet().preparePresentation(uri, app.transport, app.clock.now())
        pending = prepared
        State.Consent(view(prepared))
    }

    private fun view(pending: PendingPresentation): ConsentView {
        val consent = pending.consent()
        val line = { item: uniffi.dinhdanh_ffi.ConsentItem -> ConsentLine(item.credentialId, item.vct, item.claims, item.refused) }
        return ConsentView(consent.verifier, consent.verifierName, consent.registered, consent.purpose,
            consent.items.map(line), consent.withheld.map(line))
    }

    private fun take(): Pair<PendingPresentation, String>? {
        val shown = state.value as? State.Consent ?: return null
        val taken = pending ?: return null
        pending = null
        return taken to shown.consent.verifierName
    }

    /** The citizen approved: the answer is posted to the verifier. */
    fun approve() {
        val (taken, name) = take() ?: return
        attempt({ State.Failed(it) }) {
            try {
                State.Sent(name, app.post(app.wallet().respond(taken, app.clock.now())))
            } catch (e: DinhdanhException.UnregisteredVerifier) {
                // The verifier learns the refusal instead of waiting; nothing was disclosed.
                runCatching { app.post(e.responseUri, e.body) }
                throw e
            } catch (e: DinhdanhException.RequestRefused) {
                runCatching { app.post(e.responseUri, e.body) }
                throw e
            }
        }
    }

    /** The citizen approved at a counter without a network: the answer as one QR code. */
    fun approveAsQr() {
        val (taken, name) = take() ?: return
        attempt({ State.Failed(it) }) { State.OfflineQr(name, app.wallet().respondQr(taken, app.clock.now())) }
    }

    /** The citizen said no: the verifier is told `access_denied`. */
    fun decline() {
        val (taken, name) = take() ?: return
        attempt({ State.Failed(it) }) {
            app.post(app.wallet().decline(taken))
            State.Declined(name)
        }
    }
}

/**
 * Verifier mode, for a telecom or bank counter: the counter's phone shows a request as a QR code
 * (signed with the counter's access certificate, no network needed by the wallet), scans the
 * wallet's answer QR and checks it offline (issuer chain, key binding to this request, status
 * from the lists loaded while online), once.
 */
class VerifierModeViewModel(
    private val verifier: Verifier,
    private val clock: Clock = Clock.SYSTEM,
    private val dcqlJson: String = PID_BASIC,
    private val queryId: String = "pid",
) : ScreenModel<VerifierModeViewModel.State>(State.Idle) {
    sealed interface State {
        data object Idle : State
        data class ShowingRequest(val qrText: String, val requestState: String) : State
        data class Verified(val claims: Map<String, Any?>, val status: String) : State
        data class Failed(val failure: Failure) : State
    }

    @Volatile private var shown: State.ShowingRequest? = null

    /** Loads a status list while online (the counter refreshes them before they age out). */
    fun addStatusList(uri: String, token: String) {
        verifier.addStatusList(uri, token, clock.now())
    }

    fun newRequest() = attempt({ State.Failed(it) }) {
        val created = verifier.createRequest(dcqlJson, clock.now())
        State.ShowingRequest(created.uri, created.state).also { shown = it }
    }

    /** The wallet's answer QR, scanned. A failure keeps the request open for another try. */
    fun check(qrText: String) {
        val request = shown ?: return
        attempt({ State.Failed(it) }) {
            val credential = verifier.receiveQr(qrText, request.requestState, queryId, clock.now()).single()
            shown = null
            State.Verified(Json.obj(credential.claimsJson), credential.status)
        }
    }

    companion object {
        /** Name and date of birth from the PID: what a counter checks against the person in front of it. */
        const val PID_BASIC = """{"credentials":[{"id":"pid","format":"dc+sd-jwt",
            "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},
            "claims":[{"path":["family_name"]},{"path":["given_name"]},{"path":["birthdate"]}]}]}"""
    }
}
