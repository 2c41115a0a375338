package vn.dinhdanh.wallet.core

import java.net.URLEncoder
import java.util.Base64
import uniffi.dinhdanh_ffi.HttpHeader
import uniffi.dinhdanh_ffi.HttpRequest
import uniffi.dinhdanh_ffi.Transport
import uniffi.dinhdanh_ffi.TransportFailure

/**
 * The server said no: its RFC 9457 problem (`type`, `title`, `detail`) and the HTTP status. A
 * network failure is [status] 0.
 */
class ApiException(val status: Int, val type: String?, val title: String, val detail: String?) :
    Exception("$status $title" + (detail?.let { ": $it" } ?: ""))

/** A session on the server (`Authorization: Bearer`). */
data class Session(val token: String, val accountId: String, val role: String, val assuranceLevel: Int)

data class EnrolmentStarted(val enrolmentId: String, val codeLength: Int, val expiresAt: String)

data class Ceremony(val ceremonyId: String, val optionsJson: String)

data class EnrolmentConfirmed(val setup: Session, val passkeyRegistration: Ceremony)

data class Account(
    val accountId: String,
    val displayName: String,
    val assuranceLevel: Int,
    val idNumber: String?,
    val phone: String?,
)

data class Offer(val offerUri: String, val txCode: String, val configurationIds: List<String>, val expiresAt: String)

/** A credential copy as the issuer keeps it: its status (`valid`, `revoked`, `suspended`). */
data class IssuedCopy(val id: String, val kind: String, val status: String, val deviceId: String?, val expiresAt: String)

data class HistoryEntry(val at: String, val action: String, val actor: String)

/** A number an operator registered to the citizen (issue 12, `GET /v1/me/subscriptions`). */
data class Subscription(
    val subscriptionId: String,
    val msisdn: String,
    val operator: String,
    val state: String,
    val verificationMethod: String,
    val verifiedAt: String,
    val mark: String?,
    val reverificationDeadline: String?,
)

/** A citizen's signing certificate (issue 13, `/v1/me/signing-certificates`). */
data class SigningCertificate(
    val id: String,
    val serial: String,
    val status: String,
    val notAfter: String,
    val certificateChainPem: String?,
)

/** How a credential configuration is named in one language (the issuer metadata's `display`). */
data class DisplayName(val locale: String?, val name: String)

/** What the server offers beyond the base API, read from its OpenAPI document. */
data class Capabilities(val simList: Boolean, val signingCertificates: Boolean) {
    companion object {
        const val SUBSCRIPTIONS = "/v1/me/subscriptions"
        const val SIGNING_CERTIFICATES = "/v1/me/signing-certificates"
        val NONE = Capabilities(simList = false, signingCertificates = false)
    }
}

/**
 * The server's citizen API over the FFI's [Transport] (so the app has one HTTP stack): JSON in,
 * typed records out, problem+json as [ApiException]. Calls block: the app calls them off the
 * main thread.
 */
class DinhdanhApi(baseUrl: String, private val transport: Transport) {
    val baseUrl: String = baseUrl.trimEnd('/')

    private fun call(method: String, path: String, token: String? = null, body: Any? = NO_BODY): Pair<Int, String> {
        val headers = mutableListOf(HttpHeader("Accept", "application/json"))
        if (token != null) headers += HttpHeader("Authorization", "Bearer $token")
        val bytes = if (body === NO_BODY) ByteArray(0) else Json.write(body).toByteArray()
        if (body !== NO_BODY) headers += HttpHeader("Content-Type", "application/json")
        val response = try {
            transport.send(HttpRequest(method, baseUrl + path, headers, bytes))
        } catch (e: TransportFailure) {
            throw ApiException(0, null, "network", e.message)
        }
        val text = String(response.body, Charsets.UTF_8)
        val status = response.status.toInt()
        if (status >= 400) {
            val problem = runCatching { Json.obj(text) }.getOrNull()
            throw ApiException(
                status,
                problem?.str("type"),
                problem?.str("title") ?: "HTTP $status",
                problem?.str("detail"),
            )
        }
        return status to text
    }

    private fun json(method: String, path: String, token: String? = null, body: Any? = NO_BODY): Map<String, Any?> =
        Json.obj(call(method, path, token, body).second)

