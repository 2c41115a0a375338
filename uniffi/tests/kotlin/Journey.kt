// The wallet and verifier journey through the generated Kotlin bindings of dinhdanh-ffi, on the
// JVM: a real dinhdanh-server makes a level-2 citizen and a counter offer; the wallet, with a
// keystore written here in Kotlin (java.security keys that never leave it), receives the
// credential through a Kotlin HTTP transport; a bank registered with `dinhdanh-server rp register`
// asks by QR code; the wallet shows the consent and answers; the bank verifies offline, once;
// revoked, the bank is refused once the wallet's trust data is refreshed. Prints the cost of one
// FFI round trip.
//
// Run by uniffi/tests/bindings.rs with DINHDANH_SERVER, DINHDANH_CLI and DINHDANH_WORK set.

import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.SecureRandom
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import uniffi.dinhdanh_ffi.*

val server = System.getenv("DINHDANH_SERVER")!!
val cliPath = System.getenv("DINHDANH_CLI")!!
val work = File(System.getenv("DINHDANH_WORK")!!)

class KotlinKeyStore : KeyStore {
    private val signing = HashMap<String, KeyPair>()
    private val wrapping = HashMap<String, SecretKey>()

    override fun generateSigningKey(alias: String) {
        if (signing.containsKey(alias) || wrapping.containsKey(alias)) {
            throw KeyStoreFailure.Refused("$alias exists")
        }
        val generator = KeyPairGenerator.getInstance("EC")
        generator.initialize(ECGenParameterSpec("secp256r1"))
        signing[alias] = generator.generateKeyPair()
    }

    override fun publicKey(alias: String): ByteArray {
        val key = (signing[alias] ?: throw KeyStoreFailure.NotFound(alias)).public as ECPublicKey
        val coordinate = { n: java.math.BigInteger ->
            val bytes = n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
            ByteArray(32 - bytes.size) + bytes
        }
        return byteArrayOf(4) + coordinate(key.w.affineX) + coordinate(key.w.affineY)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        val key = signing[alias] ?: throw KeyStoreFailure.NotFound(alias)
        val signature = Signature.getInstance("SHA256withECDSA")
        signature.initSign(key.private)
        signature.update(message)
        return signature.sign()
    }

    override fun generateWrappingKey(alias: String) {
        val generator = KeyGenerator.getInstance("AES")
        generator.init(256)
        wrapping[alias] = generator.generateKey()
    }

    override fun wrap(alias: String, secret: ByteArray): ByteArray {
        val key = wrapping[alias] ?: throw KeyStoreFailure.NotFound(alias)
        val nonce = ByteArray(12).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, nonce))
        return nonce + cipher.doFinal(secret)
    }

    override fun unwrap(alias: String, wrapped: ByteArray): ByteArray {
        val key = wrapping[alias] ?: throw KeyStoreFailure.NotFound(alias)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped.copyOfRange(0, 12)))
        try {
            return cipher.doFinal(wrapped.copyOfRange(12, wrapped.size))
        } catch (e: AEADBadTagException) {
            throw KeyStoreFailure.Unwrap()
        }
    }

    override fun contains(alias: String): Boolean = signing.containsKey(alias) || wrapping.containsKey(alias)

    override fun delete(alias: String) {
        signing.remove(alias)
        wrapping.remove(alias)
    }
}

