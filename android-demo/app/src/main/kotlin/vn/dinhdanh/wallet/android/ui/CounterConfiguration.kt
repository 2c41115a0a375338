package vn.dinhdanh.wallet.android.ui

import android.content.Context
import android.content.RestrictionsManager
import uniffi.dinhdanh_ffi.Verifier
import uniffi.dinhdanh_ffi.VerifierConfig

/**
 * The counter's verifier from the device's managed configuration (set by the operator's MDM):
 * its access key (JWK), certificate chain, client id, registration and the agency's issuing
 * root. Null when the phone is not a counter.
 */
object CounterConfiguration {
    fun verifier(context: Context): Verifier? {
        val restrictions = (context.getSystemService(Context.RESTRICTIONS_SERVICE) as RestrictionsManager).applicationRestrictions
        val key = restrictions.getString("counter_key_jwk") ?: return null
        return Verifier(VerifierConfig(
            signingKeyJwk = key,
            certificateChainPem = restrictions.getString("counter_chain_pem") ?: return null,
            clientId = restrictions.getString("counter_client_id") ?: return null,
            responseUri = restrictions.getString("counter_response_uri") ?: "https://counter.invalid/offline",
            issuerAnchorsPem = restrictions.getString("issuer_root_pem") ?: return null,
            trustAsOf = System.currentTimeMillis().toULong() / 1000u,
            registration = restrictions.getString("counter_registration"),
        ))
    }
}
