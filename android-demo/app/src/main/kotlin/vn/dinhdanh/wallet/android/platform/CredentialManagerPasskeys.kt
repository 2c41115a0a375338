package vn.dinhdanh.wallet.android.platform

import android.app.Activity
import androidx.credentials.CreatePublicKeyCredentialRequest
import androidx.credentials.CreatePublicKeyCredentialResponse
import androidx.credentials.CredentialManager
import androidx.credentials.GetCredentialRequest
import androidx.credentials.GetPublicKeyCredentialOption
import androidx.credentials.PublicKeyCredential
import kotlinx.coroutines.runBlocking
import vn.dinhdanh.wallet.core.Json
import vn.dinhdanh.wallet.core.PasskeyAuthenticator

/**
 * Passkeys through Credential Manager: the server's WebAuthn options (`publicKey` member) in,
 * the platform's registration or assertion JSON out. The server's relying-party id must match
 * the app's Digital Asset Links (`/.well-known/assetlinks.json`, served by the server).
 * Called off the main thread (the core's view models block); Credential Manager shows its own UI.
 */
class CredentialManagerPasskeys(private val activity: Activity) : PasskeyAuthenticator {
    private val manager = CredentialManager.create(activity)

    private fun publicKey(optionsJson: String): String =
        Json.write(Json.obj(optionsJson)["publicKey"] ?: throw IllegalArgumentException("no publicKey in the options"))

    override fun create(optionsJson: String): String = runBlocking {
        val response = manager.createCredential(activity, CreatePublicKeyCredentialRequest(publicKey(optionsJson)))
        (response as CreatePublicKeyCredentialResponse).registrationResponseJson
    }

    override fun get(optionsJson: String): String = runBlocking {
        val request = GetCredentialRequest(listOf(GetPublicKeyCredentialOption(publicKey(optionsJson))))
        val credential = manager.getCredential(activity, request).credential
        (credential as PublicKeyCredential).authenticationResponseJson
    }
}
