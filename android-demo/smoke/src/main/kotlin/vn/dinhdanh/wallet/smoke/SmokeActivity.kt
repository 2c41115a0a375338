package vn.dinhdanh.wallet.smoke

import android.app.Activity
import android.os.Bundle
import android.widget.TextView
import uniffi.dinhdanh_ffi.sdkVersion
import vn.dinhdanh.wallet.core.Bac
import vn.dinhdanh.wallet.core.MrzKey

/**
 * A one-screen smoke test of the packaging: the bindings and core/ are dexed into the APK, and
 * the SDK's version comes through JNA when the APK carries the native library (built with
 * `scripts/build-jnilibs` on a machine with the NDK; the APK built here has none, and says so).
 */
class SmokeActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val sdk = try {
            "dinhdanh SDK " + sdkVersion()
        } catch (e: Throwable) {
            "dinhdanh SDK: native library not packaged (${e.javaClass.simpleName})"
        }
        // Core runs without the native library: the BAC key check digit of the ICAO example.
        val mrz = Bac.mrzInformation(MrzKey("L898902C", "690806", "940623"))
        setContentView(TextView(this).apply { text = "$sdk\nMRZ information: $mrz" })
    }
}
