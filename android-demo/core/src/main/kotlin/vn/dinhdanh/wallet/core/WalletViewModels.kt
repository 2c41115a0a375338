package vn.dinhdanh.wallet.core

import uniffi.dinhdanh_ffi.CredentialSummary

/** A credential as the wallet screen shows it. */
data class CredentialCard(
    val id: String,
    val name: String,
    val vct: String,
    val issuedAt: ULong,
    val expiresAt: ULong?,
    val unusedCopies: UInt,
    val copies: UInt,
    /** `valid`, `expired`, `revoked`, `suspended`, or `unknown` offline. */
    val status: String,
) {
    /** Every copy presented once: ask for fresh ones. */
    val needsRefresh: Boolean get() = unusedCopies == 0u
}

/** The wallet: credentials, their localised names and their status (the issuer's, when online). */
class WalletViewModel(private val app: WalletApp) : ScreenModel<WalletViewModel.State>(State.Loading) {
    sealed interface State {
        data object Loading : State
        data class Loaded(val credentials: List<CredentialCard>, val online: Boolean) : State
        data class Failed(val failure: Failure) : State
    }

    fun refresh() = attempt({ State.Failed(it) }) {
        val held = app.wallet().credentials()
        // The issuer's view of the copies, per kind, when signed in and online.
        val issued = runCatching { app.api.issuedCopies(app.token()) }.getOrNull()
        val now = app.clock.now()
        State.Loaded(held.map { card(it, issued, now) }, online = issued != null)
    }

    private fun card(summary: CredentialSummary, issued: List<IssuedCopy>?, now: ULong): CredentialCard {
        val kind = summary.configurationId
        val statuses = issued?.filter { it.kind == kind }?.map { it.status }.orEmpty()
        val status = when {
            summary.expiresAt?.let { it <= now } == true -> "expired"
            issued == null || statuses.isEmpty() -> "unknown"
            statuses.all { it == "revoked" } -> "revoked"
            statuses.any { it == "suspended" } -> "suspended"
            else -> "valid"
        }
        return CredentialCard(summary.id, app.displayName(kind), summary.vct, summary.issuedAt, summary.expiresAt,
            summary.unusedCopies, summary.copies, status)
    }

    fun remove(id: String) = attempt({ State.Failed(it) }) {
        app.wallet().remove(id)
        refresh()
        state.value
    }
}

/** Receiving an offer: a scanned `openid-credential-offer://` and the code the citizen types, or an offer the citizen asks for. */
class ReceiveOfferViewModel(private val app: WalletApp, private val copies: UInt = 3u) :
    ScreenModel<ReceiveOfferViewModel.State>(State.Idle) {
    sealed interface State {
        data object Idle : State
        data class Offered(val offer: Offer) : State
        data class Received(val credentialIds: List<String>) : State
        data class Failed(val failure: Failure) : State
    }

    /** A level-2 citizen asks the issuer for credentials (`POST /v1/me/offers`). */
    fun request(configurationIds: List<String>) = attempt({ State.Failed(it) }) {
        State.Offered(app.api.offerToMe(app.token(), configurationIds))
    }

    fun receive(offerUri: String, txCode: String?) = attempt({ State.Failed(it) }) {
        require(offerUri.startsWith("openid-credential-offer://")) { "not a credential offer" }
        State.Received(app.wallet().receiveOffer(app.transport, offerUri, txCode?.takeIf { it.isNotBlank() }, copies,
            app.clock.now()))
    }

    /** Receives the offer this screen asked for. */
    fun accept() {
        val offered = state.value as? State.Offered ?: return
        receive(offered.offer.offerUri, offered.offer.txCode)
    }
}

/** History: what the wallet presented, to whom and why (kept on the phone), and the account's events on the server. */
class HistoryViewModel(private val app: WalletApp) : ScreenModel<HistoryViewModel.State>(State.Loading) {
    data class Presented(val at: ULong, val verifier: String, val verifierName: String?, val purpose: String?,
        val credentialName: String, val claims: List<String>)

    sealed interface State {
        data object Loading : State
        data class Loaded(val presentations: List<Presented>, val events: List<HistoryEntry>) : State
        data class Failed(val failure: Failure) : State
    }

    fun refresh() = attempt({ State.Failed(it) }) {
        val wallet = app.wallet()
        val names = wallet.credentials().associate { it.id to app.displayName(it.configurationId) }
        val presented = wallet.presentations().map {
            Presented(it.at, it.verifier, it.verifierName, it.purpose, names[it.credentialId] ?: it.credentialId, it.claims)
        }.asReversed() // the log is oldest first; the screen shows the newest first
        val events = runCatching { app.api.history(app.token()) }.getOrDefault(emptyList())
        State.Loaded(presented, events)
    }
}
