package vn.dinhdanh.wallet.core

import java.io.ByteArrayOutputStream
import java.security.MessageDigest
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.spec.IvParameterSpec
import javax.crypto.spec.SecretKeySpec

/** An ISO 7816 channel to a contactless chip (Android's `IsoDep.transceive`). */
fun interface ApduChannel {
    fun transceive(apdu: ByteArray): ByteArray
}

/** The chip refused or broke the protocol; [status] is its status word when it gave one. */
class ChipException(message: String, val status: Int? = null) : Exception(message)

/**
 * Basic Access Control (ICAO Doc 9303 part 11, section 4.3): the document basic access keys
 * from the MRZ, mutual authentication, and secure messaging with 3DES session keys. A chip that
 * offers PACE (section 4.4, [Pace]) is opened with PACE instead ([IcaoChipReader]).
 */
object Bac {
    /** The MRZ check digit (weights 7, 3, 1; `<` is 0, letters 10 to 35). */
    fun checkDigit(field: String): Char {
        val weights = intArrayOf(7, 3, 1)
        var sum = 0
        field.forEachIndexed { i, c ->
            val value = when (c) {
                in '0'..'9' -> c - '0'
                in 'A'..'Z' -> c - 'A' + 10
                '<' -> 0
                else -> throw IllegalArgumentException("not an MRZ character")
            }
            sum += value * weights[i % 3]
        }
        return '0' + sum % 10
    }

    /** The MRZ information: document number (9 characters, `<`-filled), birth and expiry dates, each with its check digit. */
    fun mrzInformation(key: MrzKey): String {
        val number = key.documentNumber.uppercase().padEnd(9, '<')
        return number + checkDigit(number) + key.dateOfBirth + checkDigit(key.dateOfBirth) +
            key.dateOfExpiry + checkDigit(key.dateOfExpiry)
    }

    fun seed(key: MrzKey): ByteArray =
        MessageDigest.getInstance("SHA-1").digest(mrzInformation(key).toByteArray(Charsets.US_ASCII)).copyOf(16)

    /** A 3DES key from a seed (counter 1: encryption, 2: MAC), DES parity adjusted. */
    fun deriveKey(seed: ByteArray, counter: Int): ByteArray {
        val digest = MessageDigest.getInstance("SHA-1").digest(
            seed + byteArrayOf((counter ushr 24).toByte(), (counter ushr 16).toByte(), (counter ushr 8).toByte(), counter.toByte()))
        return digest.copyOf(16).map { b ->
            val high = b.toInt() and 0xfe
            (high or (if (Integer.bitCount(high) % 2 == 0) 1 else 0)).toByte()
        }.toByteArray()
    }

    /** Mutual authentication: the secure channel (GET CHALLENGE, EXTERNAL AUTHENTICATE). */
    fun authenticate(
        channel: ApduChannel,
        key: MrzKey,
        rndIfd: ByteArray = random(8),
        kIfd: ByteArray = random(16),
    ): SecureChannel {
        val seed = seed(key)
        val kEnc = deriveKey(seed, 1)
        val kMac = deriveKey(seed, 2)
        val rndIc = plain(channel, hex("0084000008"))
        if (rndIc.size != 8) throw ChipException("bad challenge")
        val s = rndIfd + rndIc + kIfd
        val eIfd = Des3.encrypt(kEnc, s)
        val mIfd = Des3.mac(kMac, Des3.pad(eIfd))
        val answer = try {
            plain(channel, hex("0082000028") + eIfd + mIfd + byteArrayOf(0x28))
        } catch (e: ChipException) {
            throw ChipException("the chip refused the access key: check the MRZ", e.status)
        }
        if (answer.size != 40) throw ChipException("bad authentication answer")
        val eIc = answer.copyOfRange(0, 32)
        if (!MessageDigest.isEqual(Des3.mac(kMac, Des3.pad(eIc)), answer.copyOfRange(32, 40))) {
            throw ChipException("the chip's answer does not verify")
        }
        val r = Des3.decrypt(kEnc, eIc)
        if (!MessageDigest.isEqual(r.copyOfRange(0, 8), rndIc) || !MessageDigest.isEqual(r.copyOfRange(8, 16), rndIfd)) {
            throw ChipException("the chip's answer is not for this challenge")
        }
        val kIc = r.copyOfRange(16, 32)
        val sessionSeed = ByteArray(16) { (kIfd[it].toInt() xor kIc[it].toInt()).toByte() }
        val ssc = rndIc.copyOfRange(4, 8) + rndIfd.copyOfRange(4, 8)
        return SecureChannel(channel, DesSm(deriveKey(sessionSeed, 1), deriveKey(sessionSeed, 2)), ssc)
    }

