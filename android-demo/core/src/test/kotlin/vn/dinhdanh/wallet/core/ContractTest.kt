package vn.dinhdanh.wallet.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import uniffi.dinhdanh_ffi.HttpRequest
import uniffi.dinhdanh_ffi.HttpResponse
import uniffi.dinhdanh_ffi.KeyStore
import uniffi.dinhdanh_ffi.Transport

/**
 * The SIM-list and signature screens on the JSON their issues fix (issue 12
 * `/v1/me/subscriptions`, issue 13 `/v1/me/signing-certificates`), served by a scripted server
 * until the real one has them; and the JSON reader on hostile input.
 */
class ContractTest {
    private class Scripted(private val routes: Map<String, Pair<Int, String>>) : Transport {
        val seen = mutableListOf<HttpRequest>()
        override fun send(request: HttpRequest): HttpResponse {
            seen += request
            val path = request.method + " " + request.url.substringAfter("https://id.example")
            val (status, body) = routes[path] ?: (404 to """{"type":"about:blank","title":"Not Found","status":404}""")
            return HttpResponse(status.toUShort(), emptyList(), body.toByteArray())
        }
    }

    private fun app(transport: Transport) = WalletApp(DinhdanhApi("https://id.example", transport), transport,
        object : KeyStore by SoftwareKeyStore() {}, "/nonexistent", "")
        .also { it.signedIn(Session("token", "a1", "citizen", 2)) }

    private val openApi = """{"openapi":"3.1.0","paths":{"/v1/me":{},"/v1/me/subscriptions":{},
        "/v1/me/subscriptions/{subscription_id}/mark":{},"/v1/me/signing-certificates":{}}}"""

    @Test
    fun simListListsAndMarksNumbers() {
        val subscriptions = """[{"subscription_id":"s1","msisdn":"+84912345678","operator":"Nhà mạng A",
            "state":"reverification_required","verification_method":"four_fields","verified_at":"2026-01-01T00:00:00Z",
            "registered_at":"2026-01-01T00:00:00Z","reverification":{"outgoing_blocked_at":"2026-01-02T02:00:00Z",
            "terminated_at":"2026-02-05T00:00:00Z"}},
            {"subscription_id":"s2","msisdn":"+84987654321","operator":"Nhà mạng B","state":"active",
            "verification_method":"wallet","verified_at":"2026-01-01T00:00:00Z","registered_at":"2026-01-01T00:00:00Z","mark":"mine"}]"""
        val transport = Scripted(mapOf(
            "GET /openapi.json" to (200 to openApi),
            "GET /v1/me/subscriptions" to (200 to subscriptions),
            "POST /v1/me/subscriptions/s1/mark" to (200 to """{"subscription_id":"s1","mark":"not_mine","dispute_id":"d1"}"""),
        ))
        val sims = SimListViewModel(app(transport))
        sims.refresh()
        val loaded = sims.state.value as SimListViewModel.State.Loaded
        assertEquals(listOf("+84912345678", "+84987654321"), loaded.numbers.map { it.msisdn })
        assertEquals("2026-02-05T00:00:00Z", loaded.numbers[0].reverificationDeadline)
        assertEquals("mine", loaded.numbers[1].mark)
        assertNull(loaded.numbers[0].mark)
        sims.mark("s1", mine = false)
        assertEquals("d1", (sims.state.value as SimListViewModel.State.Loaded).disputeOpened)
        val mark = transport.seen.single { it.url.endsWith("/mark") }
        assertEquals("""{"mark":"not_mine"}""", String(mark.body))
        assertTrue(mark.headers.any { it.name == "Authorization" && it.value == "Bearer token" })
    }

    @Test
    fun idsFromTheServerCannotChangeTheRoute() {
        val transport = Scripted(mapOf("GET /openapi.json" to (200 to openApi)))
        val sims = SimListViewModel(app(transport))
        sims.mark("../../admin", mine = true)
        assertTrue(transport.seen.last().url.endsWith("/v1/me/subscriptions/..%2F..%2Fadmin/mark"))
    }

    @Test
    fun signingScreenRequestsAndSigns() {
        val issued = """{"id":"c1","serial":"0a","certificate_chain":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "not_before":"2026-01-01T00:00:00Z","not_after":"2028-01-01T00:00:00Z"}"""
        val list = """[{"id":"c1","serial":"0a","status":"valid","certificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "not_before":"2026-01-01T00:00:00Z","not_after":"2028-01-01T00:00:00Z"}]"""
        val transport = Scripted(mapOf(
            "GET /openapi.json" to (200 to openApi),
            "POST /v1/me/signing-certificates" to (201 to issued),
            "GET /v1/me/signing-certificates" to (200 to list),
        ))
        val signer = object : DocumentSigner {
            override fun certificateRequest() = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
            override fun sign(document: ByteArray, mediaType: String, certificateChainPem: String) =
                "sig:".toByteArray() + document
        }
        val sign = SignViewModel(app(transport))
        sign.requestCertificate(signer, "phone-1")
        assertEquals("valid", (sign.state.value as SignViewModel.State.Loaded).certificates.single().status)
        val request = Json.obj(String(transport.seen.single { it.method == "POST" }.body))
        assertEquals("phone-1", request["device_id"])
        sign.sign(signer, "hello".toByteArray(), "application/json")
        assertEquals("sig:hello", String((sign.state.value as SignViewModel.State.Signed).signature))
    }

    @Test
    fun aServerWithoutTheRoutesKeepsTheScreensOff() {
        val transport = Scripted(mapOf("GET /openapi.json" to (200 to """{"paths":{"/v1/me":{}}}""")))
        val app = app(transport)
        SimListViewModel(app).apply { refresh(); assertEquals(SimListViewModel.State.Unavailable, state.value) }
        SignViewModel(app).apply { refresh(); assertEquals(SignViewModel.State.Unavailable, state.value) }
        // Nothing but the OpenAPI document was asked for, once.
        assertEquals(listOf("https://id.example/openapi.json"), transport.seen.map { it.url })
    }

    @Test
    fun problemDetailsBecomeFailures() {
        val transport = Scripted(mapOf("GET /v1/me" to (403 to
            """{"type":"https://id.example/problems/forbidden","title":"Forbidden","status":403,"detail":"level 2 required"}""")))
        try {
            DinhdanhApi("https://id.example", transport).me("token")
            fail("no exception")
        } catch (e: ApiException) {
            assertEquals(403, e.status)
            assertEquals("level 2 required", e.detail)
            assertEquals(FailureKind.REFUSED, Failure.of(e).kind)
        }
    }

    @Test
    fun jsonReaderRefusesHostileInput() {
        assertEquals(mapOf("a" to listOf(1L, 2.5, "x\u00e9", null, true)), Json.parse("""{"a":[1,2.5,"x\u00e9",null,true]}"""))
        for (bad in listOf("", "{", "[1,]", "{\"a\" 1}", "\"\\x\"", "[" .repeat(100) + "]".repeat(100), "1 2", "nul")) {
            try {
                Json.parse(bad)
                fail("accepted $bad")
            } catch (e: Json.JsonException) {
                // refused
            }
        }
        assertEquals("""{"k":"a\"b\\c\n"}""", Json.write(mapOf("k" to "a\"b\\c\n")))
    }
}
