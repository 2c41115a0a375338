package vn.dinhdanh.wallet.core

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.dinhdanh_ffi.HttpHeader
import uniffi.dinhdanh_ffi.HttpRequest
import uniffi.dinhdanh_ffi.KeyStore
import uniffi.dinhdanh_ffi.PresentationAnswer
import uniffi.dinhdanh_ffi.Transport
import uniffi.dinhdanh_ffi.TrustBundleSummary
import uniffi.dinhdanh_ffi.Wallet

/**
 * What every screen shares: the server API, the platform's keystore and transport, the wallet
 * (opened once, on first use, with the agency's issuing root from the server and the
 * relying-party roots the app ships with), the session and the server's optional features.
 * The Android app makes one in its `Application`; the tests make one per journey.
 */
class WalletApp(
    val api: DinhdanhApi,
    val transport: Transport,
    val keyStore: KeyStore,
    private val walletPath: String,
    private val verifierAnchorsPem: String,
    val clock: Clock = Clock.SYSTEM,
    private val wrappingAlias: String = "wallet",
) {
    private val _session = MutableStateFlow<Session?>(null)
    val session: StateFlow<Session?> = _session.asStateFlow()

    @Volatile private var opened: Wallet? = null
    @Volatile private var capabilities: Capabilities? = null
    @Volatile private var display: Map<String, List<DisplayName>>? = null

    fun signedIn(session: Session) {
        _session.value = session
    }

    fun signOut() {
        _session.value = null
    }

    /** The session's token, or a failure the screen shows as "sign in first". */
    fun token(): String = _session.value?.token ?: throw ApiException(401, null, "not signed in", null)

    /** The wallet, opened on first use (the store file and its data key in the keystore). */
    @Synchronized
    fun wallet(): Wallet = opened ?: Wallet.open(walletPath, keyStore, wrappingAlias, api.issuerRootPem(), verifierAnchorsPem)
        .also { opened = it }

    /**
     * Takes the wallet's trust from the agency: the signed trust bundle (checked against the
     * pinned issuer root), then the relying parties' status list it names (a revoked verifier is
     * refused from then on). Called at start and whenever the bundle's maximum age runs out.
     */
    fun refreshTrust(): TrustBundleSummary {
        val now = clock.now()
        val summary = wallet().applyTrustBundle(api.trustBundle(), api.issuerRootPem(), now)
        summary.rpStatusListUrl?.let { wallet().refreshRpStatusList(api.statusList(it), now) }
        return summary
    }

    /** The signing certificate last issued to this device, with its chain as the CA returned it. */
    @Volatile
    var signingCertificate: SigningCertificate? = null

    /** The server's optional features, asked once per app run. */
    fun capabilities(): Capabilities = capabilities ?: api.capabilities().also { capabilities = it }

    /** The localised name of a credential configuration (`vi` first, then English, then its id). */
    fun displayName(configurationId: String?, locale: String = "vi"): String {
        val names = (display ?: runCatching { api.credentialDisplay() }.getOrDefault(emptyMap()).also { display = it })
            .get(configurationId).orEmpty()
        return names.firstOrNull { it.locale?.startsWith(locale) == true }?.name
            ?: names.firstOrNull { it.locale?.startsWith("en") == true }?.name
            ?: names.firstOrNull()?.name
            ?: configurationId
            ?: "credential"
    }

    /** POSTs a wallet's answer (or refusal) to the verifier: the HTTP status. */
    fun post(answer: PresentationAnswer): Int = post(answer.responseUri, answer.body)

    fun post(responseUri: String, body: String): Int {
        // The request that named it was signed by a certified relying party; still, an answer
        // leaves the phone only over TLS (plain HTTP for a development server on this machine).
        val uri = runCatching { java.net.URI(responseUri) }.getOrNull()
        require(uri != null && (uri.scheme == "https" || (uri.scheme == "http" && uri.host in DEVELOPMENT_HOSTS))) {
            "response_uri is not HTTPS"
        }
        val response = transport.send(HttpRequest("POST", responseUri,
            listOf(HttpHeader("Content-Type", "application/x-www-form-urlencoded")), body.toByteArray()))
        return response.status.toInt()
    }

    private companion object {
        val DEVELOPMENT_HOSTS = setOf("localhost", "127.0.0.1", "10.0.2.2")
    }
}
