package vn.dinhdanh.wallet.android

import android.app.Application
import vn.dinhdanh.wallet.android.platform.AndroidKeystoreKeys
import vn.dinhdanh.wallet.core.DinhdanhApi
import vn.dinhdanh.wallet.core.HttpTransport
import vn.dinhdanh.wallet.core.WalletApp

/** One [WalletApp] per process: the server API, the Android Keystore, the wallet file in the app's private storage. */
class WalletApplication : Application() {
    lateinit var wallet: WalletApp
        private set

    override fun onCreate() {
        super.onCreate()
        val transport = HttpTransport()
        wallet = WalletApp(
            api = DinhdanhApi(BuildConfig.SERVER_URL, transport),
            transport = transport,
            keyStore = AndroidKeystoreKeys(this),
            walletPath = filesDir.resolve("wallet.db").path,
            // The agency's relying-party root ships with the app (res/raw), refreshed from the trust bundle.
            verifierAnchorsPem = resources.openRawResource(R.raw.rp_root).bufferedReader().use { it.readText() },
        )
    }
}
