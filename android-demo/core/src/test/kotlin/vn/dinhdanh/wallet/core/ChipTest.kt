package vn.dinhdanh.wallet.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * BAC and secure messaging on the worked example of ICAO Doc 9303 part 11, appendix D
 * (sections D.2 to D.4: the document L898902C<, born 1969-08-06, expiring 1994-06-23): every
 * intermediate value and the exchange with the chip, byte for byte.
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
}