    /** Sends an APDU in the clear: its data, or a [ChipException] with the status word. */
    fun plain(channel: ApduChannel, apdu: ByteArray): ByteArray {
        val response = channel.transceive(apdu)
        if (response.size < 2) throw ChipException("short response")
        val sw = ((response[response.size - 2].toInt() and 0xff) shl 8) or (response.last().toInt() and 0xff)
        if (sw != 0x9000) throw ChipException("status %04X".format(sw), sw)
        return response.copyOfRange(0, response.size - 2)
    }

    private fun random(n: Int) = ByteArray(n).also(SecureRandom()::nextBytes)
}

/** 3DES (two keys) in CBC with a zero IV, and the ISO 9797-1 MAC algorithm 3 with DES, as BAC uses them. */
object Des3 {
    private fun key24(key: ByteArray) = SecretKeySpec(key.copyOf(16) + key.copyOf(8), "DESede")
    private val zero = IvParameterSpec(ByteArray(8))

    fun encrypt(key: ByteArray, data: ByteArray): ByteArray =
        Cipher.getInstance("DESede/CBC/NoPadding").run { init(Cipher.ENCRYPT_MODE, key24(key), zero); doFinal(data) }

    fun decrypt(key: ByteArray, data: ByteArray): ByteArray =
        Cipher.getInstance("DESede/CBC/NoPadding").run { init(Cipher.DECRYPT_MODE, key24(key), zero); doFinal(data) }

    /** ISO 9797-1 padding method 2: 0x80 then zeros to a multiple of 8. */
    fun pad(data: ByteArray): ByteArray = (data + 0x80.toByte()).let { it + ByteArray((8 - it.size % 8) % 8) }

    fun unpad(data: ByteArray): ByteArray {
        val end = data.indexOfLast { it != 0.toByte() }
        if (end < 0 || data[end] != 0x80.toByte()) throw ChipException("bad padding")
        return data.copyOf(end)
    }

    /** The retail MAC (ISO 9797-1 algorithm 3) of padded [data]: DES-CBC with the first key, then 3DES on the last block. */
    fun mac(key: ByteArray, data: ByteArray): ByteArray {
        require(data.size % 8 == 0) { "unpadded MAC input" }
        val des = Cipher.getInstance("DES/CBC/NoPadding")
        des.init(Cipher.ENCRYPT_MODE, SecretKeySpec(key.copyOf(8), "DES"), zero)
        val chained = des.doFinal(data)
        val last = chained.copyOfRange(chained.size - 8, chained.size)
        val k2 = Cipher.getInstance("DES/ECB/NoPadding")
        k2.init(Cipher.DECRYPT_MODE, SecretKeySpec(key.copyOfRange(8, 16), "DES"))
        val k1 = Cipher.getInstance("DES/ECB/NoPadding")
        k1.init(Cipher.ENCRYPT_MODE, SecretKeySpec(key.copyOf(8), "DES"))
        return k1.doFinal(k2.doFinal(last))
    }
}

/**
 * Secure messaging (Doc 9303 part 11, section 9.8): every command MACed and its data encrypted,
 * every answer checked; with 3DES after BAC ([DesSm]) or AES after PACE ([AesSm]).
 */
