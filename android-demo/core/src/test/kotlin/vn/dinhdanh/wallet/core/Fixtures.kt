package vn.dinhdanh.wallet.core

import java.io.File
import java.nio.file.Files
import uniffi.dinhdanh_ffi.HttpRequest
import uniffi.dinhdanh_ffi.HttpResponse
import uniffi.dinhdanh_ffi.Transport
import uniffi.dinhdanh_ffi.VerifiedCredential
import uniffi.dinhdanh_ffi.Verifier
import uniffi.dinhdanh_ffi.VerifierConfig
import uniffi.dinhdanh_ffi.signRegistration

/**
 * Relying parties for the journeys: a development relying-party CA (the `dinhdanh` CLI), access
 * certificates for a bank and a counter, and their registrations signed by a development
 * registry key. (With the relying-party registry, `dinhdanh-server rp register` issues both.)
 */
class RelyingParties(private val server: ServerProcess) {
    private val work = Files.createTempDirectory("rp").toFile()
    private fun file(name: String) = File(work, name)

    init {
        for (name in listOf("rpca", "bank", "counter", "shop", "registry")) file("$name.jwk").writeText(server.cli("keygen"))
        file("rpca.pem").writeText(server.cli("x509", "dev-ca", "--key", file("rpca.jwk").path, "--cn", "relying-party CA"))
    }

    val rootPem: String get() = file("rpca.pem").readText()

    private fun certificate(name: String, dns: String) = server.cli("x509", "dev-cert", "--ca-key", file("rpca.jwk").path,
        "--ca-cert", file("rpca.pem").path, "--subject-key", file("$name.jwk").path, "--cn", name, "--dns", dns)

    private val registryPem by lazy {
        server.cli("x509", "dev-cert", "--ca-key", file("rpca.jwk").path, "--ca-cert", file("rpca.pem").path,
            "--subject-key", file("registry.jwk").path, "--cn", "Registry")
    }

    /** What a relying party is configured with: its key, its chain, its client id, its registration. */
    data class Material(val keyJwk: String, val chainPem: String, val clientId: String, val registration: String?)

    /** The material of `name` at `dns`, registered for `claims` of the PID unless [claims] is null. */
    fun material(name: String, dns: String, displayName: String, purpose: String, claims: List<String>?, now: ULong): Material {
        val clientId = "x509_san_dns:$dns"
        val registration = claims?.let {
            signRegistration(file("registry.jwk").readText(), registryPem, clientId, displayName, purpose,
                "urn:vn:dinhdanh:pid:1", it, now - 60u, now + 86_400u)
        }
        return Material(file("$name.jwk").readText(), certificate(name, dns), clientId, registration)
    }

    /** A verifier for `name` at `dns`, registered for `claims` of the PID unless [claims] is null. */
    fun verifier(name: String, dns: String, displayName: String, purpose: String, claims: List<String>?, now: ULong): Verifier {
        val m = material(name, dns, displayName, purpose, claims, now)
        return Verifier(VerifierConfig(
            signingKeyJwk = m.keyJwk,
            certificateChainPem = m.chainPem,
            clientId = m.clientId,
            responseUri = "https://$dns/openid4vp/response",
            issuerAnchorsPem = DinhdanhApi(server.publicUrl, HttpTransport(rewriteLocalhost = true)).issuerRootPem(),
            trustAsOf = now,
            registration = m.registration,
            statusMaxAge = 600u,
        ))
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
