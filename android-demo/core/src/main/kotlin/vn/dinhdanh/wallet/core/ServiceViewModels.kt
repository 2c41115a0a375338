package vn.dinhdanh.wallet.core

/**
 * My SIM numbers (issue 12): every number registered to the citizen across operators; the
 * citizen marks each mine or not mine (not mine opens a dispute the operator must answer).
 * Enabled when the server has `GET /v1/me/subscriptions`.
 */
class SimListViewModel(private val app: WalletApp) : ScreenModel<SimListViewModel.State>(State.Loading) {
    sealed interface State {
        data object Loading : State
        data object Unavailable : State
        data class Loaded(val numbers: List<Subscription>, val disputeOpened: String? = null) : State
        data class Failed(val failure: Failure) : State
    }

    fun refresh() = attempt({ State.Failed(it) }) {
        if (!app.capabilities().simList) State.Unavailable else State.Loaded(app.api.subscriptions(app.token()))
    }

    fun mark(subscriptionId: String, mine: Boolean) = attempt({ State.Failed(it) }) {
        if (!app.capabilities().simList) return@attempt State.Unavailable
        val dispute = app.api.markSubscription(app.token(), subscriptionId, mine)
        State.Loaded(app.api.subscriptions(app.token()), dispute)
    }
}

/** Signs a document with the device's signing key (the SDK's signature functions, issue 13). */
interface DocumentSigner {
    /** A PKCS#10 request (PEM) for the device's signing key, for the agency's signing CA. */
    fun certificateRequest(): String

    /** The signature of [document] (PAdES for a PDF, JWS otherwise) under [certificateChainPem]. */
    fun sign(document: ByteArray, mediaType: String, certificateChainPem: String): ByteArray
}

/**
 * Sign a document (issue 13): the citizen's signing certificates, a new one for this device's
 * key (level 2 and a recent passkey sign-in required by the server), and signing. Enabled when
 * the server has `/v1/me/signing-certificates`.
 */
class SignViewModel(private val app: WalletApp) : ScreenModel<SignViewModel.State>(State.Loading) {
    sealed interface State {
        data object Loading : State
        data object Unavailable : State
        data class Loaded(val certificates: List<SigningCertificate>) : State
        data class Signed(val signature: ByteArray, val certificate: SigningCertificate) : State
        data class Failed(val failure: Failure) : State
    }

    fun refresh() = attempt({ State.Failed(it) }) {
        if (!app.capabilities().signingCertificates) State.Unavailable
        else State.Loaded(app.api.signingCertificates(app.token()))
    }

    fun requestCertificate(signer: DocumentSigner, deviceId: String?) = attempt({ State.Failed(it) }) {
        if (!app.capabilities().signingCertificates) return@attempt State.Unavailable
        app.api.requestSigningCertificate(app.token(), signer.certificateRequest(), deviceId)
        State.Loaded(app.api.signingCertificates(app.token()))
    }

    fun sign(signer: DocumentSigner, document: ByteArray, mediaType: String) = attempt({ State.Failed(it) }) {
        if (!app.capabilities().signingCertificates) return@attempt State.Unavailable
        val certificate = app.api.signingCertificates(app.token()).firstOrNull { it.status == "valid" && it.certificateChainPem != null }
            ?: throw IllegalArgumentException("no valid signing certificate: request one first")
        State.Signed(signer.sign(document, mediaType, certificate.certificateChainPem!!), certificate)
    }
}
