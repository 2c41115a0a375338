package vn.dinhdanh.wallet.core

import java.io.File
import java.nio.file.Files
import uniffi.dinhdanh_ffi.HttpRequest
import uniffi.dinhdanh_ffi.HttpResponse
import uniffi.dinhdanh_ffi.Transport
import uniffi.dinhdanh_ffi.VerifiedCredential
import uniffi.dinhdanh_ffi.Verifier
import uniffi.dinhdanh_ffi.VerifierConfig
import uniffi.dinhdanh_ffi.RegisteredVerifierConfig

/**
 * Relying parties for the journeys, registered the real way: each makes its own key and a
 * certificate signing request (`dinhdanh x509 csr`), the agency registers it
 * (`dinhdanh-server rp register --json`: an access certificate from its relying-party CA and a
 * registration signed by its registrar), and the verifier is configured from what was printed and
 * the agency's trust bundle (`Verifier.fromRegistration`).
 */
class RelyingParties(private val server: ServerProcess) {
    private val work = Files.createTempDirectory("rp").toFile()
    private fun file(name: String) = File(work, name)
    private val api = DinhdanhApi(server.publicUrl, HttpTransport(rewriteLocalhost = true))
    private val registered = HashMap<String, Material>()

    /** The agency's relying-party root, as the wallet pins it (`/trust/rp-root.pem`). */
    val rootPem: String by lazy { api.rpRootPem() }

    /** What a relying party is configured with: its key, its chain, its client id, its registration. */
    data class Material(val keyJwk: String, val chainPem: String, val clientId: String, val registration: String?, val rpId: String)

    /**
     * The material of `name` at `dns`, registered with the agency for `claims` of the PID. With
     * [claims] null it is still certified (so the wallet can tell who it is) but presents no
     * registration: an unregistered verifier.
     */
    fun material(name: String, dns: String, displayName: String, purpose: String, claims: List<String>?, now: ULong): Material {
        registered[dns]?.let { return it }
        val key = server.cli("keygen")
        file("$name.jwk").writeText(key)
        file("$name.csr").writeText(server.cli("x509", "csr", "--key", file("$name.jwk").path))
        val args = mutableListOf("rp", "register", "--name", displayName, "--kind", "bank", "--dns", dns,
            "--csr", file("$name.csr").path, "--allow", "pid:" + (claims ?: listOf("/given_name")).joinToString(","), "--json")
        if (purpose.isNotEmpty()) args += listOf("--purpose", purpose)
        val printed = server.command(*args.toTypedArray())
        val json = Json.parse(printed) as? Map<*, *> ?: error("rp register printed no JSON object: $printed")
        fun member(name: String) = json[name] as? String ?: error("rp register printed no $name: $printed")
        val clientId = member("client_id")
        check(clientId == "x509_san_dns:$dns") { printed }
        return Material(key, member("certificate_chain"), clientId, claims?.let { member("registration") }, member("rp_id"))
            .also { registered[dns] = it }
    }

    /** A verifier for `name` at `dns`, registered for `claims` of the PID unless [claims] is null. */
    fun verifier(name: String, dns: String, displayName: String, purpose: String, claims: List<String>?, now: ULong): Verifier {
        val m = material(name, dns, displayName, purpose, claims, now)
        val issuerRoot = api.issuerRootPem()
        return if (m.registration != null) {
            Verifier.fromRegistration(RegisteredVerifierConfig(
                signingKeyJwk = m.keyJwk,
                certificateChainPem = m.chainPem,
                registration = m.registration,
                responseUri = "https://$dns/openid4vp/response",
                trustBundle = api.trustBundle(),
                agencyRootsPem = issuerRoot,
                now = now,
            ))
        } else {
            Verifier(VerifierConfig(
                signingKeyJwk = m.keyJwk,
                certificateChainPem = m.chainPem,
                clientId = m.clientId,
                responseUri = "https://$dns/openid4vp/response",
                issuerAnchorsPem = issuerRoot,
                trustAsOf = now,
                registration = null,
                statusMaxAge = 600u,
            ))
        }
    }
}

/**
 * The phone's network in the tests: the relying parties' backends answer in-process (their
 * `response_uri` host routes to their [Verifier]); everything else goes to the real server.
 */
class PhoneNetwork(private val clock: Clock) : Transport {
    private val http = HttpTransport(rewriteLocalhost = true)
    private val backends = HashMap<String, Verifier>()
    /** What each backend accepted (or why it refused), by host. */
    val received = HashMap<String, MutableList<Result<List<VerifiedCredential>>>>()

    fun backend(host: String, verifier: Verifier) {
        backends[host] = verifier
    }

    override fun send(request: HttpRequest): HttpResponse {
        val host = java.net.URI(request.url).host
        val verifier = backends[host] ?: return http.send(request)
        val result = runCatching { verifier.receive(String(request.body), clock.now()) }
        synchronized(received) { received.getOrPut(host) { mutableListOf() }.add(result) }
        val status: UShort = if (result.isSuccess) 200u else 400u
        return HttpResponse(status, emptyList(), "{}".toByteArray())
    }
}
