package vn.dinhdanh.wallet.android

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.mutableStateOf
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import vn.dinhdanh.wallet.android.ui.EnrolScreen
import vn.dinhdanh.wallet.android.ui.HistoryScreen
import vn.dinhdanh.wallet.android.ui.Level2Screen
import vn.dinhdanh.wallet.android.ui.PresentScreen
import vn.dinhdanh.wallet.android.ui.ReceiveScreen
import vn.dinhdanh.wallet.android.ui.SignScreen
import vn.dinhdanh.wallet.android.ui.SimListScreen
import vn.dinhdanh.wallet.android.ui.VerifierScreen
import vn.dinhdanh.wallet.android.ui.WalletScreen

/** The app's one Activity: the screens in a navigation graph; deep links open the present or receive screen. */
class MainActivity : ComponentActivity() {
    private val deepLink = mutableStateOf<String?>(null)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        deepLink.value = intent?.dataString
        val app = (application as WalletApplication).wallet
        setContent {
            MaterialTheme {
                val nav = rememberNavController()
                val link = deepLink.value
                val start = when {
                    app.session.value == null -> "enrol"
                    link?.startsWith("openid4vp://") == true -> "present"
                    link?.startsWith("openid-credential-offer://") == true -> "receive"
                    else -> "wallet"
                }
                NavHost(nav, startDestination = start) {
                    composable("enrol") { EnrolScreen(app, this@MainActivity) { nav.navigate("wallet") } }
                    composable("level2") { Level2Screen(app, this@MainActivity) }
                    composable("wallet") { WalletScreen(app, nav::navigate) }
                    composable("receive") { ReceiveScreen(app, link) }
                    composable("present") { PresentScreen(app, link) }
                    composable("history") { HistoryScreen(app) }
                    composable("sign") { SignScreen(app) }
                    composable("sims") { SimListScreen(app) }
                    composable("verifier") { VerifierScreen(app) }
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        deepLink.value = intent.dataString
    }
}
