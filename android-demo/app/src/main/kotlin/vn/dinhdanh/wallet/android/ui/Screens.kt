package vn.dinhdanh.wallet.android.ui

import android.app.Activity
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.LocalLifecycleOwner
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.camera.view.PreviewView
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import vn.dinhdanh.wallet.android.platform.CredentialManagerPasskeys
import vn.dinhdanh.wallet.android.platform.NfcChipReader
import vn.dinhdanh.wallet.android.platform.QrCamera
import vn.dinhdanh.wallet.core.EnrolViewModel
import vn.dinhdanh.wallet.core.Failure
import vn.dinhdanh.wallet.core.HistoryViewModel
import vn.dinhdanh.wallet.core.Level2ViewModel
import vn.dinhdanh.wallet.core.MrzKey
import vn.dinhdanh.wallet.core.PresentViewModel
import vn.dinhdanh.wallet.core.ReceiveOfferViewModel
import vn.dinhdanh.wallet.core.SignViewModel
import vn.dinhdanh.wallet.core.SimListViewModel
import vn.dinhdanh.wallet.core.VerifierModeViewModel
import vn.dinhdanh.wallet.core.WalletApp
import vn.dinhdanh.wallet.core.WalletViewModel

// The screens: thin Compose over the core's view models (all logic and state live in core/,
// tested on the JVM). Calls block, so each runs on Dispatchers.IO; the state flows drive the UI.

@Composable
private fun Background(): (suspend () -> Unit) -> Unit {
    val scope = rememberCoroutineScope()
    return { block -> scope.launch(Dispatchers.IO) { block() } }
}

@Composable
private fun FailureText(failure: Failure) {
    Text(failure.message, color = androidx.compose.material3.MaterialTheme.colorScheme.error)
}

@Composable
fun EnrolScreen(app: WalletApp, activity: Activity, onEnrolled: () -> Unit) {
    val model = remember { EnrolViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    var idNumber by remember { mutableStateOf("") }
    var fullName by remember { mutableStateOf("") }
    var birth by remember { mutableStateOf("") }
    var phone by remember { mutableStateOf("") }
    var code by remember { mutableStateOf("") }
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("Đăng ký tài khoản định danh")
        when (val s = state) {
            is EnrolViewModel.State.Enrolled -> LaunchedEffect(s) { onEnrolled() }
            is EnrolViewModel.State.CodeSent, is EnrolViewModel.State.Failed ->
                if (s is EnrolViewModel.State.CodeSent || (s as EnrolViewModel.State.Failed).previous is EnrolViewModel.State.CodeSent) {
                    OutlinedTextField(code, { code = it }, label = { Text("Mã xác nhận (SMS)") })
                    Button({ run { model.confirm(code, CredentialManagerPasskeys(activity)) } }) { Text("Tạo passkey") }
                }
            else -> {}
        }
        if (state is EnrolViewModel.State.Form || (state as? EnrolViewModel.State.Failed)?.previous is EnrolViewModel.State.Form) {
            OutlinedTextField(idNumber, { idNumber = it }, label = { Text("Số định danh (12 số)") })
            OutlinedTextField(fullName, { fullName = it }, label = { Text("Họ và tên") })
            OutlinedTextField(birth, { birth = it }, label = { Text("Ngày sinh (YYYY-MM-DD)") })
            OutlinedTextField(phone, { phone = it }, label = { Text("Số điện thoại") })
            Button({ run { model.submit(idNumber, fullName, birth, phone) } }) { Text("Gửi mã") }
        }
        (state as? EnrolViewModel.State.Failed)?.let { FailureText(it.failure) }
    }
}

@Composable
fun Level2Screen(app: WalletApp, activity: Activity) {
    val model = remember { Level2ViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    var number by remember { mutableStateOf("") }
    var birth by remember { mutableStateOf("") }
    var expiry by remember { mutableStateOf("") }
    DisposableEffect(number, birth, expiry) {
        val listening = NfcChipReader.listen(activity) { tag ->
            runCatching { MrzKey(number, birth, expiry) }.onSuccess { key ->
                run { model.readAndSubmit(NfcChipReader(tag), key) }
            }
        }
        onDispose { if (listening) NfcChipReader.stop(activity) }
    }
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("Mức 2: đọc chip căn cước")
        OutlinedTextField(number, { number = it }, label = { Text("Số thẻ (MRZ)") })
        OutlinedTextField(birth, { birth = it }, label = { Text("Ngày sinh (YYMMDD)") })
        OutlinedTextField(expiry, { expiry = it }, label = { Text("Ngày hết hạn (YYMMDD)") })
        Text("Áp thẻ vào mặt sau điện thoại")
        when (val s = state) {
            Level2ViewModel.State.Submitted -> Text("Đã gửi: chờ cán bộ xác nhận")
            is Level2ViewModel.State.Level2 -> Text("Tài khoản mức 2")
            is Level2ViewModel.State.Failed -> FailureText(s.failure)
            else -> {}
        }
        OutlinedButton({ run { model.refresh() } }) { Text("Kiểm tra") }
    }
}

