package vn.dinhdanh.wallet.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * BAC and secure messaging on the worked example of ICAO Doc 9303 part 11, appendix D
 * (sections D.2 to D.4: the document L898902C<, born 1969-08-06, expiring 1994-06-23), and PACE
 * on the worked example of appendix G.1 (ECDH generic mapping on brainpoolP256r1, AES-128: the
 * document T22000129, born 1964-08-12, expiring 2010-10-31): every intermediate value and the
 * exchange with the chip, byte for byte.
 */
class ChipTest {
    private fun h(bytes: ByteArray) = bytes.joinToString("") { "%02X".format(it) }

    private val key = MrzKey("L898902C", "690806", "940623")

    /** A chip that answers the scripted commands in order and fails on any other. */
    private class Scripted(vararg val exchanges: Pair<String, String>) : ApduChannel {
        var at = 0
        override fun transceive(apdu: ByteArray): ByteArray {
            val (command, response) = exchanges.getOrNull(at++) ?: fail("unexpected command").let { "" to "" }
            assertEquals(command, apdu.joinToString("") { "%02X".format(it) })
            return hex(response)
        }
    }

    @Test
    fun keysFromTheMrz() {
        assertEquals("L898902C<369080619406236", Bac.mrzInformation(key))
        val seed = Bac.seed(key)
        assertEquals("239AB9CB282DAF66231DC5A4DF6BFBAE", h(seed))
        assertEquals("AB94FDECF2674FDFB9B391F85D7F76F2", h(Bac.deriveKey(seed, 1)))
        assertEquals("7962D9ECE03D1ACD4C76089DCE131543", h(Bac.deriveKey(seed, 2)))
    }

    @Test
    fun mutualAuthenticationAndSecureMessaging() {
        val chip = Scripted(
            "0084000008" to "4608F919887022129000",
            "0082000028" + "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2" + "5F1448EEA8AD90A7" + "28" to
                "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F" + "2F2D235D074D7449" + "9000",
            "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800" to "990290008E08FA855A5D4C50A8ED9000",
            "0CB000000D9701048E08ED6705417E96BA5500" to "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000",
            "0CB000040D9701128E082EA28A70F3C7B53500" to
                "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
        )
        val secure = Bac.authenticate(chip, key, rndIfd = hex("781723860C06C226"),
            kIfd = hex("0B795240CB7049B01C19B33E32804F0B"))
        // EF.COM, read as the example does: its first four bytes, then the rest.
        assertArrayEquals(hex("60145F0104303130365F36063034303030305C026175"), secure.readFile(0x011e))
        assertEquals(5, chip.at)
    }

    @Test
    fun aWrongMrzIsReportedAsSuch() {
        val chip = Scripted(
            "0084000008" to "4608F919887022129000",
            "0082000028" + "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2" + "5F1448EEA8AD90A7" + "28" to "6300",
        )
        try {
            Bac.authenticate(chip, key, rndIfd = hex("781723860C06C226"), kIfd = hex("0B795240CB7049B01C19B33E32804F0B"))
            fail("authenticated")
        } catch (e: ChipException) {
            assertEquals(0x6300, e.status)
            assertTrue(e.message!!.contains("MRZ"))
        }
    }

    @Test
    fun anAlteredResponseIsRefused() {
        val chip = Scripted(
            "0084000008" to "4608F919887022129000",
            "0082000028" + "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2" + "5F1448EEA8AD90A7" + "28" to
                "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F" + "2F2D235D074D7449" + "9000",
            "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800" to "990290008E08FA855A5D4C50A8ED9000",
            // One bit of the encrypted data flipped.
            "0CB000000D9701048E08ED6705417E96BA5500" to "8709019FF0EC34F9922650990290008E08AD55CC17140B2DED9000",
        )
        val secure = Bac.authenticate(chip, key, rndIfd = hex("781723860C06C226"),
            kIfd = hex("0B795240CB7049B01C19B33E32804F0B"))
        try {
            secure.readFile(0x011e)
            fail("read")
        } catch (e: ChipException) {
            assertTrue(e.message!!.contains("MAC"))
        }
    }

    @Test
    fun mrzFieldsAreChecked() {
        for (bad in listOf({ MrzKey("L898902C", "69080", "940623") }, { MrzKey("L89-902C", "690806", "940623") })) {
            try {
                bad()
                fail("accepted")
            } catch (e: IllegalArgumentException) {
                // refused
            }
        }
    }

    // --- PACE (appendix G.1) ------------------------------------------------------------------

    private val paceKey = MrzKey("T22000129", "640812", "101031")
    private val cardAccess = "31143012060A04007F0007020204020202010202010D"
    private val skMapIfd = java.math.BigInteger("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99", 16)
    private val skDhIfd = java.math.BigInteger("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595", 16)
    private val pkMapIfd = "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
    private val pkMapIc = "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
    private val pkDhIfd = "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
    private val pkDhIc = "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"

    /** The terminal's two ephemeral private keys of the example, in the order PACE draws them. */
    private fun exampleKeys(): () -> java.math.BigInteger? {
        val keys = ArrayDeque(listOf(skMapIfd, skDhIfd))
        return { keys.removeFirst() }
    }

    /** The appendix's exchange (MSE:Set AT with the parameter id, 84 0D, which the card access names). */
    private fun paceExchange(chipToken: String = "7C0A86083ABB9674BCE93C089000") = arrayOf(
        "0022C1A412800A04007F0007020204020283010184010D" to "9000",
        "10860000027C0000" to "7C12801095A3A016522EE98D01E76CB6B98B42C39000",
        "10860000457C438141" + pkMapIfd + "00" to "7C438241" + pkMapIc + "9000",
        "10860000457C438341" + pkDhIfd + "00" to "7C438441" + pkDhIc + "9000",
        "008600000C7C0A8508C2B0BD78D94BA86600" to chipToken,
    )

