package vn.dinhdanh.wallet.core

import uniffi.dinhdanh_ffi.KeyStore
import uniffi.dinhdanh_ffi.SignatureTrust
import uniffi.dinhdanh_ffi.SignatureVerdict
import uniffi.dinhdanh_ffi.signingCertificateRequest
import uniffi.dinhdanh_ffi.verifyCmsSignature
import uniffi.dinhdanh_ffi.verifyJwsSignature
import uniffi.dinhdanh_ffi.verifyPdfSignatures
import uniffi.dinhdanh_ffi.DocumentSigner as FfiDocumentSigner

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

    /**
     * The signature of [document] under [certificateChainPem]: the signed PDF (PAdES B-B) for
     * `application/pdf`, a detached JWS (UTF-8) for `application/json`, a detached CMS (CAdES
     * B-B, DER) otherwise.
     */
    fun sign(document: ByteArray, mediaType: String, certificateChainPem: String): ByteArray
}

/**
 * The [DocumentSigner] over the FFI: the signing key `alias` of the platform keystore (made on
 * first use; the Android Keystore's, with user authentication, on a phone), its CSR signed by it
 * (`signingCertificateRequest`) and documents signed by the SDK (`DocumentSigner`), the private
 * key never leaving the keystore.
 */
class KeystoreDocumentSigner(private val keys: KeyStore, private val alias: String, private val clock: Clock = Clock.SYSTEM) :
    DocumentSigner {
    override fun certificateRequest(): String {
        if (!keys.contains(alias)) keys.generateSigningKey(alias)
        return signingCertificateRequest(keys, alias)
    }

    override fun sign(document: ByteArray, mediaType: String, certificateChainPem: String): ByteArray =
        FfiDocumentSigner(keys, alias, certificateChainPem).use { signer ->
            when (mediaType) {
                PDF -> signer.signPdf(document, clock.now())
                JSON -> signer.signJws(document, clock.now()).toByteArray()
                else -> signer.signCms(document, clock.now())
            }
        }

    companion object {
        const val PDF = "application/pdf"
        const val JSON = "application/json"

        /**
         * The verdicts on [signature] of [document] (for a PDF, [signature] is the signed PDF and
         * every signature in it is checked), against the agency roots [anchorsPem].
         */
        fun verify(signature: ByteArray, document: ByteArray, mediaType: String, anchorsPem: String, now: ULong): List<SignatureVerdict> {
            val trust = SignatureTrust(anchorsPem = anchorsPem, now = now)
            return when (mediaType) {
                PDF -> verifyPdfSignatures(signature, trust)
                JSON -> listOf(verifyJwsSignature(String(signature), document, trust))
                else -> listOf(verifyCmsSignature(signature, document, trust))
            }
        }
    }
}

/**
 * Sign a document (issue 13): the citizen's signing certificates, a new one for this device's
 * key (level 2 and a passkey sign-in within the last 5 minutes, required by the server), signing,
 * and checking a signature. Enabled when the server has `/v1/me/signing-certificates`.
 */
class SignViewModel(private val app: WalletApp) : ScreenModel<SignViewModel.State>(State.Loading) {
    sealed interface State {
        data object Loading : State
        data object Unavailable : State
        data class Loaded(val certificates: List<SigningCertificate>) : State
        data class Signed(val signature: ByteArray, val certificate: SigningCertificate) : State
        data class Verified(val verdicts: List<SignatureVerdict>) : State {
            /** Every signature valid (and at least one). */
            val valid: Boolean get() = verdicts.isNotEmpty() && verdicts.all { it.valid }
        }
        data class Failed(val failure: Failure) : State
    }

    fun refresh() = attempt({ State.Failed(it) }) {
        if (!app.capabilities().signingCertificates) State.Unavailable
        else State.Loaded(app.api.signingCertificates(app.token()))
    }

    fun requestCertificate(signer: DocumentSigner, deviceId: String?) = attempt({ State.Failed(it) }) {
        if (!app.capabilities().signingCertificates) return@attempt State.Unavailable
        app.signingCertificate = app.api.requestSigningCertificate(app.token(), signer.certificateRequest(), deviceId)
        State.Loaded(app.api.signingCertificates(app.token()))
    }

    fun sign(signer: DocumentSigner, document: ByteArray, mediaType: String) = attempt({ State.Failed(it) }) {
        if (!app.capabilities().signingCertificates) return@attempt State.Unavailable
        // The chain the CA returned (certificate and signing CA); the list has the certificate only.
        val valid = app.api.signingCertificates(app.token()).filter { it.status == "valid" }
        val certificate = app.signingCertificate?.takeIf { issued -> valid.any { it.id == issued.id } }
            ?: valid.firstOrNull { it.certificateChainPem != null }
            ?: throw IllegalArgumentException("no valid signing certificate: request one first")
        State.Signed(signer.sign(document, mediaType, certificate.certificateChainPem!!), certificate)
    }

    /** Checks [signature] of [document] against the agency's root (for a PDF: the signed PDF). */
    fun verify(signature: ByteArray, document: ByteArray, mediaType: String) = attempt({ State.Failed(it) }) {
        State.Verified(KeystoreDocumentSigner.verify(signature, document, mediaType, app.api.issuerRootPem(), app.clock.now()))
    }
}