class KotlinTransport : Transport {
    override fun send(request: HttpRequest): HttpResponse {
        try {
            val url = URI(request.url.replace("//localhost", "//127.0.0.1")).toURL()
            val connection = url.openConnection() as HttpURLConnection
            connection.requestMethod = request.method
            connection.connectTimeout = 30_000
            connection.readTimeout = 30_000
            for (header in request.headers) connection.setRequestProperty(header.name, header.value)
            if (request.method == "POST") {
                connection.doOutput = true
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val body = stream?.use { it.readBytes() } ?: ByteArray(0)
            val headers = connection.headerFields
                .filterKeys { it != null }
                .flatMap { (name, values) -> values.map { HttpHeader(name, it) } }
            return HttpResponse(status.toUShort(), headers, body)
        } catch (e: java.io.IOException) {
            throw TransportFailure.Failed(e.toString())
        }
    }
}

fun run(vararg command: String, env: Map<String, String> = emptyMap()): String {
    val builder = ProcessBuilder(*command).directory(work)
    builder.environment().remove("DATABASE_URL")
    builder.environment().remove("DINHDANH_DATA_DIR")
    builder.environment().putAll(env)
    builder.redirectError(ProcessBuilder.Redirect.DISCARD)
    val process = builder.start()
    val out = process.inputStream.bufferedReader().readText()
    check(process.waitFor() == 0) { "${command.joinToString(" ")} failed" }
    return out
}

fun fetch(base: String, path: String): String =
    URI(base.replace("//localhost", "//127.0.0.1") + path).toURL().readText()

fun check(condition: Boolean, message: () -> String = { "check failed" }) {
    if (!condition) throw AssertionError(message())
}

inline fun <reified E : Throwable> expect(block: () -> Unit) {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, got success")
}

fun runWithInput(input: String, vararg command: String): String {
    val process = ProcessBuilder(*command).directory(work)
        .redirectError(ProcessBuilder.Redirect.DISCARD).start()
    process.outputStream.use { it.write(input.toByteArray()) }
    val out = process.inputStream.bufferedReader().readText()
    check(process.waitFor() == 0) { "${command.joinToString(" ")} failed" }
    return out
}

// A shop checks a revoked credential and a forged one: two different error kinds. The issuer is
// the CLI (an agency root, an issuing certificate, a PID with status entry 7, a status list that
// revokes entry 7), so a revocation needs no staff session; the wallet's part is the CLI's
// presentation with key binding to the shop's request.
fun revokedAndForged(clientId: String, bankPem: String) {
    for (name in listOf("ca", "issuer", "holder")) File(work, "$name.jwk").writeText(run(cliPath, "keygen"))
    File(work, "ca.pem").writeText(run(cliPath, "x509", "dev-ca", "--key", "ca.jwk", "--cn", "agency root"))
    File(work, "issuer.pem").writeText(run(cliPath, "x509", "dev-cert", "--ca-key", "ca.jwk",
        "--ca-cert", "ca.pem", "--subject-key", "issuer.jwk", "--uri", "https://id.dinhdanh.example"))
    File(work, "claims.json").writeText("""{"iss": "https://id.dinhdanh.example",
        "personal_identifier": "001204012345", "family_name": "Nguyễn", "given_name": "Văn An",
        "birthdate": "2004-03-15", "sex": 1, "nationalities": ["VN"],
        "issuing_authority": "Bộ Công an", "issuing_country": "VN"}""")
    val statusUri = "https://id.dinhdanh.example/status/1"
    val pid = run(cliPath, "sd-jwt", "issue", "--issuer-key", "issuer.jwk", "--x5c", "issuer.pem",
        "--holder-jwk", "holder.jwk", "--vct", "urn:vn:dinhdanh:pid:1", "--claims", "claims.json",
        "--sd", "/personal_identifier,/family_name,/given_name,/birthdate",
        "--status-idx", "7", "--status-uri", statusUri)
    val status = runWithInput("[0,0,0,0,0,0,0,1]", cliPath, "status-list", "sign", "--key",
        "issuer.jwk", "--x5c", "issuer.pem", "--uri", statusUri, "--bits", "2", "--ttl", "3600").trim()

    // The CLI dates what it makes by the clock: so does the shop.
    val now = (System.currentTimeMillis() / 1000).toULong()
    val shop = Verifier(VerifierConfig(
        signingKeyJwk = File(work, "bank.jwk").readText(),
        certificateChainPem = bankPem,
        clientId = clientId,
        responseUri = "https://bank.example.vn/openid4vp/response",
        issuerAnchorsPem = File(work, "ca.pem").readText(),
        trustAsOf = now,
    ))
    shop.addStatusList(statusUri, status, now)

    fun answer(forge: Boolean): String {
        val created = shop.createRequest(
            """{"credentials":[{"id":"pid","format":"dc+sd-jwt",
                "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},"claims":[{"path":["given_name"]}]}]}""", now)
        val jwt = created.uri.substringAfter("request=").substringBefore("&")
        val payload = String(java.util.Base64.getUrlDecoder().decode(jwt.split(".")[1]))
        val member = { name: String -> Regex("\"$name\":\"([^\"]+)\"").find(payload)!!.groupValues[1] }
        var presentation = runWithInput(pid, cliPath, "sd-jwt", "present", "--holder-key", "holder.jwk",
            "--disclose", "/given_name", "--aud", clientId, "--nonce=" + member("nonce")).trim()
        if (forge) {
            // One character of the issuer's signature changed.
            val at = presentation.indexOf('~') - 10
            val swapped = if (presentation[at] == 'A') 'B' else 'A'
            presentation = presentation.substring(0, at) + swapped + presentation.substring(at + 1)
        }
        val encode = { text: String -> java.net.URLEncoder.encode(text, Charsets.UTF_8) }
        return "vp_token=" + encode("""{"pid":["$presentation"]}""") + "&state=" + encode(member("state"))
    }

    try {
        shop.receive(answer(forge = false), now)
        throw AssertionError("a revoked credential was accepted")
    } catch (e: DinhdanhException.Revoked) {
        println("kotlin: revoked credential refused: ${e.message}")
    }
    try {
        shop.receive(answer(forge = true), now)
        throw AssertionError("a forged credential was accepted")
    } catch (e: DinhdanhException.Forged) {
        println("kotlin: forged credential refused: ${e.message}")
    }
}

fun main() {
    val builder = ProcessBuilder(server, "serve", "--listen", "127.0.0.1:0").directory(work)
    builder.environment().remove("DATABASE_URL")
    builder.environment().remove("DINHDANH_DATA_DIR")
    builder.environment().remove("DINHDANH_PUBLIC_URL")
    builder.environment()["DINHDANH_LOG"] = "warn"
    builder.redirectError(ProcessBuilder.Redirect.DISCARD)
    val process = builder.start()
    try {
        journey(process)
    } finally {
        process.destroyForcibly()
        process.waitFor()
    }
}

fun journey(process: Process) {
    val lines = process.inputStream.bufferedReader()
    val publicUrl = lines.readLine().substringAfter("(public URL ").removeSuffix(")")
    val idNumber = lines.readLine().substringAfter("id_number ").substringBefore(" ")
    Thread { lines.forEachLine { } }.apply { isDaemon = true }.start()
    val env = mapOf("DINHDANH_PUBLIC_URL" to publicUrl, "DINHDANH_LOG" to "warn")
    run(server, "dev", "level2", "--id-number", idNumber, env = env)
    val offer = run(server, "offer", "create", "--id-number", idNumber, "--config", "pid", "--json", env = env)
    val offerUri = Regex("\"offer_uri\":\"([^\"]+)\"").find(offer)!!.groupValues[1]
    val txCode = Regex("\"tx_code\":\"([^\"]+)\"").find(offer)!!.groupValues[1]
    val issuerRoot = fetch(publicUrl, "/trust/issuer-root.pem")

    // The bank makes its own key and a certificate signing request; the agency registers it
    // (access certificate from its relying-party CA, registration signed by its registrar).
    File(work, "bank.jwk").writeText(run(cliPath, "keygen"))
    File(work, "bank.csr").writeText(run(cliPath, "x509", "csr", "--key", "bank.jwk"))
    val registered = run(server, "rp", "register", "--name", "Ngân hàng Ví dụ", "--kind", "bank",
        "--dns", "bank.example.vn", "--csr", File(work, "bank.csr").path,
        "--allow", "pid:/given_name,/birthdate", "--purpose", "Mở tài khoản (eKYC)", "--json", env = env)
    fun member(name: String) = Regex("\"$name\":\"([^\"]+)\"").find(registered)!!.groupValues[1]
    val clientId = member("client_id")
    check(clientId == "x509_san_dns:bank.example.vn") { registered }
    val bankPem = member("certificate_chain").replace("\\n", "\n")
    val rpRoot = fetch(publicUrl, "/trust/rp-root.pem")
    val now = (System.currentTimeMillis() / 1000).toULong()

    // The wallet takes its trust from the agency's bundle and receives the counter offer with
    // the Kotlin keystore and transport.
    val wallet = Wallet.open(File(work, "wallet.db").path, KotlinKeyStore(), "wallet", issuerRoot, rpRoot)
    val bundle = wallet.applyTrustBundle(fetch(publicUrl, "/trust/bundle"), issuerRoot, now)
    check(bundle.rpRootsPem == rpRoot) { "$bundle" }
    val rpStatusPath = bundle.rpStatusListUrl!!.removePrefix(publicUrl)
    wallet.refreshRpStatusList(fetch(publicUrl, rpStatusPath), now)
    val ids = wallet.receiveOffer(KotlinTransport(), offerUri, txCode, 2u, now)
    check(ids.size == 1) { "ids $ids" }
    val credential = wallet.credentials().single()
    check(credential.vct == "urn:vn:dinhdanh:pid:1" && credential.unusedCopies == 2u) { "$credential" }
    expect<DinhdanhException.Refused> { wallet.receiveOffer(KotlinTransport(), offerUri, txCode, 2u, now) }

    // The bank asks; the wallet shows the consent and answers; the bank checks, once.
    val bank = Verifier.fromRegistration(RegisteredVerifierConfig(
        signingKeyJwk = File(work, "bank.jwk").readText(),
        certificateChainPem = bankPem,
        registration = member("registration"),
        responseUri = "https://bank.example.vn/openid4vp/response",
        trustBundle = fetch(publicUrl, "/trust/bundle"),
        agencyRootsPem = issuerRoot,
        now = now,
    ))
    bank.addStatusList("$publicUrl/status-lists/1", fetch(publicUrl, "/status-lists/1"), now)
    val dcql = """{"credentials":[{"id":"pid","format":"dc+sd-jwt",
        "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},
        "claims":[{"path":["given_name"]},{"path":["birthdate"]}]}]}"""
    val created = bank.createRequest(dcql, now)
    val pending = wallet.preparePresentation(created.uri, null, now)
    val consent = pending.consent()
    check(consent.verifierName == "Ngân hàng Ví dụ" && consent.registered) { "$consent" }
    check(consent.items.single().claims == listOf("/given_name", "/birthdate")) { "$consent" }
    check(consent.items.single().credentialId == ids.single()) { "$consent" }
    val answer = wallet.respond(pending, now)
    check(answer.body.startsWith("vp_token=")) { answer.body }
    val verified = bank.receive(answer.body, now).single()
    check(verified.status == "valid" && verified.claimsJson.contains("\"given_name\"")) { "$verified" }
    expect<DinhdanhException.Replayed> { bank.receive(answer.body, now) }
    expect<DinhdanhException.InvalidInput> { wallet.preparePresentation("openid4vp://?client_id=x", null, now) }
    check(wallet.presentations().size == 1)

    revokedAndForged(clientId, bankPem)

    // The agency revokes the bank: once the wallet's trust data is refreshed, it refuses it.
    run(server, "rp", "revoke", "--rp-id", member("rp_id"), env = env)
    val newer = wallet.applyTrustBundle(fetch(publicUrl, "/trust/bundle"), issuerRoot, now)
    check(newer.version > bundle.version) { "$newer" }
    wallet.refreshRpStatusList(fetch(publicUrl, rpStatusPath), now)
    val again = bank.createRequest(dcql, now)
    expect<DinhdanhException.RevokedVerifier> { wallet.preparePresentation(again.uri, null, now) }
    println("kotlin: revoked relying party refused")

    // The cost of one FFI round trip (a call with a string result), after warming up the JIT.
    repeat(20_000) { sdkVersion() }
    val rounds = 100_000
    val start = System.nanoTime()
    repeat(rounds) { sdkVersion() }
    val perCall = (System.nanoTime() - start) / 1000.0 / rounds
    println("kotlin: FFI round trip %.2f us per call (%d calls)".format(perCall, rounds))
    println("kotlin journey: ok")
}
