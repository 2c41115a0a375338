package vn.dinhdanh.wallet.core

import java.math.BigInteger
import java.security.MessageDigest
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.spec.IvParameterSpec
import javax.crypto.spec.SecretKeySpec

/** The ciphers of secure messaging: 3DES after BAC, AES after PACE (Doc 9303 part 11, 9.8). */
interface SmCipher {
    val blockSize: Int

    /** Encrypts padded [data] for the command or response counted by [ssc]. */
    fun encrypt(ssc: ByteArray, data: ByteArray): ByteArray

    fun decrypt(ssc: ByteArray, data: ByteArray): ByteArray

    /** The 8-byte MAC of padded [data]. */
    fun mac(data: ByteArray): ByteArray

    /** ISO 9797-1 padding method 2 to the block size. */
    fun pad(data: ByteArray): ByteArray = (data + 0x80.toByte()).let { it + ByteArray((blockSize - it.size % blockSize) % blockSize) }
}

/** 3DES in CBC with a zero IV and the retail MAC (after BAC; the SSC is 8 bytes). */
class DesSm(private val ksEnc: ByteArray, private val ksMac: ByteArray) : SmCipher {
    override val blockSize = 8
    override fun encrypt(ssc: ByteArray, data: ByteArray) = Des3.encrypt(ksEnc, data)
    override fun decrypt(ssc: ByteArray, data: ByteArray) = Des3.decrypt(ksEnc, data)
    override fun mac(data: ByteArray) = Des3.mac(ksMac, data)
}

/**
 * AES in CBC with the IV `E(KSenc, SSC)` and AES-CMAC truncated to 8 bytes (after PACE; the
 * SSC is 16 bytes, starting at zero).
 */
class AesSm(private val ksEnc: ByteArray, private val ksMac: ByteArray) : SmCipher {
    override val blockSize = 16
    private fun iv(ssc: ByteArray) = IvParameterSpec(Aes.ecb(ksEnc, ssc))
    override fun encrypt(ssc: ByteArray, data: ByteArray): ByteArray =
        Cipher.getInstance("AES/CBC/NoPadding").run { init(Cipher.ENCRYPT_MODE, SecretKeySpec(ksEnc, "AES"), iv(ssc)); doFinal(data) }
    override fun decrypt(ssc: ByteArray, data: ByteArray): ByteArray =
        Cipher.getInstance("AES/CBC/NoPadding").run { init(Cipher.DECRYPT_MODE, SecretKeySpec(ksEnc, "AES"), iv(ssc)); doFinal(data) }
    override fun mac(data: ByteArray) = Aes.cmac(ksMac, data).copyOf(8)
}

/** AES as PACE uses it: one block in ECB, CBC decryption with a zero IV, and CMAC (NIST SP 800-38B). */
object Aes {
    fun ecb(key: ByteArray, block: ByteArray): ByteArray =
        Cipher.getInstance("AES/ECB/NoPadding").run { init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, "AES")); doFinal(block) }

    fun decryptZeroIv(key: ByteArray, data: ByteArray): ByteArray =
        Cipher.getInstance("AES/CBC/NoPadding").run {
            init(Cipher.DECRYPT_MODE, SecretKeySpec(key, "AES"), IvParameterSpec(ByteArray(16)))
            doFinal(data)
        }

    /** AES-CMAC of [message] (16 bytes): the JCA of Android and of the JDK has no CMAC. */
    fun cmac(key: ByteArray, message: ByteArray): ByteArray {
        fun shifted(block: ByteArray): ByteArray {
            val out = ByteArray(16)
            for (i in 0 until 16) {
                val next = if (i < 15) (block[i + 1].toInt() and 0xff) ushr 7 else 0
                out[i] = (((block[i].toInt() and 0xff) shl 1) or next).toByte()
            }
            if (block[0].toInt() and 0x80 != 0) out[15] = (out[15].toInt() xor 0x87).toByte()
            return out
        }
        val k1 = shifted(ecb(key, ByteArray(16)))
        val k2 = shifted(k1)
        val blocks = maxOf(1, (message.size + 15) / 16)
        val complete = message.isNotEmpty() && message.size % 16 == 0
        val last = ByteArray(16)
        val tail = message.copyOfRange((blocks - 1) * 16, message.size)
        tail.copyInto(last)
        if (!complete) last[tail.size] = 0x80.toByte()
        val subkey = if (complete) k1 else k2
        for (i in 0 until 16) last[i] = (last[i].toInt() xor subkey[i].toInt()).toByte()
        val cipher = Cipher.getInstance("AES/ECB/NoPadding").apply { init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, "AES")) }
        var state = ByteArray(16)
        for (b in 0 until blocks - 1) {
            val block = message.copyOfRange(b * 16, b * 16 + 16)
            state = cipher.doFinal(ByteArray(16) { (state[it].toInt() xor block[it].toInt()).toByte() })
        }
        return cipher.doFinal(ByteArray(16) { (state[it].toInt() xor last[it].toInt()).toByte() })
    }
}