    @Suppress("UNCHECKED_CAST")
    private fun array(path: String, token: String): List<Map<String, Any?>> =
        (Json.parse(call("GET", path, token).second) as? List<Any?> ?: emptyList()).mapNotNull { it as? Map<String, Any?> }

    private fun session(json: Map<String, Any?>) = Session(
        token = json.str("token") ?: throw ApiException(200, null, "no token in the answer", null),
        accountId = json.str("account_id").orEmpty(),
        role = json.str("role").orEmpty(),
        assuranceLevel = json.long("assurance_level")?.toInt() ?: 0,
    )

    private fun ceremony(json: Map<String, Any?>?) = Ceremony(
        ceremonyId = json?.str("ceremony_id") ?: throw ApiException(200, null, "no ceremony in the answer", null),
        optionsJson = Json.write(json.obj("options")),
    )

    // --- Enrolment and passkeys -------------------------------------------------------------

    fun startEnrolment(idNumber: String, fullName: String, dateOfBirth: String, phone: String): EnrolmentStarted {
        val json = json("POST", "/v1/enrolments", body = mapOf(
            "id_number" to idNumber, "full_name" to fullName, "date_of_birth" to dateOfBirth, "phone" to phone,
        ))
        return EnrolmentStarted(json.str("enrolment_id").orEmpty(), json.long("code_length")?.toInt() ?: 6,
            json.str("expires_at").orEmpty())
    }

    fun confirmEnrolment(enrolmentId: String, code: String): EnrolmentConfirmed {
        val json = json("POST", "/v1/enrolments/${segment(enrolmentId)}/confirm", body = mapOf("code" to code))
        return EnrolmentConfirmed(session(json), ceremony(json.obj("passkey_registration")))
    }

    /** Completes a passkey registration; under a setup session the answer carries the citizen's session. */
    fun finishPasskeyRegistration(token: String, ceremonyId: String, credentialJson: String, name: String): Session? {
        val json = json("POST", "/v1/passkeys/registrations/${segment(ceremonyId)}", token,
            mapOf("credential" to Json.parse(credentialJson), "name" to name))
        return json.obj("session")?.let(::session)
    }

    fun startSignIn(): Ceremony = ceremony(json("POST", "/v1/sessions/passkey", body = emptyMap<String, Any?>()))

    fun finishSignIn(ceremonyId: String, credentialJson: String): Session =
        session(json("POST", "/v1/sessions/passkey/${segment(ceremonyId)}",
            body = mapOf("credential" to Json.parse(credentialJson))))

    // --- The citizen -------------------------------------------------------------------------

    fun me(token: String): Account {
        val json = json("GET", "/v1/me", token)
        return Account(json.str("account_id").orEmpty(), json.str("display_name").orEmpty(),
            json.long("assurance_level")?.toInt() ?: 0, json.str("id_number"), json.str("phone"))
    }

    /** Uploads the chip's files for level 2 (an officer then decides). */
    fun submitLevel2(token: String, files: ChipFiles) {
        val b64 = { bytes: ByteArray -> Base64.getEncoder().encodeToString(bytes) }
        call("POST", "/v1/me/level2", token, mapOf(
            "dg1" to b64(files.dg1), "dg2" to b64(files.dg2), "dg13" to b64(files.dg13), "sod" to b64(files.sod),
        ))
    }

    fun offerToMe(token: String, configurationIds: List<String>): Offer =
        offer(json("POST", "/v1/me/offers", token, mapOf("credential_configuration_ids" to configurationIds)))

    fun pendingOffers(token: String): List<Offer> = array("/v1/me/offers", token).map(::offer)

    private fun offer(json: Map<String, Any?>) = Offer(
        json.str("offer_uri").orEmpty(), json.str("tx_code").orEmpty(),
        json.list("credential_configuration_ids").filterIsInstance<String>(), json.str("expires_at").orEmpty(),
    )

    fun issuedCopies(token: String): List<IssuedCopy> = array("/v1/me/credentials", token).map {
        IssuedCopy(it.str("id").orEmpty(), it.str("kind").orEmpty(), it.str("status").orEmpty(),
            it.str("device_id"), it.str("expires_at").orEmpty())
    }

    fun history(token: String): List<HistoryEntry> = array("/v1/me/history", token).map {
        HistoryEntry(it.str("at").orEmpty(), it.str("action").orEmpty(), it.str("actor").orEmpty())
    }

