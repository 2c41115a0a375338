package vn.dinhdanh.wallet.core

import java.io.File
import java.nio.file.Files
import kotlin.system.exitProcess
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

        fun rust(): Pair<Double, Double> {
            val dir = Files.createTempDirectory("ffi-bench").toFile()
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
                return figure("cold_start_us") to figure("presentation_us")
            } finally {
                dir.deleteRecursively()
            }
        }

        val rustBefore = rust()

        val dir = Files.createTempDirectory("ffi-bench-kotlin").toFile()
        val keys = SoftwareKeyStore()
        val path = File(dir, "wallet.db").path
        val firstStart = System.nanoTime()
        val open = { Wallet.open(path, keys, "wallet", issuerRoot, parties.rootPem) }
        open().use { wallet ->
            val firstOpen = (System.nanoTime() - firstStart) / 1e3
            val (uri, code) = offer(server, id)
            wallet.receiveOffer(HttpTransport(rewriteLocalhost = true), uri, code, 3u, now)
            println("kotlin first_open_us=%.1f (loads the library through JNA)".format(firstOpen))
        }
        val cold = (0 until minOf(ROUNDS, 100)).map {
            val start = System.nanoTime()
            open().use { wallet -> check(wallet.credentials().size == 1) }
            (System.nanoTime() - start) / 1e3
        }
        val verifier = Verifier(VerifierConfig(
            signingKeyJwk = bank.keyJwk, certificateChainPem = bank.chainPem, clientId = bank.clientId,
            responseUri = "https://bank.example.vn/openid4vp/response", issuerAnchorsPem = issuerRoot,
            trustAsOf = now, registration = bank.registration, requireStatus = false,
        ))
        val presentation = open().use { wallet ->
            (0 until ROUNDS + ROUNDS / 10).mapNotNull { round ->
                val request = verifier.createRequest(dcql, now)
                val start = System.nanoTime()
                val pending = wallet.preparePresentation(request.uri, null, now)
                val answer = wallet.respond(pending, now)
                val elapsed = (System.nanoTime() - start) / 1e3
                pending.close()
                check(answer.body.startsWith("vp_token="))
                elapsed.takeIf { round >= ROUNDS / 10 }
            }
        }
        dir.deleteRecursively()

        val rustAfter = rust()
        val rustCold = (rustBefore.first + rustAfter.first) / 2
        val rustPresentation = (rustBefore.second + rustAfter.second) / 2
        val kotlinCold = median(cold)
        val kotlinPresentation = median(presentation)
        val overhead = (kotlinPresentation / rustPresentation - 1) * 100
        println("cold start (open the wallet, list credentials): kotlin %.0f us, rust %.0f us (runs %.0f, %.0f)"
            .format(kotlinCold, rustCold, rustBefore.first, rustAfter.first))
        println("presentation (prepare + respond): kotlin %.0f us, rust %.0f us (runs %.0f, %.0f): FFI overhead %+.1f %% (bound 10 %%)"
            .format(kotlinPresentation, rustPresentation, rustBefore.second, rustAfter.second, overhead))
        if (overhead >= 10.0) {
            println("FAIL: the FFI overhead of a presentation is over 10 %")
            exitProcess(1)
        }
    }
    exitProcess(0)
}
