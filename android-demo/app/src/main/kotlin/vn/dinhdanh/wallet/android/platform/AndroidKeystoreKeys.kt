package vn.dinhdanh.wallet.android.platform

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyInfo
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.UserNotAuthenticatedException
import java.security.GeneralSecurityException
import java.security.KeyFactory
import java.security.KeyPairGenerator
import java.security.PrivateKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import uniffi.dinhdanh_ffi.KeyStore
import uniffi.dinhdanh_ffi.KeyStoreFailure
import vn.dinhdanh.wallet.core.uncompressedPoint

/**
 * The FFI's [KeyStore] on the Android Keystore: P-256 signing keys and AES-256-GCM wrapping
 * keys that never leave secure hardware. StrongBox is used when the device has it (falling back
 * to the TEE when StrongBox refuses the key); signing keys require the user's authentication
 * (biometric or device credential within [authenticationValiditySeconds]) when
 * [requireUserAuthentication]; each signing key carries a key attestation (the server's
 * [attestationChallenge]) whose chain [attestationChain] exports.
 *
 * Compiled against API 23: the API 24 and 28 builder methods (attestation challenge, StrongBox)
 * are called by name when the device has them.
 */
class AndroidKeystoreKeys(
    context: Context,
    private val requireUserAuthentication: Boolean = true,
    private val authenticationValiditySeconds: Int = 30,
    private val attestationChallenge: ByteArray? = null,
) : KeyStore {
    private val keystore = java.security.KeyStore.getInstance(PROVIDER).apply { load(null) }
    private val strongBox = Build.VERSION.SDK_INT >= 28 &&
        context.packageManager.hasSystemFeature(FEATURE_STRONGBOX)

    override fun generateSigningKey(alias: String) = guarded {
        if (keystore.containsAlias(alias)) throw KeyStoreFailure.Refused("$alias exists")
        generate(strongBox) { useStrongBox ->
            val builder = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
                .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                .setDigests(KeyProperties.DIGEST_SHA256)
            if (requireUserAuthentication) {
                builder.setUserAuthenticationRequired(true)
                    .setUserAuthenticationValidityDurationSeconds(authenticationValiditySeconds)
            }
            if (attestationChallenge != null && Build.VERSION.SDK_INT >= 24) {
                call(builder, "setAttestationChallenge", ByteArray::class.java, attestationChallenge)
            }
            if (useStrongBox) call(builder, "setIsStrongBoxBacked", java.lang.Boolean.TYPE, true)
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER).apply {
                initialize(builder.build())
                generateKeyPair()
            }
        }
    }

    override fun publicKey(alias: String): ByteArray = guarded {
        val certificate = keystore.getCertificate(alias) ?: throw KeyStoreFailure.NotFound(alias)
        uncompressedPoint(certificate.publicKey as ECPublicKey)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray = guarded {
        val key = keystore.getKey(alias, null) as? PrivateKey ?: throw KeyStoreFailure.NotFound(alias)
        Signature.getInstance("SHA256withECDSA").run {
            initSign(key)
            update(message)
            sign()
        }
    }

    override fun generateWrappingKey(alias: String) = guarded {
        if (keystore.containsAlias(alias)) throw KeyStoreFailure.Refused("$alias exists")
        generate(strongBox) { useStrongBox ->
            val builder = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
            if (useStrongBox) call(builder, "setIsStrongBoxBacked", java.lang.Boolean.TYPE, true)
            KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER).apply {
                init(builder.build())
                generateKey()
            }
        }
    }

    override fun wrap(alias: String, secret: ByteArray): ByteArray = guarded {
        val key = keystore.getKey(alias, null) as? SecretKey ?: throw KeyStoreFailure.NotFound(alias)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        // The keystore picks the nonce (a caller-chosen one is refused by default).
        cipher.init(Cipher.ENCRYPT_MODE, key)
        val nonce = cipher.iv
        byteArrayOf(nonce.size.toByte()) + nonce + cipher.doFinal(secret)
    }

    override fun unwrap(alias: String, wrapped: ByteArray): ByteArray = guarded {
        val key = keystore.getKey(alias, null) as? SecretKey ?: throw KeyStoreFailure.NotFound(alias)
        val nonceSize = wrapped.firstOrNull()?.toInt() ?: throw KeyStoreFailure.Unwrap()
        if (nonceSize !in 12..16 || wrapped.size < 1 + nonceSize + 16) throw KeyStoreFailure.Unwrap()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped.copyOfRange(1, 1 + nonceSize)))
        try {
            cipher.doFinal(wrapped.copyOfRange(1 + nonceSize, wrapped.size))
        } catch (e: AEADBadTagException) {
            throw KeyStoreFailure.Unwrap()
        }
    }

    override fun contains(alias: String): Boolean = guarded { keystore.containsAlias(alias) }

    override fun delete(alias: String) = guarded {
        if (keystore.containsAlias(alias)) keystore.deleteEntry(alias)
    }

    /** The key attestation chain of a signing key (leaf first, DER), for the server to check the key's hardware. */
    fun attestationChain(alias: String): List<ByteArray> = guarded {
        keystore.getCertificateChain(alias)?.map { it.encoded } ?: throw KeyStoreFailure.NotFound(alias)
    }

    /** Whether the key lives in secure hardware (TEE or StrongBox). */
    fun isHardwareBacked(alias: String): Boolean = guarded {
        val key = keystore.getKey(alias, null) as? PrivateKey ?: throw KeyStoreFailure.NotFound(alias)
        KeyFactory.getInstance(key.algorithm, PROVIDER).getKeySpec(key, KeyInfo::class.java).isInsideSecureHardware
    }

    /** Runs [make] with StrongBox, then without it if StrongBox refuses the key (StrongBoxUnavailableException, API 28). */
    private fun generate(strongBox: Boolean, make: (Boolean) -> Unit) {
        if (!strongBox) return make(false)
        try {
            make(true)
        } catch (e: Exception) {
            if (e.javaClass.name != "android.security.keystore.StrongBoxUnavailableException") throw e
            make(false)
        }
    }

    private fun call(builder: KeyGenParameterSpec.Builder, name: String, type: Class<*>, value: Any) {
        KeyGenParameterSpec.Builder::class.java.getMethod(name, type).invoke(builder, value)
    }

    /** Keystore failures as the FFI's: the SDK shows them as a key-store error the app can act on. */
    private inline fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: KeyStoreFailure) {
        throw e
    } catch (e: UserNotAuthenticatedException) {
        throw KeyStoreFailure.Refused("user authentication required")
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw KeyStoreFailure.Refused("the key was invalidated (the screen lock or biometrics changed)")
    } catch (e: GeneralSecurityException) {
        throw KeyStoreFailure.Refused(e.javaClass.simpleName)
    } catch (e: java.lang.reflect.InvocationTargetException) {
        throw KeyStoreFailure.Refused("keystore: " + (e.cause?.javaClass?.simpleName ?: "failure"))
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val FEATURE_STRONGBOX = "android.hardware.strongbox_keystore"
    }
}
