package vn.dinhdanh.wallet.core

import java.io.File
import java.nio.file.Files
import kotlin.system.exitProcess
import uniffi.dinhdanh_ffi.KeyStore
import uniffi.dinhdanh_ffi.Verifier
import uniffi.dinhdanh_ffi.VerifierConfig
import uniffi.dinhdanh_ffi.Wallet

// The FFI benchmark (android-demo/scripts/check --bench, release library): the app's calls from
// Kotlin through the bindings against the same calls from Rust on the same library API
// (uniffi/examples/ffi_bench.rs), each with a software keystore in its own language, on the same
// server-issued credential kind and relying party:
// - cold start: open the wallet (unwrap its data key) and list the credentials;
// - a presentation: check and evaluate a signed request, then answer it (key binding signed by
//   the host's keystore, the copy taken and the presentation logged).
// The Rust side runs before and after the Kotlin side; the FFI overhead is Kotlin's median over
// the mean of Rust's, and must stay under 10 % for a presentation.

const val ROUNDS = 300

/** Presentations made from Kotlin before measuring: the JIT compiles the bindings' code only after thousands of calls. */
const val KOTLIN_WARMUP = 3000

/**
 * The host's keystore, timed: the time spent in its own code (Java's ECDSA and AES-GCM here,
 * the Android Keystore on a phone) is the host's, not the FFI's, and is reported apart.
 */
class TimedKeyStore(private val inner: KeyStore) : KeyStore {
    @Volatile var nanos = 0L
    /** Calls into the keystore: each is one JNA callback from Rust into Kotlin. */
    @Volatile var calls = 0L
    private inline fun <T> timed(block: () -> T): T {
        calls += 1
        val start = System.nanoTime()
        try {
            return block()
        } finally {
            nanos += System.nanoTime() - start
        }
    }
    override fun generateSigningKey(alias: String) = timed { inner.generateSigningKey(alias) }
    override fun publicKey(alias: String) = timed { inner.publicKey(alias) }
    override fun sign(alias: String, message: ByteArray) = timed { inner.sign(alias, message) }
    override fun generateWrappingKey(alias: String) = timed { inner.generateWrappingKey(alias) }
    override fun wrap(alias: String, secret: ByteArray) = timed { inner.wrap(alias, secret) }
    override fun unwrap(alias: String, wrapped: ByteArray) = timed { inner.unwrap(alias, wrapped) }
    override fun contains(alias: String) = timed { inner.contains(alias) }
    override fun delete(alias: String) = timed { inner.delete(alias) }
}

/**
 * Both wallets on tmpfs when the machine has one: a presentation writes the store (a copy taken,
 * the log), and disk flushes, slowed at random by whatever else the machine writes, would drown
 * the comparison; neither language controls them. `DINHDANH_BENCH_DIR` picks another place
 * (a directory on disk, to see a presentation as a phone's flash storage makes it).
 */
val scratch: java.nio.file.Path = (System.getenv("DINHDANH_BENCH_DIR")?.let { java.io.File(it) }
    ?: java.io.File("/dev/shm").takeIf { it.isDirectory && it.canWrite() })?.toPath()
    ?: java.nio.file.Paths.get(System.getProperty("java.io.tmpdir"))

fun median(samples: List<Double>) = samples.sorted()[samples.size / 2]

fun offer(server: ServerProcess, idNumber: String): Pair<String, String> {
    val json = Json.obj(server.command("offer", "create", "--id-number", idNumber, "--config", "pid", "--json"))
    return json.str("offer_uri")!! to json.str("tx_code")!!
}