    // --- Trust and metadata ------------------------------------------------------------------

    fun issuerRootPem(): String = call("GET", "/trust/issuer-root.pem").second

    /** The agency's relying-party root (PEM): what verifiers' access certificates chain to. */
    fun rpRootPem(): String = call("GET", "/trust/rp-root.pem").second

    /** The agency's signed trust bundle (a JWT the wallet verifies against its pinned roots). */
    fun trustBundle(): String = call("GET", "/trust/bundle").second

    fun statusList(uri: String): String {
        require(uri.startsWith("$baseUrl/")) { "status list outside the server" }
        return call("GET", uri.removePrefix(baseUrl)).second
    }

    /** Localised names per credential configuration id, from the issuer metadata. */
    fun credentialDisplay(): Map<String, List<DisplayName>> {
        val metadata = json("GET", "/.well-known/openid-credential-issuer")
        val configurations = metadata.obj("credential_configurations_supported") ?: return emptyMap()
        return configurations.mapValues { (_, value) ->
            @Suppress("UNCHECKED_CAST")
            val config = value as? Map<String, Any?> ?: return@mapValues emptyList()
            // OpenID4VCI 1.0 keeps it under credential_metadata; drafts at the top.
            val display = config.obj("credential_metadata")?.list("display")?.takeIf { it.isNotEmpty() }
                ?: config.list("display")
            display.mapNotNull { entry ->
                @Suppress("UNCHECKED_CAST")
                (entry as? Map<String, Any?>)?.let { e -> e.str("name")?.let { DisplayName(e.str("locale"), it) } }
            }
        }
    }

    /** The optional routes this server has (from `GET /openapi.json`). */
    fun capabilities(): Capabilities {
        val paths = json("GET", "/openapi.json").obj("paths") ?: return Capabilities.NONE
        return Capabilities(
            simList = paths.containsKey(Capabilities.SUBSCRIPTIONS),
            signingCertificates = paths.containsKey(Capabilities.SIGNING_CERTIFICATES),
        )
    }

    // --- Issue 12: the citizen's SIM list -----------------------------------------------------

    fun subscriptions(token: String): List<Subscription> = array(Capabilities.SUBSCRIPTIONS, token).map {
        Subscription(
            it.str("subscription_id").orEmpty(), it.str("msisdn").orEmpty(), it.str("operator").orEmpty(),
            it.str("state").orEmpty(), it.str("verification_method").orEmpty(), it.str("verified_at").orEmpty(),
            it.str("mark"), it.obj("reverification")?.let { r -> r.str("terminated_at") ?: r.str("outgoing_blocked_at") },
        )
    }

    /** `mine` or `not_mine` (opens a dispute the operator must answer): the dispute id, if one. */
    fun markSubscription(token: String, subscriptionId: String, mine: Boolean): String? =
        json("POST", "${Capabilities.SUBSCRIPTIONS}/${segment(subscriptionId)}/mark", token,
            mapOf("mark" to if (mine) "mine" else "not_mine")).str("dispute_id")

    // --- Issue 13: signing certificates ------------------------------------------------------

    fun signingCertificates(token: String): List<SigningCertificate> =
        array(Capabilities.SIGNING_CERTIFICATES, token).map {
            SigningCertificate(it.str("id").orEmpty(), it.str("serial").orEmpty(), it.str("status").orEmpty(),
                it.str("not_after").orEmpty(), it.str("certificate"))
        }

    fun requestSigningCertificate(token: String, csrPem: String, deviceId: String?): SigningCertificate {
        val body = mutableMapOf<String, Any?>("csr" to csrPem)
        if (deviceId != null) body["device_id"] = deviceId
        val json = json("POST", Capabilities.SIGNING_CERTIFICATES, token, body)
        return SigningCertificate(json.str("id").orEmpty(), json.str("serial").orEmpty(), "valid",
            json.str("not_after").orEmpty(), json.str("certificate_chain"))
    }

    fun revokeSigningCertificate(token: String, id: String) {
        call("POST", "${Capabilities.SIGNING_CERTIFICATES}/${segment(id)}/revoke", token, emptyMap<String, Any?>())
    }

    private companion object {
        val NO_BODY = Any()

        /** One path segment, so an id from a QR code or a server cannot change the route. */
        fun segment(value: String): String = URLEncoder.encode(value, "UTF-8").replace("+", "%20")
    }
}
