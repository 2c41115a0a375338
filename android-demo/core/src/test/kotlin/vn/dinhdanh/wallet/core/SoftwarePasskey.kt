package vn.dinhdanh.wallet.core

import java.io.ByteArrayOutputStream
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.MessageDigest
import java.security.SecureRandom
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Base64

/**
 * A software passkey for the JVM tests, standing in for Credential Manager: P-256 (ES256),
 * attestation `none`, user present and verified, a signature counter; it builds the JSON a
 * platform authenticator returns (WebAuthn Level 3; CTAP2 authenticator data, a CBOR COSE key).
 */
class SoftwarePasskey(private val origin: String) : PasskeyAuthenticator {
    private val key: KeyPair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }
        .generateKeyPair()
    private val credentialId = ByteArray(16).also(SecureRandom()::nextBytes)
    private var userHandle: String? = null
    private var counter = 0

    private fun b64(bytes: ByteArray) = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)
    private fun sha256(bytes: ByteArray) = MessageDigest.getInstance("SHA-256").digest(bytes)

    private fun publicKey(options: String): Map<String, Any?> =
        Json.obj(options).obj("publicKey") ?: throw IllegalArgumentException("no publicKey in the options")

    private fun clientData(type: String, challenge: String) =
        Json.write(mapOf("type" to type, "challenge" to challenge, "origin" to origin, "crossOrigin" to false)).toByteArray()

    private fun authData(rpId: String, flags: Int): ByteArrayOutputStream = ByteArrayOutputStream().apply {
        write(sha256(rpId.toByteArray()))
        write(flags)
        write(byteArrayOf((counter ushr 24).toByte(), (counter ushr 16).toByte(), (counter ushr 8).toByte(), counter.toByte()))
    }

    private fun head(major: Int, n: Int, out: ByteArrayOutputStream) {
        val m = major shl 5
        when {
            n < 24 -> out.write(m or n)
            n < 256 -> { out.write(m or 24); out.write(n) }
            else -> { out.write(m or 25); out.write(n ushr 8); out.write(n and 0xff) }
        }
    }

    private fun text(s: String, out: ByteArrayOutputStream) {
        val bytes = s.toByteArray()
        head(3, bytes.size, out)
        out.write(bytes)
    }

    private fun bytes(b: ByteArray, out: ByteArrayOutputStream) {
        head(2, b.size, out)
        out.write(b)
    }

    override fun create(optionsJson: String): String {
        val options = publicKey(optionsJson)
        val rpId = options.obj("rp")?.str("id") ?: throw IllegalArgumentException("no rp.id")
        userHandle = options.obj("user")?.str("id")
        val clientData = clientData("webauthn.create", options.str("challenge") ?: "")
        val point = uncompressedPoint(key.public as ECPublicKey)
        val auth = authData(rpId, 0x01 or 0x04 or 0x40)
        auth.write(ByteArray(16)) // AAGUID
        auth.write(byteArrayOf(0, credentialId.size.toByte()))
        auth.write(credentialId)
        // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
        auth.write(byteArrayOf(0xa5.toByte(), 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21))
        bytes(point.copyOfRange(1, 33), auth)
        auth.write(0x22)
        bytes(point.copyOfRange(33, 65), auth)
        val attestation = ByteArrayOutputStream()
        head(5, 3, attestation)
        text("fmt", attestation); text("none", attestation)
        text("attStmt", attestation); head(5, 0, attestation)
        text("authData", attestation); bytes(auth.toByteArray(), attestation)
        return Json.write(mapOf(
            "id" to b64(credentialId), "rawId" to b64(credentialId), "type" to "public-key",
            "response" to mapOf("attestationObject" to b64(attestation.toByteArray()), "clientDataJSON" to b64(clientData)),
            "extensions" to emptyMap<String, Any?>(),
        ))
    }

    override fun get(optionsJson: String): String {
        val options = publicKey(optionsJson)
        val rpId = options.str("rpId") ?: throw IllegalArgumentException("no rpId")
        counter++
        val clientData = clientData("webauthn.get", options.str("challenge") ?: "")
        val auth = authData(rpId, 0x01 or 0x04).toByteArray()
        val signature = Signature.getInstance("SHA256withECDSA").run {
            initSign(key.private)
            update(auth + sha256(clientData))
            sign()
        }
        return Json.write(mapOf(
            "id" to b64(credentialId), "rawId" to b64(credentialId), "type" to "public-key",
            "response" to mapOf("authenticatorData" to b64(auth), "clientDataJSON" to b64(clientData),
                "signature" to b64(signature), "userHandle" to userHandle),
            "extensions" to emptyMap<String, Any?>(),
        ))
    }
}