@Composable
fun WalletScreen(app: WalletApp, navigate: (String) -> Unit) {
    val model = remember { WalletViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    LaunchedEffect(Unit) { run { model.refresh() } }
    Column(Modifier.padding(16.dp)) {
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Button({ navigate("present") }) { Text("Quét") }
            OutlinedButton({ navigate("receive") }) { Text("Nhận") }
            OutlinedButton({ navigate("history") }) { Text("Lịch sử") }
        }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton({ navigate("sims") }) { Text("Số thuê bao") }
            OutlinedButton({ navigate("sign") }) { Text("Ký số") }
            OutlinedButton({ navigate("verifier") }) { Text("Quầy") }
            OutlinedButton({ navigate("level2") }) { Text("Mức 2") }
        }
        when (val s = state) {
            is WalletViewModel.State.Loaded -> LazyColumn {
                items(s.credentials) { card ->
                    Card(Modifier.fillMaxWidth().padding(vertical = 4.dp)) {
                        Column(Modifier.padding(12.dp)) {
                            Text(card.name)
                            Text("Trạng thái: ${card.status} · còn ${card.unusedCopies}/${card.copies} bản")
                            if (card.needsRefresh) Text("Cần cấp lại")
                        }
                    }
                }
            }
            is WalletViewModel.State.Failed -> FailureText(s.failure)
            WalletViewModel.State.Loading -> Text("…")
        }
    }
}

@Composable
fun ReceiveScreen(app: WalletApp, link: String?) {
    val model = remember { ReceiveOfferViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    var code by remember { mutableStateOf("") }
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        if (link != null) {
            OutlinedTextField(code, { code = it }, label = { Text("Mã giao dịch") })
            Button({ run { model.receive(link, code) } }) { Text("Nhận thẻ") }
        } else {
            Button({ run { model.request(listOf("pid")); model.accept() } }) { Text("Nhận căn cước điện tử") }
        }
        when (val s = state) {
            is ReceiveOfferViewModel.State.Received -> Text("Đã nhận ${s.credentialIds.size} thẻ")
            is ReceiveOfferViewModel.State.Failed -> FailureText(s.failure)
            else -> {}
        }
    }
}

@Composable
private fun Scanner(onCode: (String) -> Unit) {
    val owner = LocalLifecycleOwner.current
    AndroidView({ context -> PreviewView(context).also { QrCamera.start(owner, it, onCode) } },
        Modifier.fillMaxWidth().padding(8.dp))
}

@Composable
fun PresentScreen(app: WalletApp, link: String?) {
    val model = remember { PresentViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    LaunchedEffect(link) { if (link != null) run { model.scan(link) } }
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        when (val s = state) {
            PresentViewModel.State.Idle -> Scanner { code -> run { model.scan(code) } }
            is PresentViewModel.State.Consent -> {
                val c = s.consent
                Text(if (c.registered) c.verifierName else "${c.verifierName} (chưa đăng ký với Bộ Công an)")
                c.purpose?.let { Text("Mục đích: $it") }
                c.share.forEach { Text("Chia sẻ: ${it.claims.joinToString()}") }
                (c.share + c.withheld).flatMap { it.refused }.takeIf { it.isNotEmpty() }
                    ?.let { Text("Từ chối (ngoài đăng ký): ${it.joinToString()}") }
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    Button({ run { model.approve() } }, enabled = c.canShare) { Text("Đồng ý") }
                    OutlinedButton({ run { model.approveAsQr() } }, enabled = c.canShare) { Text("Mã QR") }
                    OutlinedButton({ run { model.decline() } }) { Text("Từ chối") }
                }
            }
            is PresentViewModel.State.OfflineQr -> Image(QrCamera.render(s.qrText).asImageBitmap(), "QR", Modifier.fillMaxWidth())
            is PresentViewModel.State.Sent -> Text("Đã gửi cho ${s.verifierName}")
            is PresentViewModel.State.Declined -> Text("Đã từ chối ${s.verifierName}")
            is PresentViewModel.State.Failed -> FailureText(s.failure)
        }
    }
}