class SecureChannel(
    private val channel: ApduChannel,
    private val cipher: SmCipher,
    ssc: ByteArray,
) {
    private val ssc = ssc.copyOf()

    private fun increment() {
        for (i in ssc.indices.reversed()) {
            ssc[i] = (ssc[i] + 1).toByte()
            if (ssc[i] != 0.toByte()) return
        }
    }

    private fun tlv(tag: Int, value: ByteArray): ByteArray {
        val length = when {
            value.size < 0x80 -> byteArrayOf(value.size.toByte())
            value.size < 0x100 -> byteArrayOf(0x81.toByte(), value.size.toByte())
            else -> byteArrayOf(0x82.toByte(), (value.size ushr 8).toByte(), value.size.toByte())
        }
        return byteArrayOf(tag.toByte()) + length + value
    }

    /** The protected form of a short command (`le` 1 to 256, or null for none). */
    fun protect(cla: Int, ins: Int, p1: Int, p2: Int, data: ByteArray?, le: Int?): ByteArray {
        increment()
        val header = byteArrayOf((cla or 0x0c).toByte(), ins.toByte(), p1.toByte(), p2.toByte())
        val do87 = data?.let { tlv(0x87, byteArrayOf(1) + cipher.encrypt(ssc, cipher.pad(it))) } ?: ByteArray(0)
        val do97 = le?.let { tlv(0x97, byteArrayOf((it and 0xff).toByte())) } ?: ByteArray(0)
        val mac = cipher.mac(cipher.pad(ssc + cipher.pad(header) + do87 + do97))
        val body = do87 + do97 + tlv(0x8e, mac)
        if (body.size > 255) throw ChipException("command too long for a short APDU")
        return header + byteArrayOf(body.size.toByte()) + body + byteArrayOf(0)
    }

    /** Checks and opens a protected response: its data, or a [ChipException]. */
    fun unprotect(response: ByteArray): ByteArray {
        increment()
        if (response.size < 2) throw ChipException("short response")
        val outer = ((response[response.size - 2].toInt() and 0xff) shl 8) or (response.last().toInt() and 0xff)
        val body = response.copyOfRange(0, response.size - 2)
        if (body.isEmpty()) throw ChipException("status %04X".format(outer), outer)
        var at = 0
        var do87: ByteArray? = null
        var do99: ByteArray? = null
        var mac: ByteArray? = null
        val covered = ByteArrayOutputStream()
        while (at < body.size) {
            val start = at
            val tag = body[at++].toInt() and 0xff
            if (at >= body.size) throw ChipException("truncated response")
            var length = body[at++].toInt() and 0xff
            if (length == 0x81 || length == 0x82) {
                val bytes = length - 0x80
                if (at + bytes > body.size) throw ChipException("truncated response")
                length = (0 until bytes).fold(0) { acc, _ -> (acc shl 8) or (body[at++].toInt() and 0xff) }
            } else if (length > 0x80) throw ChipException("bad length")
            if (at + length > body.size) throw ChipException("truncated response")
            val value = body.copyOfRange(at, at + length)
            at += length
            when (tag) {
                0x87 -> { do87 = value; covered.write(body, start, at - start) }
                0x99 -> { do99 = value; covered.write(body, start, at - start) }
                0x8e -> mac = value
                else -> throw ChipException("unexpected data object %02X".format(tag))
            }
        }
        val expected = cipher.mac(cipher.pad(ssc + covered.toByteArray()))
        if (mac == null || !MessageDigest.isEqual(expected, mac)) throw ChipException("the response's MAC does not verify")
        val sw = do99?.takeIf { it.size == 2 }?.let { ((it[0].toInt() and 0xff) shl 8) or (it[1].toInt() and 0xff) } ?: outer
        if (sw != 0x9000) throw ChipException("status %04X".format(sw), sw)
        val encrypted = do87 ?: return ByteArray(0)
        if (encrypted.isEmpty() || encrypted[0] != 1.toByte()) throw ChipException("bad padding indicator")
        val body87 = encrypted.copyOfRange(1, encrypted.size)
        if (body87.isEmpty() || body87.size % cipher.blockSize != 0) throw ChipException("bad encrypted data")
        return Des3.unpad(cipher.decrypt(ssc, body87))
    }

    fun transmit(cla: Int, ins: Int, p1: Int, p2: Int, data: ByteArray?, le: Int?): ByteArray =
        unprotect(channel.transceive(protect(cla, ins, p1, p2, data, le)))

    fun select(fileId: Int) {
        transmit(0x00, 0xa4, 0x02, 0x0c, byteArrayOf((fileId ushr 8).toByte(), fileId.toByte()), null)
    }

    fun readBinary(offset: Int, length: Int): ByteArray =
        transmit(0x00, 0xb0, offset ushr 8, offset and 0xff, null, length)

    /** A whole elementary file: its TLV header gives the length; read in chunks that fit secure messaging. */
    fun readFile(fileId: Int, maxSize: Int = 256 * 1024): ByteArray {
        select(fileId)
        val head = readBinary(0, 4)
        if (head.size < 2) throw ChipException("empty file")
        val first = head[1].toInt() and 0xff
        val headerSize = when {
            first < 0x80 -> 2
            first == 0x81 -> 3
            first == 0x82 -> 4
            else -> throw ChipException("bad file length")
        }
        if (head.size < headerSize) throw ChipException("truncated file header")
        val bodySize = when (headerSize) {
            2 -> first
            3 -> head[2].toInt() and 0xff
            else -> ((head[2].toInt() and 0xff) shl 8) or (head[3].toInt() and 0xff)
        }
        val total = headerSize + bodySize
        if (total > maxSize || total > 0x7fff) throw ChipException("file too large")
        val out = ByteArrayOutputStream()
        out.write(head, 0, minOf(head.size, total))
        while (out.size() < total) {
            val chunk = readBinary(out.size(), minOf(0xdf, total - out.size()))
            if (chunk.isEmpty()) throw ChipException("file ends early")
            out.write(chunk)
        }
        return out.toByteArray().copyOf(total)
    }
}

