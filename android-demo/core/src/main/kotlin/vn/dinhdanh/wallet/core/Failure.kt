package vn.dinhdanh.wallet.core

import uniffi.dinhdanh_ffi.DinhdanhException

/** What went wrong, in the terms a screen shows (one message per kind, never personal data). */
enum class FailureKind {
    REVOKED, SUSPENDED, EXPIRED, FORGED, UNTRUSTED_ISSUER, STALE_TRUST_DATA, UNTRUSTED_VERIFIER,
    UNREGISTERED_VERIFIER, REVOKED_VERIFIER, NOT_REGISTERED, ENCRYPTED_DOCUMENT, CERTIFICATE_MISMATCH, TIMESTAMP,
    REQUEST_REFUSED, REFUSED, REPLAYED, NO_MATCH, NETWORK, KEYSTORE,
    STORAGE, INVALID_INPUT, SERVER, UNAVAILABLE,
}

data class Failure(val kind: FailureKind, val detail: String?) {
    /** The English text of the screen's message (the app's resources translate by kind). */
    val message: String
        get() = when (kind) {
            FailureKind.REVOKED -> "This credential was revoked by its issuer."
            FailureKind.SUSPENDED -> "This credential is suspended by its issuer."
            FailureKind.EXPIRED -> "This credential has expired."
            FailureKind.FORGED -> "This credential is not genuine or was altered."
            FailureKind.UNTRUSTED_ISSUER -> "The issuer is not trusted by the agency."
            FailureKind.STALE_TRUST_DATA -> "Trust data is out of date: connect to refresh it."
            FailureKind.UNTRUSTED_VERIFIER -> "The request does not come from a trusted verifier."
            FailureKind.UNREGISTERED_VERIFIER -> "This verifier is not registered with the agency: nothing was shared."
            FailureKind.REVOKED_VERIFIER -> "The agency has revoked this verifier's registration: nothing was shared."
            FailureKind.NOT_REGISTERED -> "This service's registration with the agency is not valid."
            FailureKind.ENCRYPTED_DOCUMENT -> "This document is encrypted: open it with its password first, then sign."
            FailureKind.CERTIFICATE_MISMATCH -> "Your signing certificate does not match this device's key: request a new one."
            FailureKind.TIMESTAMP -> "The time-stamp service could not be reached or answered wrongly: try again."
            FailureKind.REQUEST_REFUSED -> "The wallet cannot answer this request."
            FailureKind.REFUSED -> "Refused."
            FailureKind.REPLAYED -> "This answer was already used."
            FailureKind.NO_MATCH -> "You hold no credential this request asks for."
            FailureKind.NETWORK -> "No connection to the server."
            FailureKind.KEYSTORE -> "The device's key store refused."
            FailureKind.STORAGE -> "The wallet's storage failed."
            FailureKind.INVALID_INPUT -> "This is not a valid code or request."
            FailureKind.SERVER -> "The server refused."
            FailureKind.UNAVAILABLE -> "Not available on this server yet."
        }

    companion object {
        /** The failure a screen shows for what a call threw. */
        fun of(error: Throwable): Failure = when (error) {
            is DinhdanhException.Revoked -> Failure(FailureKind.REVOKED, error.reason)
            is DinhdanhException.Suspended -> Failure(FailureKind.SUSPENDED, error.reason)
            is DinhdanhException.Expired -> Failure(FailureKind.EXPIRED, error.reason)
            is DinhdanhException.Forged -> Failure(FailureKind.FORGED, error.reason)
            is DinhdanhException.UntrustedIssuer -> Failure(FailureKind.UNTRUSTED_ISSUER, error.reason)
            is DinhdanhException.StaleTrustData -> Failure(FailureKind.STALE_TRUST_DATA, error.reason)
            is DinhdanhException.UntrustedVerifier -> Failure(FailureKind.UNTRUSTED_VERIFIER, error.reason)
            is DinhdanhException.UnregisteredVerifier -> Failure(FailureKind.UNREGISTERED_VERIFIER, error.verifier)
            is DinhdanhException.RevokedVerifier -> Failure(FailureKind.REVOKED_VERIFIER, error.verifier)
            is DinhdanhException.Unregistered -> Failure(FailureKind.NOT_REGISTERED, error.reason)
            is DinhdanhException.EncryptedDocument -> Failure(FailureKind.ENCRYPTED_DOCUMENT, null)
            is DinhdanhException.CertificateMismatch -> Failure(FailureKind.CERTIFICATE_MISMATCH, error.reason)
            is DinhdanhException.Timestamp -> Failure(FailureKind.TIMESTAMP, error.reason)
            is DinhdanhException.RequestRefused -> Failure(FailureKind.REQUEST_REFUSED, error.reason)
            is DinhdanhException.Refused -> Failure(FailureKind.REFUSED, error.reason)
            is DinhdanhException.Replayed -> Failure(FailureKind.REPLAYED, null)
            is DinhdanhException.NoMatch -> Failure(FailureKind.NO_MATCH, null)
            is DinhdanhException.Network -> Failure(FailureKind.NETWORK, error.reason)
            is DinhdanhException.KeyStore -> Failure(FailureKind.KEYSTORE, error.reason)
            is DinhdanhException.Storage -> Failure(FailureKind.STORAGE, error.reason)
            is DinhdanhException.InvalidInput -> Failure(FailureKind.INVALID_INPUT, error.reason)
            is ApiException -> when {
                error.status == 0 -> Failure(FailureKind.NETWORK, error.detail)
                error.status == 404 -> Failure(FailureKind.UNAVAILABLE, error.detail)
                error.status in 400..499 -> Failure(FailureKind.REFUSED, error.detail ?: error.title)
                else -> Failure(FailureKind.SERVER, error.title)
            }
            is IllegalArgumentException -> Failure(FailureKind.INVALID_INPUT, error.message)
            is Json.JsonException -> Failure(FailureKind.SERVER, "malformed answer")
            else -> Failure(FailureKind.SERVER, error.javaClass.simpleName)
        }
    }
}