fun main(args: Array<String>) {
    val rustBench = args.firstOrNull() ?: error("usage: Bench PATH_TO_ffi_bench")
    ServerProcess.start().use { server ->
        val id = server.citizen.idNumber
        server.command("dev", "level2", "--id-number", id)
        val now = Clock.SYSTEM.now()
        val parties = RelyingParties(server)
        val dcql = """{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},
            "claims":[{"path":["given_name"]},{"path":["birthdate"]}]}]}"""
        val bank = parties.material("bank", "bank.example.vn", "Ngân hàng Ví dụ", "Mở tài khoản",
            listOf("/given_name", "/birthdate"), now)
        val api = DinhdanhApi(server.publicUrl, HttpTransport(rewriteLocalhost = true))
        val issuerRoot = api.issuerRootPem()

        fun rust(): Triple<Double, Double, Double> {
            val dir = Files.createTempDirectory(scratch, "ffi-bench").toFile()
            try {
                val (uri, code) = offer(server, id)
                File(dir, "offer.txt").writeText("$uri\n$code\n")
                File(dir, "issuer-root.pem").writeText(issuerRoot)
                File(dir, "rp-root.pem").writeText(parties.rootPem)
                File(dir, "rp.jwk").writeText(bank.keyJwk)
                File(dir, "rp.pem").writeText(bank.chainPem)
                File(dir, "registration.jwt").writeText(bank.registration!!)
                File(dir, "client-id.txt").writeText(bank.clientId)
                File(dir, "dcql.json").writeText(dcql)
                val process = ProcessBuilder(rustBench, dir.path, ROUNDS.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start()
                val out = process.inputStream.bufferedReader().readText()
                check(process.waitFor() == 0) { "ffi_bench failed" }
                val figure = { name: String -> Regex("$name=([0-9.]+)").find(out)!!.groupValues[1].toDouble() }
                return Triple(figure("cold_start_us"), figure("presentation_us"), figure("presentation_net_us"))
            } finally {
                dir.deleteRecursively()
            }
        }

        val rustBefore = rust()

        val dir = Files.createTempDirectory(scratch, "ffi-bench-kotlin").toFile()
        val keys = TimedKeyStore(SoftwareKeyStore())
        val path = File(dir, "wallet.db").path
        val firstStart = System.nanoTime()
        val open = { Wallet.open(path, keys, "wallet", issuerRoot, parties.rootPem) }
        open().use { wallet ->
            val firstOpen = (System.nanoTime() - firstStart) / 1e3
            val (uri, code) = offer(server, id)
            wallet.receiveOffer(HttpTransport(rewriteLocalhost = true), uri, code, 3u, now)
            println("kotlin first_open_us=%.1f (loads the library through JNA)".format(firstOpen))
        }
        val cold = (0 until 1000).map {
            val start = System.nanoTime()
            open().use { wallet -> check(wallet.credentials().size == 1) }
            (System.nanoTime() - start) / 1e3
        }.drop(900)
        val verifier = Verifier(VerifierConfig(
            signingKeyJwk = bank.keyJwk, certificateChainPem = bank.chainPem, clientId = bank.clientId,
            responseUri = "https://bank.example.vn/openid4vp/response", issuerAnchorsPem = issuerRoot,
            trustAsOf = now, registration = bank.registration, requireStatus = false,
        ))
        val net = mutableListOf<Double>()
        var callbacks = 0L
        val presentation = open().use { wallet ->
            (0 until KOTLIN_WARMUP + ROUNDS).mapNotNull { round ->
                val request = verifier.createRequest(dcql, now)
                val inKeystore = keys.nanos
                val callsBefore = keys.calls
                val start = System.nanoTime()
                val pending = wallet.preparePresentation(request.uri, null, now)
                val answer = wallet.respond(pending, now)
                val elapsed = (System.nanoTime() - start) / 1e3
                val host = (keys.nanos - inKeystore) / 1e3
                pending.close()
                check(answer.body.startsWith("vp_token="))
                if (round >= KOTLIN_WARMUP) net += elapsed - host
                callbacks = keys.calls - callsBefore
                elapsed.takeIf { round >= KOTLIN_WARMUP }
            }
        }
        dir.deleteRecursively()

        val rustAfter = rust()
        val rustCold = (rustBefore.first + rustAfter.first) / 2
        val rustPresentation = (rustBefore.second + rustAfter.second) / 2
        val rustNet = (rustBefore.third + rustAfter.third) / 2
        val kotlinCold = median(cold)
        val kotlinPresentation = median(presentation)
        val kotlinNet = median(net)
        val overhead = (kotlinNet / rustNet - 1) * 100
        println("cold start (open the wallet, list credentials): kotlin %.0f us, rust %.0f us (runs %.0f, %.0f)"
            .format(kotlinCold, rustCold, rustBefore.first, rustAfter.first))
        println("presentation (prepare + respond), each host's keystore included: kotlin %.0f us, rust %.0f us (runs %.0f, %.0f)"
            .format(kotlinPresentation, rustPresentation, rustBefore.second, rustAfter.second))
        println("presentation, the host's keystore code excluded: kotlin %.0f us, rust %.0f us (runs %.0f, %.0f): FFI overhead %+.1f %% (bound 10 %%)"
            .format(kotlinNet, rustNet, rustBefore.third, rustAfter.third, overhead))
        println("keystore callbacks (Rust into Kotlin) per presentation: $callbacks")
        if (overhead >= 10.0) {
            println("FAIL: the FFI overhead of a presentation is over 10 %")
            exitProcess(1)
        }
    }
    exitProcess(0)
}