/**
 * A short Weierstrass curve over a prime field, affine coordinates: the arithmetic PACE's
 * generic mapping needs (`G~ = s·G + H`, then key agreement on `G~`), which neither Android's
 * nor the JDK's providers expose (their ECDH gives only an x-coordinate, on named curves).
 * Points are checked to be on the curve where they come from the chip.
 */
class EcCurve(val name: String, val p: BigInteger, val a: BigInteger, val b: BigInteger, val g: Point, val n: BigInteger) {
    data class Point(val x: BigInteger, val y: BigInteger)

    val size = (p.bitLength() + 7) / 8

    init {
        require(contains(g)) { "$name: the generator is not on the curve" }
    }

    fun contains(point: Point): Boolean =
        point.x.signum() >= 0 && point.x < p && point.y.signum() >= 0 && point.y < p &&
            point.y.pow(2).subtract(point.x.pow(3).add(a.multiply(point.x)).add(b)).mod(p).signum() == 0

    /** The sum, `null` standing for the point at infinity. */
    fun add(left: Point?, right: Point?): Point? {
        if (left == null) return right
        if (right == null) return left
        val lambda = if (left.x == right.x) {
            if (left.y.add(right.y).mod(p).signum() == 0) return null
            left.x.pow(2).multiply(THREE).add(a).multiply(left.y.shiftLeft(1).modInverse(p))
        } else {
            right.y.subtract(left.y).multiply(right.x.subtract(left.x).modInverse(p))
        }.mod(p)
        val x = lambda.pow(2).subtract(left.x).subtract(right.x).mod(p)
        return Point(x, lambda.multiply(left.x.subtract(x)).subtract(left.y).mod(p))
    }

    /** `k·point` by a Montgomery ladder (the same additions whatever the bits). */
    fun multiply(k: BigInteger, point: Point): Point? {
        var r0: Point? = null
        var r1: Point? = point
        for (i in n.bitLength() downTo 0) {
            if (k.testBit(i)) {
                r0 = add(r0, r1); r1 = add(r1, r1)
            } else {
                r1 = add(r0, r1); r0 = add(r0, r0)
            }
        }
        return r0
    }

    /** The uncompressed encoding `04 || x || y`. */
    fun encode(point: Point): ByteArray = byteArrayOf(4) + fixed(point.x) + fixed(point.y)

    fun decode(bytes: ByteArray): Point {
        if (bytes.size != 1 + 2 * size || bytes[0] != 4.toByte()) throw ChipException("not an uncompressed $name point")
        val point = Point(BigInteger(1, bytes.copyOfRange(1, 1 + size)), BigInteger(1, bytes.copyOfRange(1 + size, bytes.size)))
        if (!contains(point)) throw ChipException("the chip's point is not on $name")
        return point
    }

    fun fixed(value: BigInteger): ByteArray {
        val raw = value.toByteArray().let { if (it.size > size) it.copyOfRange(it.size - size, it.size) else it }
        return ByteArray(size - raw.size) + raw
    }

    /** A private key in [1, n-1]. */
    fun randomScalar(random: SecureRandom): BigInteger {
        while (true) {
            val k = BigInteger(n.bitLength(), random)
            if (k.signum() > 0 && k < n) return k
        }
    }

