package vn.dinhdanh.wallet.core

import java.io.File
import java.nio.file.Files
import kotlin.system.exitProcess
import uniffi.dinhdanh_ffi.KeyStore
import uniffi.dinhdanh_ffi.Wallet
import uniffi.dinhdanh_ffi.softwareKeystore

// The FFI benchmark (android-demo/scripts/check --bench, release library): the app's calls from
// Kotlin through the bindings and JNA against the same calls on the same exported objects from
// Rust (the dinhdanh-ffi-timing program, which ios-demo's Swift benchmark uses too), on the same
// wallet file with the same keystore (the SDK's software keystore, `softwareKeystore`), in
// alternating rounds, so the difference is what crossing the FFI costs:
// - cold start: open the wallet (unwrap its data key) and list the credentials;
// - a presentation: check and evaluate a signed request, then answer it (key binding signed, the
//   copy taken and the presentation logged).
// Each round's ratio is taken between neighbours in time (the machine's load drifts); the FFI
// overhead of a presentation is the median of the round ratios and must stay under 10 %.
// Apart, and not part of the bound: a presentation with a keystore written in Kotlin (Java's
// ECDSA reached by callbacks from Rust, as the Android Keystore is on a phone).

/** Presentations made from Kotlin before measuring: the JIT compiles the bindings' code late. */
const val KOTLIN_WARMUP = 3000
const val ROUNDS = 11
const val CALLS = 50

