package vn.dinhdanh.wallet.core

import java.io.IOException
import java.math.BigInteger
import java.net.HttpURLConnection
import java.net.URI
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.SecureRandom
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import uniffi.dinhdanh_ffi.HttpHeader
import uniffi.dinhdanh_ffi.HttpRequest
import uniffi.dinhdanh_ffi.HttpResponse
import uniffi.dinhdanh_ffi.KeyStore
import uniffi.dinhdanh_ffi.KeyStoreFailure
import uniffi.dinhdanh_ffi.Transport
import uniffi.dinhdanh_ffi.TransportFailure

// The platform contracts the app fills in. `KeyStore` and `Transport` are the FFI's foreign
// traits (the SDK calls them); the others are the app's own:
// - KeyStore: the app's is the Android Keystore (StrongBox when present); SoftwareKeyStore below
//   serves the JVM tests and the desktop.
// - Transport: HttpTransport below works on Android and the JVM alike.

/** The platform's passkey authenticator (Credential Manager on Android): WebAuthn JSON in and out. */
interface PasskeyAuthenticator {
    /** `navigator.credentials.create()`: the registration response JSON for the server's options. */
    fun create(optionsJson: String): String

    /** `navigator.credentials.get()`: the assertion response JSON for the server's options. */
    fun get(optionsJson: String): String
}

/** The files of an ID card's chip (ICAO 9303 LDS), as read over NFC. */
class ChipFiles(val dg1: ByteArray, val dg2: ByteArray, val dg13: ByteArray, val sod: ByteArray)

/** Reads the chip of an ID card, the access key (BAC/PACE) derived from its MRZ. */
interface ChipReader {
    fun read(mrz: MrzKey): ChipFiles
}

/** What the chip's access key is derived from: the MRZ's document number, birth and expiry dates. */
data class MrzKey(val documentNumber: String, val dateOfBirth: String, val dateOfExpiry: String) {
    init {
        require(dateOfBirth.length == 6 && dateOfBirth.all(Char::isDigit)) { "date of birth is YYMMDD" }
        require(dateOfExpiry.length == 6 && dateOfExpiry.all(Char::isDigit)) { "date of expiry is YYMMDD" }
        require(documentNumber.isNotEmpty() && documentNumber.all { it.isLetterOrDigit() || it == '<' }) {
            "document number is letters and digits"
        }
    }
}

/** Unix seconds; the tests and the verifier mode may set the clock. */
fun interface Clock {
    fun now(): ULong

    companion object {
        val SYSTEM = Clock { (System.currentTimeMillis() / 1000).toULong() }
    }
}

/**
 * The FFI's [Transport] on `HttpURLConnection` (Android and the JVM). Any status comes back as a
 * response; only a network failure is a [TransportFailure]. [rewriteLocalhost] sends
 * `localhost` URLs to 127.0.0.1 (the development server's public URL on a machine without IPv6
 * localhost).
 */
class HttpTransport(
    private val rewriteLocalhost: Boolean = false,
    private val timeoutMillis: Int = 30_000,
) : Transport {
    override fun send(request: HttpRequest): HttpResponse {
        try {
            val target = if (rewriteLocalhost) request.url.replace("//localhost", "//127.0.0.1") else request.url
            val connection = URI(target).toURL().openConnection() as HttpURLConnection
            connection.requestMethod = request.method
            connection.instanceFollowRedirects = false
            connection.connectTimeout = timeoutMillis
            connection.readTimeout = timeoutMillis
            for (header in request.headers) connection.setRequestProperty(header.name, header.value)
            if (request.method != "GET" && request.method != "DELETE") {
                connection.doOutput = true
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val body = stream?.use { it.readBytes() } ?: ByteArray(0)
            val headers = connection.headerFields
                .filterKeys { it != null }
                .flatMap { (name, values) -> values.map { HttpHeader(name, it) } }
            return HttpResponse(status.toUShort(), headers, body)
        } catch (e: IOException) {
            throw TransportFailure.Failed(e.javaClass.simpleName + ": " + (e.message ?: ""))
        } catch (e: IllegalArgumentException) {
            throw TransportFailure.Failed("bad URL")
        }
    }
}

/**
 * A [KeyStore] in memory on `java.security` (P-256 ECDSA, AES-256-GCM wrapping): for tests and
 * desktop tools. Keys never leave it, but they live only as long as the process.
 */
class SoftwareKeyStore : KeyStore {
    private val signing = HashMap<String, KeyPair>()
    private val wrapping = HashMap<String, SecretKey>()
    private val random = SecureRandom()

    @Synchronized
    override fun generateSigningKey(alias: String) {
        if (signing.containsKey(alias) || wrapping.containsKey(alias)) throw KeyStoreFailure.Refused("$alias exists")
        val generator = KeyPairGenerator.getInstance("EC")
        generator.initialize(ECGenParameterSpec("secp256r1"))
        signing[alias] = generator.generateKeyPair()
    }

    @Synchronized
    override fun publicKey(alias: String): ByteArray {
        val key = (signing[alias] ?: throw KeyStoreFailure.NotFound(alias)).public as ECPublicKey
        return uncompressedPoint(key)
    }

    @Synchronized
    override fun sign(alias: String, message: ByteArray): ByteArray {
        val key = signing[alias] ?: throw KeyStoreFailure.NotFound(alias)
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(key.private)
            update(message)
            sign()
        }
    }

    @Synchronized
    override fun generateWrappingKey(alias: String) {
        if (signing.containsKey(alias) || wrapping.containsKey(alias)) throw KeyStoreFailure.Refused("$alias exists")
        wrapping[alias] = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    }

    @Synchronized
    override fun wrap(alias: String, secret: ByteArray): ByteArray {
        val key = wrapping[alias] ?: throw KeyStoreFailure.NotFound(alias)
        val nonce = ByteArray(12).also(random::nextBytes)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, nonce))
        return nonce + cipher.doFinal(secret)
    }

    @Synchronized
    override fun unwrap(alias: String, wrapped: ByteArray): ByteArray {
        val key = wrapping[alias] ?: throw KeyStoreFailure.NotFound(alias)
        if (wrapped.size < 12 + 16) throw KeyStoreFailure.Unwrap()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped.copyOfRange(0, 12)))
        try {
            return cipher.doFinal(wrapped.copyOfRange(12, wrapped.size))
        } catch (e: AEADBadTagException) {
            throw KeyStoreFailure.Unwrap()
        }
    }

    @Synchronized
    override fun contains(alias: String): Boolean = signing.containsKey(alias) || wrapping.containsKey(alias)

    @Synchronized
    override fun delete(alias: String) {
        signing.remove(alias)
        wrapping.remove(alias)
    }
}

/** The SEC 1 uncompressed point (0x04 || x || y) of a P-256 public key: what the SDK expects. */
fun uncompressedPoint(key: ECPublicKey): ByteArray {
    fun coordinate(n: BigInteger): ByteArray {
        val bytes = n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
        return ByteArray(32 - bytes.size) + bytes
    }
    return byteArrayOf(4) + coordinate(key.w.affineX) + coordinate(key.w.affineY)
}