    @Test
    fun paceKeysAndMappingFromTheMrz() {
        assertEquals("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD", h(Pace.password(paceKey)))
        assertEquals("89DED1B26624EC1E634C1989302849DD", h(Pace.kdf(Pace.password(paceKey), 3, 16)))
        assertEquals("3F00C4D39D153F2B2A214A078D899B22",
            h(Aes.decryptZeroIv(hex("89DED1B26624EC1E634C1989302849DD"), hex("95A3A016522EE98D01E76CB6B98B42C3"))))
        val curve = EcCurve.BRAINPOOL_P256R1
        assertEquals(pkMapIfd, h(curve.encode(curve.multiply(skMapIfd, curve.g)!!)))
        val hPoint = curve.multiply(skMapIfd, curve.decode(hex(pkMapIc)))!!
        assertEquals("0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD50840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181",
            h(curve.encode(hPoint)))
        val mapped = curve.add(curve.multiply(java.math.BigInteger("3F00C4D39D153F2B2A214A078D899B22", 16), curve.g), hPoint)!!
        assertEquals("048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E28C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522",
            h(curve.encode(mapped)))
        val shared = curve.multiply(skDhIfd, curve.decode(hex(pkDhIc)))!!
        assertEquals("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925", h(curve.fixed(shared.x)))
        assertEquals("F5F0E35C0D7161EE6724EE513A0D9A7F", h(Pace.kdf(curve.fixed(shared.x), 1, 16)))
        assertEquals("FE251C7858B356B24514B3BD5F4297D1", h(Pace.kdf(curve.fixed(shared.x), 2, 16)))
        // A point off the curve from the chip is refused.
        try {
            curve.decode(hex(pkMapIc.dropLast(2) + "55"))
            fail("an invalid point was taken")
        } catch (e: ChipException) {
            assertTrue(e.message!!.contains("not on"))
        }
    }

    @Test
    fun aesCmacOfRfc4493() {
        val key = hex("2B7E151628AED2A6ABF7158809CF4F3C")
        assertEquals("BB1D6929E95937287FA37D129B756746", h(Aes.cmac(key, ByteArray(0))))
        assertEquals("070A16B46B4D4144F79BDD9DD04A287C", h(Aes.cmac(key, hex("6BC1BEE22E409F96E93D7E117393172A"))))
        assertEquals("DFA66747DE9AE63030CA32611497C827", h(Aes.cmac(key,
            hex("6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411"))))
    }

    @Test
    fun theCardAccessNamesThePaceProtocol() {
        val info = Pace.choose(hex(cardAccess))!!
        assertEquals(16, info.keyLength)
        assertEquals(13, info.parameterId)
        assertEquals("04007F00070202040202", h(info.oid))
        // DH mapping (…4.1.2), an unknown curve, or garbage: nothing this reader speaks.
        assertEquals(null, Pace.choose(hex("31143012060A04007F0007020204010202010202010D")))
        assertEquals(null, Pace.choose(hex("31143012060A04007F00070202040202020102020120")))
        assertEquals(null, Pace.choose(hex("3114301206")))
        // Empty INTEGERs (version, parameter id): malformed, so nothing, not a crash.
        assertEquals(null, Pace.choose(hex("31133011060A04007F00070202040202020002010D")))
        assertEquals(null, Pace.choose(hex("31133011060A04007F000702020402020201020200")))
    }

    @Test
    fun paceOpensTheChipAndAesSecureMessagingFollows() {
        val chip = Scripted(
            "00B09C0000" to cardAccess + "9000",
            *paceExchange(),
            // SELECT of the eMRTD application under the session keys, SSC 1.
            "0CA4040C1D871101752F676B09FAC86A87D632749A49C7CC8E08C18BA1FCE707BD9F00" to "990290008E08BEA7B381C494A0799000",
        )
        val reader = IcaoChipReader(chip, exampleKeys())
        try {
            reader.read(paceKey)
            fail("read past the script")
        } catch (e: AssertionError) {
            // The next command (SELECT DG1) is past the worked example.
        }
        assertEquals("PACE", reader.lastAccess)
        assertEquals(8, chip.at)
    }

    @Test
    fun paceWithAWrongMrzOrAForgedChipTokenIsRefused() {
        val info = Pace.choose(hex(cardAccess))!!
        try {
            Pace.authenticate(Scripted(*paceExchange(chipToken = "6300")), paceKey, info, exampleKeys())
            fail("authenticated")
        } catch (e: ChipException) {
            assertEquals(0x6300, e.status)
            assertTrue(e.message!!.contains("MRZ"))
        }
        try {
            Pace.authenticate(Scripted(*paceExchange(chipToken = "7C0A86083ABB9674BCE93C099000")), paceKey, info, exampleKeys())
            fail("authenticated")
        } catch (e: ChipException) {
            assertTrue(e.message!!.contains("token"))
        }
    }

    @Test
    fun aChipWithoutCardAccessIsOpenedWithBac() {
        val chip = Scripted(
            "00B09C0000" to "6A82",
            "00A4040C07A0000002471001" to "9000",
            "0084000008" to "4608F919887022129000",
        )
        val reader = IcaoChipReader(chip)
        try {
            reader.read(key)
            fail("read past the script")
        } catch (e: AssertionError) {
            // BAC's EXTERNAL AUTHENTICATE is past the script (its random is the reader's own).
        }
        assertEquals(4, chip.at)
    }
}