    companion object {
        private val THREE = BigInteger.valueOf(3)
        private fun h(text: String) = BigInteger(text, 16)

        /** NIST P-256 (FIPS 186-4, D.1.2.3); standardized domain parameters 12 (Doc 9303 part 11, 9.5.1). */
        val P256 = EcCurve(
            "P-256",
            h("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
            h("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
            h("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
            Point(h("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"),
                h("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")),
            h("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
        )

        /** brainpoolP256r1 (RFC 5639, 3.4); standardized domain parameters 13. */
        val BRAINPOOL_P256R1 = EcCurve(
            "brainpoolP256r1",
            h("A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"),
            h("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"),
            h("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"),
            Point(h("8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"),
                h("547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997")),
            h("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"),
        )
    }
}

/**
 * Password Authenticated Connection Establishment with the MRZ as password (ICAO Doc 9303
 * part 11, section 4.4): ECDH with the generic mapping and AES secure messaging
 * (`id-PACE-ECDH-GM-AES-CBC-CMAC-128/192/256`) on P-256 or brainpoolP256r1, the parameters
 * chips of this kind use. A chip that offers only other PACE variants is opened with BAC.
 */
object Pace {
    /** A PACEInfo of EF.CardAccess this reader speaks. */
    data class Info(val oid: ByteArray, val keyLength: Int, val parameterId: Int, val curve: EcCurve)

    /** id-PACE-ECDH-GM-AES-CBC-CMAC-{128,192,256}: 0.4.0.127.0.7.2.2.4.2.{2,3,4}. */
    private val ECDH_GM_AES = mapOf(2 to 16, 3 to 24, 4 to 32)
    private val ECDH_GM_PREFIX = hex("04007F000702020402")
    private val CURVES = mapOf(12 to EcCurve.P256, 13 to EcCurve.BRAINPOOL_P256R1)

    /** EF.CardAccess (short file id 1C) read in the clear, or null when the chip has none (BAC only). */
    fun readCardAccess(channel: ApduChannel): ByteArray? {
        val response = channel.transceive(hex("00B09C0000"))
        if (response.size < 2) return null
        val ok = response[response.size - 2] == 0x90.toByte() && response.last() == 0.toByte()
        return if (ok && response.size > 2) response.copyOfRange(0, response.size - 2) else null
    }

    /** The PACE protocol to run from EF.CardAccess (a SET of SecurityInfos), or null for none this reader speaks. */
    fun choose(cardAccess: ByteArray): Info? = try {
        infos(cardAccess).maxByOrNull { it.keyLength }
    } catch (e: ChipException) {
        null
    }

    fun infos(cardAccess: ByteArray): List<Info> {
        val set = Der(cardAccess)
        val (tag, content) = set.next()
        if (tag != 0x31) throw ChipException("EF.CardAccess is not a SET")
        val infos = mutableListOf<Info>()
        val items = Der(content)
        while (items.more()) {
            val (itemTag, item) = items.next()
            if (itemTag != 0x30) continue
            val fields = Der(item)
            val (oidTag, oid) = fields.next()
            if (oidTag != 0x06 || !fields.more()) continue
            val (versionTag, version) = fields.next()
            // An empty INTEGER (read in the clear from any card) is malformed, not a crash.
            if (versionTag != 0x02 || version.isEmpty() || BigInteger(version) != BigInteger.valueOf(2)) continue
            val parameterId = if (fields.more()) {
                fields.next().let { (t, v) -> if (t == 0x02 && v.isNotEmpty() && v.size <= 4) BigInteger(v).toInt() else -1 }
            } else -1
            if (oid.size != ECDH_GM_PREFIX.size + 1 || !oid.copyOf(ECDH_GM_PREFIX.size).contentEquals(ECDH_GM_PREFIX)) continue
            val keyLength = ECDH_GM_AES[oid.last().toInt()] ?: continue
            val curve = CURVES[parameterId] ?: continue
            infos += Info(oid, keyLength, parameterId, curve)
        }
        return infos
    }

    /** The MRZ password `K = SHA-1(MRZ information)` and the key `KDF(K, c)` (Doc 9303 part 11, 9.7.1). */
    fun kdf(secret: ByteArray, counter: Int, length: Int): ByteArray {
        val digest = MessageDigest.getInstance(if (length == 16) "SHA-1" else "SHA-256")
        return digest.digest(secret + byteArrayOf(0, 0, 0, counter.toByte())).copyOf(length)
    }

    fun password(key: MrzKey): ByteArray =
        MessageDigest.getInstance("SHA-1").digest(Bac.mrzInformation(key).toByteArray(Charsets.US_ASCII))

    /** The authentication token: CMAC over the other side's public key in a 7F49 template (9.4.4), 8 bytes. */
    fun token(ksMac: ByteArray, oid: ByteArray, publicKey: ByteArray): ByteArray {
        val inner = tlv(0x06, oid) + tlv(0x86, publicKey)
        return Aes.cmac(ksMac, byteArrayOf(0x7f, 0x49) + length(inner.size) + inner).copyOf(8)
    }

    /**
     * Runs PACE with the MRZ: MSE:Set AT, then the four GENERAL AUTHENTICATE steps (encrypted
     * nonce, mapping, key agreement, mutual authentication). [ephemeral] supplies the
     * terminal's two private keys (null: random; a test gives the worked example's).
     */
    fun authenticate(channel: ApduChannel, key: MrzKey, info: Info, ephemeral: () -> BigInteger? = { null }): SecureChannel {
        val curve = info.curve
        val random = SecureRandom()
        fun privateKey() = ephemeral() ?: curve.randomScalar(random)
        val setAt = tlv(0x80, info.oid) + tlv(0x83, byteArrayOf(1)) + tlv(0x84, byteArrayOf(info.parameterId.toByte()))
        command(channel, 0x00, 0x22, 0xc1, 0xa4, setAt, le = false)

        // 1. The chip's nonce, encrypted under the password.
        val kPi = kdf(password(key), 3, info.keyLength)
        val z = dynamic(command(channel, 0x10, 0x86, 0, 0, dynamic(ByteArray(0)), le = true), 0x80)
        if (z.isEmpty() || z.size % 16 != 0) throw ChipException("bad encrypted nonce")
        val s = BigInteger(1, Aes.decryptZeroIv(kPi, z))

        // 2. Generic mapping: G~ = s·G + H, H the ECDH point of the mapping keys.
        val mapKey = privateKey()
        val mapPublic = curve.multiply(mapKey, curve.g) ?: throw ChipException("bad mapping key")
        val chipMap = curve.decode(dynamic(command(channel, 0x10, 0x86, 0, 0, dynamic(tlv(0x81, curve.encode(mapPublic))), le = true), 0x82))
        val h = curve.multiply(mapKey, chipMap) ?: throw ChipException("the chip's mapping key is degenerate")
        val mapped = curve.add(curve.multiply(s, curve.g), h) ?: throw ChipException("the mapped generator is degenerate")

        // 3. Key agreement on the mapped generator.
        val agreementKey = privateKey()
        val ourPublic = curve.encode(curve.multiply(agreementKey, mapped) ?: throw ChipException("bad agreement key"))
        val chipPublic = dynamic(command(channel, 0x10, 0x86, 0, 0, dynamic(tlv(0x83, ourPublic)), le = true), 0x84)
        if (chipPublic.contentEquals(ourPublic)) throw ChipException("the chip echoed the terminal's key")
        val shared = curve.multiply(agreementKey, curve.decode(chipPublic)) ?: throw ChipException("degenerate shared secret")
        val secret = curve.fixed(shared.x)
        val ksEnc = kdf(secret, 1, info.keyLength)
        val ksMac = kdf(secret, 2, info.keyLength)

        // 4. Mutual authentication: each side's token over the other's public key.
        val answer = try {
            command(channel, 0x00, 0x86, 0, 0, dynamic(tlv(0x85, token(ksMac, info.oid, chipPublic))), le = true)
        } catch (e: ChipException) {
            throw ChipException("the chip refused the access key: check the MRZ", e.status)
        }
        val chipToken = dynamic(answer, 0x86)
        if (!MessageDigest.isEqual(chipToken, token(ksMac, info.oid, ourPublic))) {
            throw ChipException("the chip's authentication token does not verify")
        }
        return SecureChannel(channel, AesSm(ksEnc, ksMac), ByteArray(16))
    }

    /** A short command in the clear: its answer's data, or a [ChipException] with the status word. */
    private fun command(channel: ApduChannel, cla: Int, ins: Int, p1: Int, p2: Int, data: ByteArray, le: Boolean): ByteArray {
        val apdu = byteArrayOf(cla.toByte(), ins.toByte(), p1.toByte(), p2.toByte(), data.size.toByte()) + data +
            (if (le) byteArrayOf(0) else ByteArray(0))
        return Bac.plain(channel, apdu)
    }

    /** The dynamic authentication data template `7C`, or the value of [tag] inside one. */
    private fun dynamic(content: ByteArray) = tlv(0x7c, content)

    private fun dynamic(answer: ByteArray, tag: Int): ByteArray {
        val (outer, content) = Der(answer).next()
        if (outer != 0x7c) throw ChipException("no dynamic authentication data")
        val inner = Der(content)
        while (inner.more()) {
            val (t, value) = inner.next()
            if (t == tag) return value
        }
        throw ChipException("the chip's answer lacks data object %02X".format(tag))
    }

    private fun length(size: Int): ByteArray = when {
        size < 0x80 -> byteArrayOf(size.toByte())
        size < 0x100 -> byteArrayOf(0x81.toByte(), size.toByte())
        else -> byteArrayOf(0x82.toByte(), (size ushr 8).toByte(), size.toByte())
    }

    private fun tlv(tag: Int, value: ByteArray) = byteArrayOf(tag.toByte()) + length(value.size) + value

    /** Single-byte-tag BER-TLV, definite lengths up to 0xFFFF: what these structures use. */
    private class Der(private val bytes: ByteArray) {
        private var at = 0
        fun more() = at < bytes.size
        fun next(): Pair<Int, ByteArray> {
            if (at + 2 > bytes.size) throw ChipException("truncated data object")
            val tag = bytes[at++].toInt() and 0xff
            if (tag and 0x1f == 0x1f) throw ChipException("multi-byte tag")
            var size = bytes[at++].toInt() and 0xff
            if (size == 0x81 || size == 0x82) {
                val count = size - 0x80
                if (at + count > bytes.size) throw ChipException("truncated length")
                size = (0 until count).fold(0) { acc, _ -> (acc shl 8) or (bytes[at++].toInt() and 0xff) }
            } else if (size >= 0x80) throw ChipException("bad length")
            if (at + size > bytes.size) throw ChipException("truncated data object")
            return tag to bytes.copyOfRange(at, at + size).also { at += size }
        }
    }
}