/** The host's keystore, timed: the time spent in its own code is the platform's, not the FFI's. */
class TimedKeyStore(private val inner: KeyStore) : KeyStore {
    @Volatile var nanos = 0L
    /** Calls into the keystore: each is one callback from Rust into Kotlin. */
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
 * The wallets on tmpfs when the machine has one: a presentation writes the store, and disk
 * flushes slowed at random by whatever else the machine writes would drown the comparison.
 * `DINHDANH_BENCH_DIR` picks another place (a directory on disk, as a phone's flash storage).
 */
val scratch: java.nio.file.Path = (System.getenv("DINHDANH_BENCH_DIR")?.let { File(it) }
    ?: File("/dev/shm").takeIf { it.isDirectory && it.canWrite() })?.toPath()
    ?: java.nio.file.Paths.get(System.getProperty("java.io.tmpdir"))

fun median(samples: List<Double>) = samples.sorted()[samples.size / 2]

fun micros(since: Long) = (System.nanoTime() - since) / 1e3

fun offer(server: ServerProcess, idNumber: String): Pair<String, String> {
    val json = Json.obj(server.command("offer", "create", "--id-number", idNumber, "--config", "pid", "--json"))
    return json.str("offer_uri")!! to json.str("tx_code")!!
}

fun main(args: Array<String>) {
    val timing = args.firstOrNull() ?: error("usage: Bench PATH_TO_dinhdanh-ffi-timing")
    ServerProcess.start().use { server ->
        val id = server.citizen.idNumber
        server.command("dev", "level2", "--id-number", id)
        val now = Clock.SYSTEM.now()
        val parties = RelyingParties(server)
        val bank = parties.verifier("bank", "bank.example.vn", "Ngân hàng Ví dụ", "Mở tài khoản",
            listOf("/given_name", "/family_name", "/birthdate"), now)
        val dcql = VerifierModeViewModel.PID_BASIC
        val api = DinhdanhApi(server.publicUrl, HttpTransport(rewriteLocalhost = true))
        val issuerRoot = api.issuerRootPem()
        val dir = Files.createTempDirectory(scratch, "ffi-bench").toFile()
        try {
            File(dir, "issuer.pem").writeText(issuerRoot)
            File(dir, "verifiers.pem").writeText(parties.rootPem)
            val walletPath = File(dir, "wallet.db").path
            val firstStart = System.nanoTime()
            val keys = softwareKeystore(File(dir, "keys").path, "bench")
            val open = { Wallet.open(walletPath, keys, "wallet", issuerRoot, parties.rootPem) }
            val (uri, code) = offer(server, id)
            open().use { wallet ->
                println("bench: first open in a fresh JVM (loads the library) %.0f us".format(micros(firstStart)))
                wallet.receiveOffer(HttpTransport(rewriteLocalhost = true), uri, code, 3u, now)
            }

            fun presentations(wallet: Wallet, count: Int): List<Double> {
                val requests = (0 until count).map { bank.createRequest(dcql, now).uri }
                return requests.map { request ->
                    val start = System.nanoTime()
                    val answer = wallet.preparePresentation(request, null, now).use { pending ->
                        wallet.respond(pending, now)
                    }
                    micros(start).also { check(answer.body.startsWith("vp_token=")) { answer.body } }
                }
            }

            // The JIT compiles the bindings' code only after thousands of calls; the Rust side
            // then measures the same wallet, with the same history in its log.
            open().use { wallet -> presentations(wallet, KOTLIN_WARMUP) }
            repeat(200) { open().use { wallet -> check(wallet.credentials().isNotEmpty()) } }

            val kotlinCold = mutableListOf<Double>()
            val kotlinPresent = mutableListOf<Double>()
            val rustCold = mutableListOf<Double>()
            val rustPresent = mutableListOf<Double>()
            repeat(ROUNDS) {
                // Kotlin: the calls an app makes.
                kotlinCold += median((0 until CALLS).map {
                    val start = System.nanoTime()
                    open().use { wallet -> check(wallet.credentials().isNotEmpty()) }
                    micros(start)
                })
                kotlinPresent += open().use { wallet -> median(presentations(wallet, CALLS)) }

                // Rust: the same calls on the same objects and the same wallet file.
                File(dir, "requests.txt").writeText(
                    (0 until CALLS).joinToString("\n") { bank.createRequest(dcql, now).uri })
                val process = ProcessBuilder(timing, dir.path, CALLS.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start()
                val out = process.inputStream.bufferedReader().readText()
                check(process.waitFor() == 0) { "dinhdanh-ffi-timing failed" }
                val figures = Json.obj(out)
                rustCold += (figures["cold_start_us"] as Number).toDouble()
                rustPresent += (figures["presentation_us"] as Number).toDouble()
            }
            val coldOverhead = (median(kotlinCold.zip(rustCold) { k, r -> k / r }) - 1) * 100
            val overhead = (median(kotlinPresent.zip(rustPresent) { k, r -> k / r }) - 1) * 100
            println("bench: cold start (open + list) Kotlin %.1f us, Rust %.1f us: %+.1f %% (median of %d round ratios)"
                .format(median(kotlinCold), median(rustCold), coldOverhead, ROUNDS))
            println("bench: presentation (prepare + respond) Kotlin %.1f us, Rust %.1f us: %+.1f %% (target < 10 %%)"
                .format(median(kotlinPresent), median(rustPresent), overhead))

            // Apart: a keystore written in Kotlin, reached by callbacks from Rust.
            val kotlinKeys = TimedKeyStore(SoftwareKeyStore())
            val hostPath = File(dir, "host-keystore.db").path
            Wallet.open(hostPath, kotlinKeys, "wallet", issuerRoot, parties.rootPem).use { wallet ->
                val (hostUri, hostCode) = offer(server, id)
                wallet.receiveOffer(HttpTransport(rewriteLocalhost = true), hostUri, hostCode, 3u, now)
                presentations(wallet, 1000)
                val callsBefore = kotlinKeys.calls
                val nanosBefore = kotlinKeys.nanos
                val times = presentations(wallet, 300)
                val callbacks = (kotlinKeys.calls - callsBefore) / 300.0
                val inKeystore = (kotlinKeys.nanos - nanosBefore) / 1e3 / 300
                println("bench: presentation with a Kotlin keystore (Java's ECDSA) %.1f us, of which %.1f us in the keystore's own code; %.1f callbacks per presentation"
                    .format(median(times), inKeystore, callbacks))
            }
            println("bench: FFI round trip (sdkVersion) %.2f us".format(roundTrip()))
            if (overhead >= 10.0) {
                println("FAIL: the FFI overhead of a presentation is over 10 %")
                exitProcess(1)
            }
        } finally {
            dir.deleteRecursively()
        }
    }
    exitProcess(0)
}

fun roundTrip(): Double {
    repeat(10_000) { uniffi.dinhdanh_ffi.sdkVersion() }
    val calls = 100_000
    val start = System.nanoTime()
    repeat(calls) { uniffi.dinhdanh_ffi.sdkVersion() }
    return micros(start) / calls
}