@Composable
fun HistoryScreen(app: WalletApp) {
    val model = remember { HistoryViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    LaunchedEffect(Unit) { run { model.refresh() } }
    when (val s = state) {
        is HistoryViewModel.State.Loaded -> LazyColumn(Modifier.fillMaxSize().padding(16.dp)) {
            items(s.presentations) { p -> Text("${p.verifierName ?: p.verifier}: ${p.credentialName} (${p.claims.joinToString()})") }
            items(s.events) { e -> Text("${e.at} ${e.action}") }
        }
        is HistoryViewModel.State.Failed -> FailureText(s.failure)
        HistoryViewModel.State.Loading -> Text("…")
    }
}

@Composable
fun SimListScreen(app: WalletApp) {
    val model = remember { SimListViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    LaunchedEffect(Unit) { run { model.refresh() } }
    when (val s = state) {
        SimListViewModel.State.Unavailable -> Text("Chưa có trên máy chủ này", Modifier.padding(16.dp))
        is SimListViewModel.State.Loaded -> LazyColumn(Modifier.padding(16.dp)) {
            items(s.numbers) { n ->
                Card(Modifier.fillMaxWidth().padding(vertical = 4.dp)) {
                    Column(Modifier.padding(12.dp)) {
                        Text("${n.msisdn} · ${n.operator} · ${n.state}")
                        n.reverificationDeadline?.let { Text("Xác thực lại trước $it") }
                        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                            Button({ run { model.mark(n.subscriptionId, mine = true) } }) { Text("Của tôi") }
                            OutlinedButton({ run { model.mark(n.subscriptionId, mine = false) } }) { Text("Không phải của tôi") }
                        }
                    }
                }
            }
        }
        is SimListViewModel.State.Failed -> FailureText(s.failure)
        SimListViewModel.State.Loading -> Text("…")
    }
}

@Composable
fun SignScreen(app: WalletApp) {
    val model = remember { SignViewModel(app) }
    val state by model.state.collectAsState()
    val run = Background()
    LaunchedEffect(Unit) { run { model.refresh() } }
    when (val s = state) {
        SignViewModel.State.Unavailable -> Text("Chưa có trên máy chủ này", Modifier.padding(16.dp))
        is SignViewModel.State.Loaded -> LazyColumn(Modifier.padding(16.dp)) {
            items(s.certificates) { c -> Text("${c.serial} · ${c.status} · đến ${c.notAfter}") }
        }
        is SignViewModel.State.Signed -> Text("Đã ký (${s.signature.size} byte)", Modifier.padding(16.dp))
        is SignViewModel.State.Verified -> Text(
            if (s.valid) "Chữ ký hợp lệ: ${s.verdicts.joinToString { it.signerName.orEmpty() }}"
            else "Chữ ký không hợp lệ (${s.verdicts.firstOrNull { !it.valid }?.reason})",
            Modifier.padding(16.dp),
        )
        is SignViewModel.State.Failed -> FailureText(s.failure)
        SignViewModel.State.Loading -> Text("…")
    }
}

@Composable
fun VerifierScreen(app: WalletApp) {
    // The counter's verifier is configured by the operator (its access certificate and key in
    // the app's managed configuration); without one the screen explains how to set it up.
    val verifier = remember { CounterConfiguration.verifier(LocalContext.current) }
    if (verifier == null) {
        Text("Chế độ quầy: chưa cấu hình chứng thư của quầy", Modifier.padding(16.dp))
        return
    }
    val model = remember { VerifierModeViewModel(verifier, app.clock) }
    val state by model.state.collectAsState()
    val run = Background()
    LaunchedEffect(Unit) { run { model.newRequest() } }
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        when (val s = state) {
            is VerifierModeViewModel.State.ShowingRequest -> {
                Image(QrCamera.render(s.qrText).asImageBitmap(), "QR", Modifier.fillMaxWidth())
                Scanner { code -> run { model.check(code) } }
            }
            is VerifierModeViewModel.State.Verified -> {
                Text("Hợp lệ (${s.status})")
                s.claims.forEach { (k, v) -> Text("$k: $v") }
                Button({ run { model.newRequest() } }) { Text("Khách tiếp theo") }
            }
            is VerifierModeViewModel.State.Failed -> {
                FailureText(s.failure)
                Button({ run { model.newRequest() } }) { Text("Thử lại") }
            }
            VerifierModeViewModel.State.Idle -> Text("…")
        }
    }
}