/**
 * The [ChipReader] of an eMRTD (the Vietnamese chip ID card): PACE from the MRZ when the chip's
 * EF.CardAccess offers a PACE protocol this reader speaks (Doc 9303 part 11, section 4.2: the
 * terminal tries PACE first), else BAC; then the eMRTD application and DG1, DG2, DG13 and the SOD
 * under secure messaging.
 */
class IcaoChipReader(
    private val channel: ApduChannel,
    private val paceKeys: () -> java.math.BigInteger? = { null },
) : ChipReader {
    /** How the last [read] opened the chip: `PACE` or `BAC`. */
    @Volatile var lastAccess: String? = null
        private set

    override fun read(mrz: MrzKey): ChipFiles {
        val info = Pace.readCardAccess(channel)?.let(Pace::choose)
        val secure = if (info != null) {
            Pace.authenticate(channel, mrz, info, paceKeys).also {
                lastAccess = "PACE"
                it.transmit(0x00, 0xa4, 0x04, 0x0c, EMRTD_AID, null)
            }
        } else {
            Bac.plain(channel, byteArrayOf(0x00, 0xa4.toByte(), 0x04, 0x0c, 0x07) + EMRTD_AID)
            Bac.authenticate(channel, mrz).also { lastAccess = "BAC" }
        }
        return ChipFiles(
            dg1 = secure.readFile(0x0101),
            dg2 = secure.readFile(0x0102),
            dg13 = secure.readFile(0x010d),
            sod = secure.readFile(0x011d),
        )
    }
}

/** The eMRTD application (LDS1). */
internal val EMRTD_AID = hex("A0000002471001")

/** Bytes from hexadecimal text (spaces allowed). */
fun hex(text: String): ByteArray {
    val clean = text.replace(" ", "")
    require(clean.length % 2 == 0) { "odd hex" }
    return ByteArray(clean.length / 2) { clean.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
}
