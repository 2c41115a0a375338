package vn.dinhdanh.wallet.android.platform

import android.app.Activity
import android.nfc.NfcAdapter
import android.nfc.Tag
import android.nfc.tech.IsoDep
import java.io.IOException
import vn.dinhdanh.wallet.core.ApduChannel
import vn.dinhdanh.wallet.core.ChipException
import vn.dinhdanh.wallet.core.ChipFiles
import vn.dinhdanh.wallet.core.ChipReader
import vn.dinhdanh.wallet.core.IcaoChipReader
import vn.dinhdanh.wallet.core.MrzKey

/**
 * Reads the chip of an ID card held to the phone: IsoDep (ISO 14443-4), then the core's PACE (or
 * BAC for a chip without EF.CardAccess) and secure messaging, the access key from the MRZ the
 * citizen typed or the camera read, and the files level 2 needs (DG1, DG2, DG13, SOD).
 */
class NfcChipReader(private val tag: Tag, private val timeoutMillis: Int = 5_000) : ChipReader {
    override fun read(mrz: MrzKey): ChipFiles {
        val isoDep = IsoDep.get(tag) ?: throw ChipException("this card has no ISO 14443-4 chip")
        try {
            isoDep.connect()
            isoDep.timeout = timeoutMillis
            return IcaoChipReader(ApduChannel { apdu -> isoDep.transceive(apdu) }).read(mrz)
        } catch (e: IOException) {
            // The card moved away: the screen asks the citizen to hold it still and try again.
            throw ChipException("the card was lost: hold it still against the phone")
        } finally {
            try {
                isoDep.close()
            } catch (e: IOException) {
                // already gone
            }
        }
    }

    companion object {
        /** Listens for ID cards while [activity] is in front (reader mode: NFC-A and NFC-B, no NDEF). */
        fun listen(activity: Activity, onTag: (Tag) -> Unit): Boolean {
            val adapter = NfcAdapter.getDefaultAdapter(activity) ?: return false
            if (!adapter.isEnabled) return false
            adapter.enableReaderMode(
                activity,
                { tag -> onTag(tag) },
                NfcAdapter.FLAG_READER_NFC_A or NfcAdapter.FLAG_READER_NFC_B or NfcAdapter.FLAG_READER_SKIP_NDEF_CHECK,
                null,
            )
            return true
        }

        fun stop(activity: Activity) {
            NfcAdapter.getDefaultAdapter(activity)?.disableReaderMode(activity)
        }
    }
}
